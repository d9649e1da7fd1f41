"""Systematic errors of MZI meshes: beam-splitter ratio, phase offsets, crosstalk, insertion loss."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import torch

from ..mesh import MZIPerturbation, stack_perturbations
from .base import ErrorSpec, ErrorSpecError, seeded_generator


@dataclasses.dataclass(frozen=True)
class MeshErrorSpec(ErrorSpec):
    """Systematic errors of a stack of MZI meshes (fixed once per system).

    Attributes:
        bs_std: std of the split-ratio error eps of every beam splitter (two per MZI);
            eps enters B(eps) = 1/sqrt2 [[sqrt(1+eps), i sqrt(1-eps)], [i sqrt(1-eps), sqrt(1+eps)]].
        phase_std: std (rad) of additive offsets on theta and phi of every MZI.
        gamma_std: std (rad) of additive offsets on the input phase screen (default 0, as the paper).
        crosstalk: thermal crosstalk coefficient kappa (dimensionless): each phase shifter also
            gets kappa x the programmed phase of its neighbours in the same column.
        loss_db_mean, loss_db_std: per-MZI insertion loss in dB, Gaussian, clipped at 0.
    """

    family: ClassVar[str] = "mesh"

    bs_std: float = 0.0
    phase_std: float = 0.0
    gamma_std: float = 0.0
    crosstalk: float = 0.0
    loss_db_mean: float = 0.0
    loss_db_std: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        self._require_non_negative("bs_std", "phase_std", "gamma_std", "loss_db_mean",
                                   "loss_db_std")
        if self.bs_std >= 0.5:
            raise ErrorSpecError(
                f"errors.bs_std={self.bs_std} is too large: split-ratio errors must stay in (-1, 1);"
                " use bs_std < 0.5"
            )
        if abs(self.crosstalk) >= 0.5:
            raise ErrorSpecError(f"errors.crosstalk={self.crosstalk} must be in (-0.5, 0.5)")

    def is_zero(self) -> bool:
        return all(getattr(self, f) == 0 for f in self.field_names())

    def draw(self, model: torch.nn.Module, seed: int) -> list[MZIPerturbation]:
        """One perturbation per mesh of ``model`` (which must expose ``meshes``).

        Standard normals are drawn in a fixed order whatever the stds, so realisations of the
        same seed at different error levels are the same pattern scaled (common random numbers).
        """
        g = seeded_generator(seed)
        out = []
        for mesh in model.meshes:
            n_mzi, n = mesh.layout.n_mzi, mesh.layout.modes
            z = {
                name: torch.randn(size, generator=g, dtype=torch.float64)
                for name, size in (
                    ("eps1", n_mzi), ("eps2", n_mzi), ("theta", n_mzi), ("phi", n_mzi),
                    ("gamma", n), ("loss", n_mzi),
                )
            }
            device = mesh.theta.device
            dtype = mesh.theta.dtype

            def scaled(name: str, std: float, _z=z, _device=device, _dtype=dtype):
                if std == 0:
                    return None
                return (std * _z[name]).clamp(-0.999, 0.999).to(_device, _dtype) \
                    if name.startswith("eps") else (std * _z[name]).to(_device, _dtype)

            transmission = None
            if self.loss_db_mean or self.loss_db_std:
                loss_db = (self.loss_db_mean + self.loss_db_std * z["loss"]).clamp(min=0)
                transmission = (10 ** (-loss_db / 20)).to(device, dtype)
            out.append(
                MZIPerturbation(
                    eps1=scaled("eps1", self.bs_std),
                    eps2=scaled("eps2", self.bs_std),
                    theta_offset=scaled("theta", self.phase_std),
                    phi_offset=scaled("phi", self.phase_std),
                    gamma_offset=scaled("gamma", self.gamma_std),
                    crosstalk=float(self.crosstalk),
                    transmission=transmission,
                )
            )
        return out

    def draw_members(self, model: torch.nn.Module, seeds: list[int]) -> list[MZIPerturbation]:
        """Per mesh, the perturbations of the members stacked on a leading member axis."""
        per_member = [self.draw(model, s) for s in seeds]
        return [stack_perturbations(list(layer)) for layer in zip(*per_member, strict=True)]
