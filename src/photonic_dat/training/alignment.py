"""Alignment calibration: fit a diffractive network's mask shifts to measured plane intensities.

DAT's convolutional SEPNs learn the hardware of ``dpnn-cpu`` while its masks are shifted by up to
about 1.4 px, and fail from about 1.7 px on (``results/dpnn/REPORT.md``): a large lateral shift
moves the whole mask pattern against the field, which no small correction of the field after
the mask reproduces. A lab would align first. :func:`fit_mask_shifts` does that from one
measurement with internal states: mask by mask, it searches the lateral shift ``(dx, dy)``
(pixels) for which the numerical model, with the shifts already found for the masks before,
best reproduces the intensity measured at the next plane. :func:`alignment` turns the result
into an error realisation that the numerical model then carries in every forward
(``train.fit_shifts``, :meth:`~photonic_dat.training.methods.Method.calibrate`), so DAT's SEPNs
only have to learn what remains.

The cost of a candidate shift is the squared distance of the L2-normalised intensities (scale
free, as DAT's plane loss), summed over pixels and averaged over the batch. The search is a grid
search refined three times: steps of ``coarse`` px over ``[-search, search]`` in x and y, then
a 7 x 7 grid of a quarter of the step (+-0.75 old steps) around the best point, three times
(final resolution ``coarse / 64`` px, 1/128 px by default). Exhaustive at the coarse level, so
it does not fall into the local minima that a gradient descent on a shift of a structured mask
meets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import torch

from ..errors.diffractive import DiffractiveRealisation
from ..models.diffractive import DiffractivePNN, fourier_shift

__all__ = ["alignment", "fit_mask_shifts", "grid_search_2d"]


def grid_search_2d(cost: Callable[[float, float], float], search: float, coarse: float = 0.5,
                   refinements: int = 3) -> tuple[float, float]:
    """The ``(dx, dy)`` minimising ``cost`` over ``[-search, search]^2``, refined on finer grids.

    Level 0 evaluates every multiple of ``coarse`` in the square; each refinement evaluates a
    7 x 7 grid of a quarter of the previous step around the best point so far.
    """
    if search <= 0 or coarse <= 0:
        raise ValueError(f"search={search} and coarse={coarse} must be > 0 (pixels)")
    best, best_cost = (0.0, 0.0), float("inf")
    step, half = coarse, int(search / coarse + 1e-9)
    for _ in range(refinements + 1):
        offsets = [i * step for i in range(-half, half + 1)]
        centre = best
        for ox in offsets:
            for oy in offsets:
                c = cost(centre[0] + ox, centre[1] + oy)
                if c < best_cost:
                    best, best_cost = (centre[0] + ox, centre[1] + oy), c
        step, half = step / 4, 3
    return best


def _intensity(plane: torch.Tensor) -> torch.Tensor:
    return plane.real**2 + plane.imag**2 if plane.is_complex() else plane


@torch.no_grad()
def fit_mask_shifts(model: DiffractivePNN, x: torch.Tensor, planes: Sequence[torch.Tensor],
                    search: float = 3.0, coarse: float = 0.5) -> list[list[float]]:
    """Fit the lateral shift of each mask (pixels, ``[dx, dy]`` as in
    :class:`~photonic_dat.errors.diffractive.DiffractiveRealisation`) to measured planes.

    Args:
        model: the network, programmed as it was when ``planes`` were measured.
        x: the encoded inputs of the measurement, ``(B, n, n)`` complex.
        planes: the measured intensities (or complex fields) of all ``L + 1`` planes: the field
            arriving at each mask, then the detector plane (``Measurement.planes()``).
        search: the largest shift searched, pixels (in x and in y).
        coarse: the step of the first, exhaustive grid, pixels.

    The other errors of the hardware (gap distances, fabrication, ...) are not modelled: the
    fit is the shift that explains the measured planes best without them.
    """
    if len(planes) != model.layers + 1:
        raise ValueError(f"fit_mask_shifts needs all {model.layers + 1} planes of the network "
                         f"(internal states on), got {len(planes)}")
    shifts: list[list[float]] = []
    field = model.propagate(0, x, None)
    for k in range(model.layers):
        target = model.normalise_plane(_intensity(planes[k + 1]))
        t = model.mask_transmission(k)
        dx, dy = grid_search_2d(partial(_mismatch, model, k, field, t, target), search, coarse)
        shifts.append([dx, dy])
        field = _next_plane(model, k, field, t, dx, dy)
    return shifts


def _next_plane(model: DiffractivePNN, k: int, field: torch.Tensor, t: torch.Tensor,
                dx: float, dy: float) -> torch.Tensor:
    """The field arriving at plane ``k + 1`` through mask ``k`` (transmission ``t``) shifted by
    ``(dx, dy)`` pixels."""
    return model.propagate(k + 1, field * fourier_shift(t, dx, dy), None)


def _mismatch(model: DiffractivePNN, k: int, field: torch.Tensor, t: torch.Tensor,
              target: torch.Tensor, dx: float, dy: float) -> float:
    """The cost of shift ``(dx, dy)`` of mask ``k``: squared distance of the normalised
    intensities at plane ``k + 1`` to the measured ``target``, mean over the batch."""
    out = _next_plane(model, k, field, t, dx, dy)
    diff = model.normalise_plane(out.real**2 + out.imag**2) - target
    return float((diff**2).sum(dim=1).mean())


def alignment(shifts: Sequence[Sequence[float]] | None) -> DiffractiveRealisation | None:
    """The error realisation holding only the given mask shifts (None: no alignment known)."""
    if shifts is None:
        return None
    return DiffractiveRealisation(shifts=[[float(dx), float(dy)] for dx, dy in shifts])
