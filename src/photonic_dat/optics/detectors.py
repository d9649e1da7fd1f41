"""Detector regions on the output plane and the energy each one collects.

A layout is declarative: a list of axis-aligned rectangles ``(x0, y0, x1, y1)`` in pixel
indices of the ``n x n`` detector plane, half-open like slices: region ``r`` covers
``intensity[..., y0:y1, x0:x1]`` (``x`` = column, ``y`` = row). Rectangles may also be given
in physical coordinates (metres, see :meth:`DetectorLayout.from_physical`).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from .grid import Grid

Region = tuple[int, int, int, int]


def _as_region(i: int, rect: object) -> Region:
    try:
        values = tuple(operator.index(v) for v in rect)  # type: ignore[union-attr]
    except TypeError:
        raise ValueError(
            f"detector region {i} must be 4 integers (x0, y0, x1, y1), got {rect!r}"
        ) from None
    if len(values) != 4:
        raise ValueError(f"detector region {i} must be 4 integers (x0, y0, x1, y1), got {rect!r}")
    return values  # type: ignore[return-value]


@dataclass(frozen=True)
class DetectorLayout:
    """Non-overlapping rectangular detector regions inside an ``n x n`` plane.

    Args:
        n: pixels per side of the detector plane.
        regions: ``(x0, y0, x1, y1)`` per region, pixel indices, half-open (``x0 < x1 <= n``).

    Raises:
        ValueError: one line, for an empty list, an empty region, a region outside the plane or
            two overlapping regions.
    """

    n: int
    regions: tuple[Region, ...]
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1:
            raise ValueError(f"DetectorLayout.n must be a positive integer, got {self.n!r}")
        regions = tuple(_as_region(i, r) for i, r in enumerate(self.regions))
        if not regions:
            raise ValueError("DetectorLayout needs at least one region")
        n = self.n
        for i, (x0, y0, x1, y1) in enumerate(regions):
            if x1 <= x0 or y1 <= y0:
                raise ValueError(f"detector region {i} {regions[i]} is empty (need x0<x1, y0<y1)")
            if x0 < 0 or y0 < 0 or x1 > n or y1 > n:
                raise ValueError(f"detector region {i} {regions[i]} lies outside the {n}x{n} plane")
        for i, a in enumerate(regions):
            for j in range(i + 1, len(regions)):
                b = regions[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    raise ValueError(f"detector regions {i} {a} and {j} {b} overlap")
        object.__setattr__(self, "regions", regions)

    @classmethod
    def from_physical(
        cls, grid: Grid, rects: Sequence[tuple[float, float, float, float]]
    ) -> DetectorLayout:
        """Layout from rectangles ``(x0, y0, x1, y1)`` in metres (centred coordinates).

        A pixel belongs to a rectangle when its centre (``grid.coords()``) lies inside it,
        boundary included. Rectangles reaching past the plane's pixel centres are rejected.
        """
        half = (grid.n - 1) / 2.0
        tol = 1e-9
        regions = []
        for i, rect in enumerate(rects):
            if len(rect) != 4 or not all(math.isfinite(float(v)) for v in rect):
                raise ValueError(f"detector region {i} must be 4 finite lengths (m), got {rect!r}")
            x0, y0, x1, y1 = (float(v) / grid.pitch + half for v in rect)
            regions.append(
                (
                    math.ceil(x0 - tol),
                    math.ceil(y0 - tol),
                    math.floor(x1 + tol) + 1,
                    math.floor(y1 + tol) + 1,
                )
            )
        return cls(grid.n, tuple(regions))

    def __len__(self) -> int:
        return len(self.regions)

    @property
    def num_regions(self) -> int:
        """Number of regions ``R``."""
        return len(self.regions)

    def masks(
        self, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
    ) -> torch.Tensor:
        """0/1 region masks ``(R, n, n)``."""
        out = torch.zeros(len(self.regions), self.n, self.n, dtype=dtype, device=device)
        for r, (x0, y0, x1, y1) in enumerate(self.regions):
            out[r, y0:y1, x0:x1] = 1
        return out

    def label_map(self) -> torch.Tensor:
        """``(n, n)`` int64 map: the region index of each pixel, -1 outside every region."""
        out = torch.full((self.n, self.n), -1, dtype=torch.int64)
        for r, (x0, y0, x1, y1) in enumerate(self.regions):
            out[y0:y1, x0:x1] = r
        return out

    def _gather(
        self, dtype: torch.dtype, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor]:
        key = (dtype, device)
        if key not in self._cache:
            labels = self.label_map().flatten()
            index = torch.nonzero(labels >= 0).flatten()
            onehot = torch.nn.functional.one_hot(labels[index], len(self.regions))
            self._cache[key] = (index.to(device), onehot.to(device=device, dtype=dtype))
        return self._cache[key]

    def energies(self, intensity: torch.Tensor) -> torch.Tensor:
        """Summed intensity in each region: ``(..., n, n)`` real -> ``(..., R)``.

        Vectorised: one gather of the covered pixels and one matmul with a cached
        ``(pixels, R)`` 0/1 matrix; differentiable.
        """
        if intensity.is_complex():
            raise ValueError("energies() takes a real intensity; pass field.abs() ** 2")
        if intensity.shape[-2:] != (self.n, self.n):
            raise ValueError(
                f"energies() expects (..., {self.n}, {self.n}), got {tuple(intensity.shape)}"
            )
        if not intensity.is_floating_point():
            intensity = intensity.to(torch.get_default_dtype())
        index, onehot = self._gather(intensity.dtype, intensity.device)
        flat = intensity.reshape(*intensity.shape[:-2], self.n * self.n)
        return flat.index_select(-1, index) @ onehot


def ten_region_layout(
    n: int, region_size: int | None = None, gap: int | None = None
) -> DetectorLayout:
    """The classic D2NN classifier layout: 10 square regions in rows of 3, 4 and 3, centred.

    Regions are numbered row by row, top to bottom, left to right (0-2, 3-6, 7-9).

    Args:
        n: pixels per side of the detector plane.
        region_size: side of each square (px); default ``max(1, round(n / 10))``.
        gap: space between neighbouring squares (px), horizontally and vertically; default
            ``region_size`` if the middle row (4 squares, 3 gaps) fits, else the largest that
            fits. Must be >= 1 so that regions never touch.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"ten_region_layout needs a positive integer n, got {n!r}")
    s = max(1, round(n / 10)) if region_size is None else int(region_size)
    if s < 1:
        raise ValueError(f"region_size must be >= 1 px, got {region_size!r}")
    if gap is None:
        gap = s if 4 * s + 3 * s <= n else (n - 4 * s) // 3
    if gap < 1 or 4 * s + 3 * gap > n:
        raise ValueError(
            f"10 regions of {s} px with gap {gap} px do not fit a {n} px plane (need "
            f"4*size + 3*gap <= n, gap >= 1)"
        )
    step = s + gap
    y_start = (n - (3 * s + 2 * gap)) // 2
    regions = []
    for row, count in enumerate((3, 4, 3)):
        x_start = (n - (count * s + (count - 1) * gap)) // 2
        y0 = y_start + row * step
        for col in range(count):
            x0 = x_start + col * step
            regions.append((x0, y0, x0 + s, y0 + s))
    return DetectorLayout(n, tuple(regions))
