"""The contract every photonic network of the project follows (mesh and diffractive alike).

A network is a chain of *layers*, each ending at a measurable *plane*:

    field = encode(images)
    for k in range(n_planes):
        field = propagate(k, field, errors)          # physics up to plane k
        field = field + w * sepn_k(field)            # numerical model only (DAT)
        field = fuse(field, measured_k)              # DAT / PAT: measured amplitude, model phase
        planes.append(field)
        if k < n_planes - 1: field = after_plane(k, field, errors)   # activation / phase mask

Trainers see only this forward, its Trace and :meth:`readout`; the physics stays inside.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from .fusion import fuse
from .trace import Trace


class PhotonicNetwork(nn.Module):
    """Base class: subclasses implement encode / propagate / after_plane / readout."""

    #: spatial shape in which a SEPN sees the field of each plane (e.g. (8, 8) for 64 modes)
    plane_shapes: list[tuple[int, ...]]
    #: error-spec family understood by ``errors=`` (see photonic_dat.errors)
    error_family: str = "base"

    @property
    def n_planes(self) -> int:
        return len(self.plane_shapes)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images (B, H, W) in [0, 1] -> input field of the network (complex)."""
        raise NotImplementedError

    def propagate(self, k: int, field: torch.Tensor, errors: Any | None) -> torch.Tensor:
        raise NotImplementedError

    def after_plane(self, k: int, field: torch.Tensor, errors: Any | None) -> torch.Tensor:
        return field

    def readout(self, intensity: torch.Tensor) -> torch.Tensor:
        """Output-plane intensity -> class scores (logits)."""
        raise NotImplementedError

    def normalise_plane(self, intensity: torch.Tensor) -> torch.Tensor:
        """Scale-free view of a plane's intensity, or complex field (for similarity losses):
        L2-normalised per sample."""
        flat = intensity.reshape(intensity.shape[0], -1)
        return nn.functional.normalize(flat, dim=1)

    def physical_params(self) -> dict[str, torch.Tensor]:
        """The parameters uploaded to hardware (phases), by name."""
        return {name: p for name, p in self.named_parameters()}

    def apply_sepn(self, k: int, sepn: nn.Module, field: torch.Tensor) -> torch.Tensor:
        shape = self.plane_shapes[k]
        return sepn(field.reshape(field.shape[0], *shape)).reshape(field.shape)

    def forward(
        self,
        x: torch.Tensor,
        *,
        sepns: Sequence[nn.Module] | None = None,
        sepn_weight: float = 0.0,
        measured: Sequence[torch.Tensor | None] | None = None,
        errors: Any | None = None,
    ) -> Trace:
        """Run the network on encoded inputs ``x``.

        Args:
            x: encoded input field (complex), batch first.
            sepns: one SEPN per plane (numerical model = ideal physics + SEPNs), or None.
            sepn_weight: w in field <- field + w * SEPN(field); 0 disables the SEPNs.
            measured: per plane, a measured intensity to fuse with, or None.
            errors: a realisation of systematic errors (used by simulated hardware only).
        """
        if measured is not None and len(measured) != self.n_planes:
            raise ValueError(f"measured has {len(measured)} planes, the model {self.n_planes}")
        planes: list[torch.Tensor] = []
        field = x
        for k in range(self.n_planes):
            field = self.propagate(k, field, errors)
            if sepns is not None and sepn_weight != 0.0:
                field = field + sepn_weight * self.apply_sepn(k, sepns[k], field)
            if measured is not None and measured[k] is not None:
                field = fuse(field, measured[k])
            planes.append(field)
            if k < self.n_planes - 1:
                field = self.after_plane(k, field, errors)
        intensity = field.real**2 + field.imag**2
        return Trace(planes=planes, intensity=intensity, scores=self.readout(intensity))

    @torch.no_grad()
    def load_physical_params(self, params: Mapping[str, torch.Tensor]) -> None:
        own = dict(self.named_parameters())
        missing = set(own) - set(params)
        if missing:
            raise KeyError(f"physical parameters missing: {sorted(missing)}")
        for name, value in params.items():
            own[name].copy_(value.detach().to(own[name].device, own[name].dtype))

    def describe(self) -> dict[str, Any]:
        return {"kind": type(self).__name__}
