"""The hardware boundary: what a trainer may ask of a physical system, and what it gets back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch


@dataclass
class Measurement:
    """What detectors can see (never carries gradients).

    Attributes:
        output: intensity at the output plane, shape (batch, *output plane shape).
        internal: intensities at the planes before the output (one per internal plane), when
            requested with ``internal=True`` and supported; else None. A system with coherent
            detection (a simulation study, ``SimulatedSystem(internal_detection="field")``)
            returns complex fields here instead.
    """

    output: torch.Tensor
    internal: list[torch.Tensor] | None = None

    def planes(self) -> list[torch.Tensor | None]:
        """Per plane (internal then output) the measurement, None where not measured."""
        return [*(self.internal or []), self.output]


@runtime_checkable
class PhysicalSystem(Protocol):
    """A photonic system the trainer can program and measure (simulated or in a lab)."""

    queries: int

    def program(self, params: Mapping[str, torch.Tensor]) -> None:
        """Upload physical parameters (phases) by name."""

    def measure(self, x: torch.Tensor, *, internal: bool = False) -> Measurement:
        """Send encoded inputs through the system and read the detectors."""

    def measure_layer(self, i: int, field_in: torch.Tensor) -> torch.Tensor:
        """Probe layer ``i`` alone with input field ``field_in``; return the intensity at its plane."""
