"""MeshPNN: the interferometric photonic neural network of the DAT paper.

Input: 28x28 image -> fft2 -> fftshift -> centre 8x8 crop -> 64 complex amplitudes, each
sample divided by its mean |amplitude|. Then ``layers`` unitary meshes of ``modes`` modes with
the electro-optic activation between them (none after the last). Readout: |E|^2 of all output
ports, L2-normalised per sample; the first ``classes`` ports are the class scores.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ..data import fourier_encode
from ..mesh import ElectroOpticActivation, MZIPerturbation, UnitaryMesh
from .base import PhotonicNetwork


class MeshPNN(PhotonicNetwork):
    """A stack of MZI meshes with electro-optic activations.

    Args:
        modes: waveguides per mesh (a perfect square, so SEPNs see a sqrt x sqrt image).
        layers: number of meshes.
        layout: "clements" or "reck".
        activation: "eo" (electro-optic) or "none".
        classes: number of output ports read as class scores.
        init: "haar" or "uniform" initialisation of theta.
        seed: seed of the initialisation.
        ensemble: number of members E of an ensemble (0: one network). An ensemble takes and
            returns member-major batches (rows ``[k*b, (k+1)*b)`` belong to member k); build one
            from trained or seeded networks with :func:`photonic_dat.models.ensemble.stack_networks`.
    """

    error_family = "mesh"

    def __init__(
        self,
        modes: int = 64,
        layers: int = 3,
        layout: str = "clements",
        activation: str = "eo",
        classes: int = 10,
        init: str = "haar",
        seed: int = 0,
        ensemble: int = 0,
    ) -> None:
        super().__init__()
        side = math.isqrt(modes)
        if side * side != modes:
            raise ValueError(f"model.modes={modes} must be a perfect square (e.g. 16, 36, 64)")
        if classes > modes:
            raise ValueError(f"model.classes={classes} exceeds model.modes={modes}")
        if activation not in ("eo", "none"):
            raise ValueError(f"model.activation={activation!r}; allowed: eo, none")
        g = torch.Generator().manual_seed(int(seed))
        self.meshes = nn.ModuleList(
            UnitaryMesh(modes, layout=layout, init=init, generator=g, ensemble=ensemble)
            for _ in range(layers)
        )
        self.ensemble = int(ensemble)
        self.activation = ElectroOpticActivation() if activation == "eo" else nn.Identity()
        self.classes, self.crop = classes, side
        self.plane_shapes = [(side, side)] * layers
        self._config = dict(modes=modes, layers=layers, layout=layout, activation=activation,
                            classes=classes, init=init)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return fourier_encode(images, self.crop)

    def propagate(self, k: int, field: torch.Tensor, errors: list[MZIPerturbation] | None):
        return self.meshes[k](field, None if errors is None else errors[k])

    def after_plane(self, k: int, field: torch.Tensor, errors: Any | None) -> torch.Tensor:
        return self.activation(field)

    def readout(self, intensity: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(intensity, dim=1)[:, : self.classes]

    def describe(self) -> dict[str, Any]:
        return {"kind": "mesh", **self._config}
