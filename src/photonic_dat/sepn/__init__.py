"""Systematic error prediction networks (SEPNs) for dual adaptive training.

One small complex CNN per photonic layer predicts the systematic error of that layer's output
field and is added residually: ``x <- x + w * SEPN(x)``. Two architectures:

* ``"unet"``: :class:`ComplexUNet`, the paper's 3-level complex U-Net (features (F1, F2, F3));
* ``"resnet"``: :class:`ComplexResNet`, one residual conv block (features (F,)).

Beyond the paper: ``"linear"`` (:class:`LinearSEPN`, a dense complex matrix per plane) and, for
MZI meshes, ``"mesh"`` (:class:`MeshParamSEPN`, the mesh's own error parameters).

Either can carry a learnable per-pixel complex modulation (:class:`ModulatedSEPN`,
``build_sepn(..., modulation_shape=(H, W))``) for errors fixed in position, which a
convolution cannot represent.

All layers compute a complex conv as one real conv on a stacked layout (each complex channel a
(Re, Im) pair of real channels); see
:mod:`photonic_dat.sepn.layers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from .base import SEPNBase
from .layers import (
    ComplexConv2d,
    ComplexConvTranspose2d,
    ComplexReLU,
    ComplexSequential,
    StackedComplexModule,
    cat_stacked,
    from_stacked,
    match_spatial,
    to_stacked,
)
from .linear import LinearSEPN
from .mesh_params import MeshParamSEPN, learnable_families
from .modulation import ModulatedSEPN
from .resnet import ComplexResNet
from .unet import ComplexUNet

SEPN_KINDS = ("unet", "resnet", "linear", "mesh")

__all__ = [
    "SEPN_DTYPES",
    "SEPN_KINDS",
    "ComplexConv2d",
    "ComplexConvTranspose2d",
    "ComplexReLU",
    "ComplexResNet",
    "ComplexSequential",
    "ModulatedSEPN",
    "ComplexUNet",
    "LinearSEPN",
    "MeshParamSEPN",
    "SEPNBase",
    "StackedComplexModule",
    "build_sepn",
    "cat_stacked",
    "from_stacked",
    "match_spatial",
    "sepn_name",
    "learnable_families",
    "to_stacked",
]


def _normalise(kind: str, features: int | Sequence[int]) -> tuple[str, tuple[int, ...]]:
    kind = kind.lower()
    if kind not in SEPN_KINDS:
        raise ValueError(f"unknown SEPN kind {kind!r}; allowed kinds: {', '.join(SEPN_KINDS)}")
    if kind in ("linear", "mesh"):  # no channels: a dense matrix / error parameters per plane
        return kind, ()
    feats = (int(features),) if isinstance(features, int) else tuple(int(f) for f in features)
    expected = 3 if kind == "unet" else 1
    if len(feats) != expected:
        raise ValueError(f"SEPN kind {kind!r} needs {expected} feature count(s), got {feats}")
    if any(f < 1 for f in feats):
        raise ValueError(f"feature counts must be positive, got {feats}")
    return kind, feats


SEPN_DTYPES = {"float32": None, "bfloat16": torch.bfloat16}


def build_sepn(kind: str, features: int | Sequence[int], dtype: str = "float32",
               modulation_shape: Sequence[int] | None = None,
               plane_shape: Sequence[int] | None = None, **kwargs: Any) -> nn.Module:
    """Build a SEPN.

    Args:
        kind: ``"unet"`` (features (F1, F2, F3)), ``"resnet"`` (features (F,) or F) or
            ``"linear"`` (:class:`LinearSEPN`, a dense complex matrix; features ignored) or
            ``"mesh"`` (:class:`MeshParamSEPN`, the error parameters of the mesh passed as
            ``mesh=``; features ignored).
        features: channel counts, see above.
        dtype: ``"float32"`` or ``"bfloat16"``, the precision the convolutions run in
            (:attr:`SEPNBase.compute_dtype`; parameters stay float32).
        modulation_shape: if given, the plane shape (H, W) of a learnable per-pixel complex
            modulation added to the network (:class:`ModulatedSEPN`).
        plane_shape: the plane shape (H, W) the SEPN acts on (needed by ``"linear"``).
        **kwargs: passed to the constructor (e.g. ``kernel_size``, ``zero_output``,
            ``blocks``).

    Raises:
        ValueError: for an unknown kind (the message lists the allowed kinds) or a feature
            tuple of the wrong length.
    """
    kind, feats = _normalise(kind, features)
    if dtype not in SEPN_DTYPES:
        raise ValueError(f"unknown SEPN dtype {dtype!r}; allowed: {', '.join(SEPN_DTYPES)}")
    if kind == "linear":
        if plane_shape is None:
            raise ValueError("a linear SEPN needs the plane shape (plane_shape=(H, W))")
        net = LinearSEPN(plane_shape, zero_output=kwargs.get("zero_output", True))
    elif kind == "mesh":
        if plane_shape is None or kwargs.get("mesh") is None:
            raise ValueError("a mesh-parameter SEPN needs its mesh and plane shape "
                             "(mesh=..., plane_shape=(H, W))")
        net = MeshParamSEPN(kwargs["mesh"], plane_shape, learn=kwargs.get("learn"))
    elif kind == "unet":
        net = ComplexUNet(features=feats, **kwargs)
    else:
        net = ComplexResNet(features=feats[0], **kwargs)
    net.compute_dtype = SEPN_DTYPES[dtype]
    return net if modulation_shape is None else ModulatedSEPN(net, modulation_shape)


def sepn_name(kind: str, features: int | Sequence[int], modulation: bool = False) -> str:
    """Short name for run summaries: ``"unet-4-8-16"``, ``"resnet-4"``, ``"unet-4-8-16+mod"``,
    ``"linear"``, ``"mesh"``."""
    kind, feats = _normalise(kind, features)
    return "-".join([kind, *(str(f) for f in feats)]) + ("+mod" if modulation else "")
