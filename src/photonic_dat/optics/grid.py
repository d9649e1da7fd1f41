"""The sampling grid of a transverse optical plane.

Conventions used by every module of :mod:`photonic_dat.optics`:

* SI units everywhere: lengths in metres, spatial frequencies in cycles per metre (1/m).
* A field is a tensor ``(..., N, N)``; the last axis is ``x`` (columns), the one before is ``y``
  (rows). Pixel ``i`` sits at ``(i - (N - 1) / 2) * pitch``, so the optical axis passes through
  the centre of the grid (between the two middle pixels when ``N`` is even).
* Time dependence ``exp(-i omega t)``: a wave travelling towards ``+z`` is ``exp(+i k z)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


def _check_positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"Grid.{name} must be a positive real number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"Grid.{name} must be a positive finite length in metres, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Grid:
    """A square ``n x n`` grid of pixels of side ``pitch`` sampling light of one wavelength.

    Args:
        n: number of pixels per side (>= 2).
        pitch: pixel pitch (m), e.g. 0.4e-3 for the D2NN of Lin et al. (Science 2018).
        wavelength: vacuum (or medium) wavelength (m), e.g. 0.75e-3 (0.4 THz).

    Raises:
        ValueError: one line naming the offending field.
    """

    n: int
    pitch: float
    wavelength: float

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 2:
            raise ValueError(f"Grid.n must be an integer >= 2, got {self.n!r}")
        object.__setattr__(self, "pitch", _check_positive("pitch", self.pitch))
        object.__setattr__(self, "wavelength", _check_positive("wavelength", self.wavelength))

    @property
    def size(self) -> float:
        """Side length of the grid, ``n * pitch`` (m)."""
        return self.n * self.pitch

    @property
    def k(self) -> float:
        """Wavenumber ``2 pi / wavelength`` (rad/m)."""
        return 2.0 * math.pi / self.wavelength

    @property
    def nyquist(self) -> float:
        """Highest spatial frequency the grid represents, ``1 / (2 pitch)`` (1/m)."""
        return 0.5 / self.pitch

    def coords(
        self, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
    ) -> torch.Tensor:
        """Centred pixel coordinates ``x_i = (i - (n - 1) / 2) * pitch`` (m), shape ``(n,)``."""
        i = torch.arange(self.n, dtype=torch.float64, device=device)
        return ((i - (self.n - 1) / 2.0) * self.pitch).to(dtype)

    def meshgrid(
        self, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Coordinate planes ``(X, Y)`` (m), each ``(n, n)``; ``X`` varies along the last axis."""
        c = self.coords(dtype, device)
        y, x = torch.meshgrid(c, c, indexing="ij")
        return x, y

    def frequency_step(self, m: int | None = None) -> float:
        """Frequency step ``1 / (m pitch)`` (1/m) of an ``m``-point FFT (default ``m = n``)."""
        return 1.0 / ((self.n if m is None else m) * self.pitch)

    def frequencies(
        self,
        m: int | None = None,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """Spatial frequencies (1/m) of an ``m``-point FFT of this grid, in FFT order, ``(m,)``.

        ``m`` is the padded size (default ``n``, no padding); the spacing is ``1 / (m pitch)``.
        """
        m = self.n if m is None else m
        if isinstance(m, bool) or not isinstance(m, int) or m < 1:
            raise ValueError(f"padded size m must be a positive integer, got {m!r}")
        return torch.fft.fftfreq(m, d=self.pitch, dtype=torch.float64, device=device).to(dtype)

    def frequency_grid(
        self,
        m: int | None = None,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Frequency planes ``(FX, FY)`` (1/m), each ``(m, m)``, FFT order (see ``frequencies``)."""
        f = self.frequencies(m, dtype, device)
        fy, fx = torch.meshgrid(f, f, indexing="ij")
        return fx, fy
