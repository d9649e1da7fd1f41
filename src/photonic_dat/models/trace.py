"""What a model forward returns: the field at every plane, the output and the class scores."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Trace:
    """Record of one forward pass.

    Attributes:
        planes: complex field at every measurable plane, in order of propagation (for a mesh
            network: the output of each mesh before its activation; for a diffractive network:
            the field arriving at each mask plane, then the detector plane). ``planes[-1]`` is
            the output plane.
        intensity: |planes[-1]|^2, what the output detectors record.
        scores: class scores (logits) read out from ``intensity``, shape (batch, classes).
    """

    planes: list[torch.Tensor]
    intensity: torch.Tensor
    scores: torch.Tensor

    @property
    def output(self) -> torch.Tensor:
        return self.planes[-1]

    def plane_intensities(self) -> list[torch.Tensor]:
        return [p.real**2 + p.imag**2 for p in self.planes]
