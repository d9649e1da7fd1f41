"""Thin optical elements acting pixel by pixel: trainable phase masks and fixed apertures."""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from .grid import Grid


class PhaseMask(nn.Module):
    """A trainable ``n x n`` phase-only layer (a D2NN diffractive layer), phase in radians.

    ``forward(field) = field * a(phase) * exp(i phase)`` with the phase-coupled amplitude::

        a(phase) = 1 - c (1 - cos(phase)) / 2,     c = amplitude_coupling in [0, 1]

    ``c = 0`` is a lossless phase mask; ``c > 0`` is a smooth, 2 pi-periodic stand-in for
    thickness-dependent absorption of a printed layer: full transmission at phase 0 (thinnest),
    ``1 - c`` at phase pi, and differentiable everywhere (the phase is not wrapped).

    Args:
        n: pixels per side.
        init: ``"zeros"`` (flat mask) or ``"uniform"`` (independent uniform phases in [0, 2 pi)).
        amplitude_coupling: ``c`` above.
        generator: optional random generator for ``init="uniform"``.
    """

    def __init__(
        self,
        n: int,
        init: Literal["zeros", "uniform"] = "zeros",
        amplitude_coupling: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"PhaseMask.n must be a positive integer, got {n!r}")
        c = float(amplitude_coupling)
        if not 0.0 <= c <= 1.0:
            raise ValueError(f"PhaseMask.amplitude_coupling must be in [0, 1], got {c!r}")
        if init == "zeros":
            phase = torch.zeros(n, n)
        elif init == "uniform":
            phase = torch.rand(n, n, generator=generator) * (2.0 * math.pi)
        else:
            raise ValueError(f"PhaseMask.init must be 'zeros' or 'uniform', got {init!r}")
        self.n = n
        self.amplitude_coupling = c
        self.phase = nn.Parameter(phase)

    def transmission(self) -> torch.Tensor:
        """Complex transmission ``a(phase) exp(i phase)``, ``(n, n)``."""
        amp = torch.ones_like(self.phase)
        if self.amplitude_coupling:
            amp = 1.0 - self.amplitude_coupling * 0.5 * (1.0 - torch.cos(self.phase))
        return torch.polar(amp, self.phase)

    def forward(self, field: torch.Tensor) -> torch.Tensor:
        """Multiply a field ``(..., n, n)`` by the transmission."""
        if field.shape[-2:] != (self.n, self.n):
            raise ValueError(
                f"PhaseMask expects a field (..., {self.n}, {self.n}), got {tuple(field.shape)}"
            )
        return field * self.transmission()

    def extra_repr(self) -> str:
        return f"n={self.n}, amplitude_coupling={self.amplitude_coupling:g}"


class Aperture(nn.Module):
    """A fixed binary aperture: pixels whose centre lies inside the opening transmit 1, others 0.

    Args:
        grid: the plane's sampling (pixel centres from ``grid.coords()``).
        shape: ``"square"`` (side ``size``) or ``"circle"`` (diameter ``size``), centred on axis.
        size: side or diameter (m); pixel centres on the boundary are inside.
    """

    mask: torch.Tensor

    def __init__(self, grid: Grid, shape: Literal["square", "circle"], size: float) -> None:
        super().__init__()
        if not (isinstance(size, (int, float)) and not isinstance(size, bool)) or not (
            math.isfinite(size) and size > 0
        ):
            raise ValueError(f"Aperture.size must be a positive length in metres, got {size!r}")
        x, y = grid.meshgrid()
        half = float(size) / 2.0 * (1.0 + 1e-9)  # tolerate rounding on the boundary
        if shape == "square":
            inside = (x.abs() <= half) & (y.abs() <= half)
        elif shape == "circle":
            inside = x**2 + y**2 <= half**2
        else:
            raise ValueError(f"Aperture.shape must be 'square' or 'circle', got {shape!r}")
        if not bool(inside.any()):
            raise ValueError(f"Aperture of size {size:.4g} m contains no pixel centre")
        self.grid = grid
        self.shape = shape
        self.size = float(size)
        self.register_buffer("mask", inside.to(torch.get_default_dtype()), persistent=False)

    def forward(self, field: torch.Tensor) -> torch.Tensor:
        """Multiply a field ``(..., n, n)`` by the 0/1 mask."""
        n = self.grid.n
        if field.shape[-2:] != (n, n):
            raise ValueError(f"Aperture expects a field (..., {n}, {n}), got {tuple(field.shape)}")
        return field * self.mask

    def extra_repr(self) -> str:
        return f"shape={self.shape!r}, size={self.size:.4g}, n={self.grid.n}"
