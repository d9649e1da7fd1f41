"""Systematic errors of diffractive networks: misalignment, fabrication, modulator, optics, camera.

A :class:`DiffractiveErrorSpec` says how large each error is; :meth:`DiffractiveErrorSpec.draw`
returns a :class:`DiffractiveRealisation`, the fixed errors of one simulated system, which
:class:`~photonic_dat.models.diffractive.DiffractivePNN` applies in ``encode``-side illumination,
``propagate`` and ``after_plane`` (see that module for how each error acts).

Units: lateral shifts and correlation lengths in pixels (one pixel = the model's pitch, m),
rotations in degrees, phases in radians, distance errors relative (0.02 = 2 %), the beam waist
relative to the side of the input window.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import torch

from .base import ErrorSpec, ErrorSpecError, seeded_generator

__all__ = ["DiffractiveErrorSpec", "DiffractiveRealisation", "correlated_field"]


@dataclasses.dataclass(frozen=True)
class DiffractiveErrorSpec(ErrorSpec):
    """Systematic errors of a diffractive PNN (fixed once per system; all 0 = ideal).

    Attributes:
        shift_std: std (pixels) of the lateral shift of each mask, x and y independent, sub-pixel.
        distance_std: relative std of each gap distance (0.02 = 2 %); one draw per gap.
        rotation_std: std (degrees) of the in-plane rotation of each mask about its centre.
        fab_phase_std: pointwise std (rad) of a fabrication phase error added to every mask pixel.
        fab_corr_length: correlation length (pixels) of that error: white noise filtered by a
            Gaussian of this std, then rescaled to unit pointwise variance; 0 = white.
        response_gamma: distortion ``g`` of the modulator's phase response (its lookup curve):
            the realised phase is ``phi_w - g sin(phi_w)`` for the wrapped programmed phase
            ``phi_w`` in [0, 2 pi). Smooth and strictly increasing for ``|g| < 1``, it keeps
            0, pi and 2 pi, deviates by up to ``|g|`` rad (at pi/2 and 3 pi/2), and has the
            same slope ``1 - g`` at both ends, so it stays smooth across the 2 pi wrap; 0 = ideal.
        quant_levels: the modulator realises this many equally spaced phase levels over 2 pi
            (the wrapped phase is rounded to the nearest one); 0 = continuous. Not 1.
        beam_waist: non-uniform illumination: the input is multiplied by the Gaussian beam
            amplitude ``exp(-r^2 / w^2)`` with ``w = beam_waist * window side`` (m); 0 = plane wave.
        gain_std: detector gain non-uniformity: each detector-plane pixel records its intensity
            times ``max(0, 1 + N(0, gain_std^2))``.
    """

    family: ClassVar[str] = "diffractive"

    shift_std: float = 0.0
    distance_std: float = 0.0
    rotation_std: float = 0.0
    fab_phase_std: float = 0.0
    fab_corr_length: float = 0.0
    response_gamma: float = 0.0
    quant_levels: int = 0
    beam_waist: float = 0.0
    gain_std: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        self._require_non_negative("shift_std", "distance_std", "rotation_std", "fab_phase_std",
                                   "fab_corr_length", "beam_waist", "gain_std")
        if self.distance_std >= 0.25:
            raise ErrorSpecError(
                f"errors.distance_std={self.distance_std} is too large: relative gap errors must "
                "stay well above -100 %; use distance_std < 0.25"
            )
        if abs(self.response_gamma) >= 1:
            raise ErrorSpecError(
                f"errors.response_gamma={self.response_gamma} must be in (-1, 1) (the response "
                "curve phi - gamma sin(phi) must increase)"
            )
        q = self.quant_levels
        if (isinstance(q, bool) or not isinstance(q, (int, float)) or float(q) != int(q)
                or q < 0 or q == 1):
            raise ErrorSpecError(
                f"errors.quant_levels={q!r} must be 0 (off) or an integer >= 2"
            )
        object.__setattr__(self, "quant_levels", int(q))

    def is_zero(self) -> bool:
        return all(getattr(self, f) == 0 for f in self.field_names())

    def draw(self, model: torch.nn.Module, seed: int) -> DiffractiveRealisation:
        """One fixed realisation for a diffractive ``model``.

        ``model`` must expose ``n`` (pixels per side), ``layers`` (masks), ``window`` (input
        window, pixels) and ``pitch`` (m). Standard normals are drawn in a fixed order whatever
        the stds (shifts (L, 2), rotations (L,), gaps (L + 1,), fabrication (L, n, n), gain
        (n, n)), so realisations of one seed at different levels share one pattern (common
        random numbers); a field whose std is 0 is None, so a zero spec acts as the ideal model.
        """
        n, layers = int(model.n), int(model.layers)
        g = seeded_generator(seed)
        z_shift = torch.randn(layers, 2, generator=g, dtype=torch.float64)
        z_rot = torch.randn(layers, generator=g, dtype=torch.float64)
        z_gap = torch.randn(layers + 1, generator=g, dtype=torch.float64)
        z_fab = torch.randn(layers, n, n, generator=g, dtype=torch.float64)
        z_gain = torch.randn(n, n, generator=g, dtype=torch.float64)
        param = next(model.parameters())
        device, dtype = param.device, param.dtype

        fab = None
        if self.fab_phase_std:
            fab = (self.fab_phase_std * correlated_field(z_fab, self.fab_corr_length))
            fab = fab.to(device, dtype)
        illumination = None
        if self.beam_waist:
            w = self.beam_waist * model.window * model.pitch
            c = (torch.arange(n, dtype=torch.float64) - (n - 1) / 2.0) * model.pitch
            r2 = c[None, :] ** 2 + c[:, None] ** 2
            illumination = torch.exp(-r2 / w**2).to(device, dtype)
        gain = None
        if self.gain_std:
            gain = (1.0 + self.gain_std * z_gain).clamp(min=0.0).to(device, dtype)
        return DiffractiveRealisation(
            shifts=(self.shift_std * z_shift).tolist() if self.shift_std else None,
            rotations=(self.rotation_std * z_rot).tolist() if self.rotation_std else None,
            distance_factors=((1.0 + self.distance_std * z_gap).clamp(min=0.0).tolist()
                              if self.distance_std else None),
            fab_phase=fab,
            response_gamma=float(self.response_gamma),
            quant_levels=int(self.quant_levels),
            illumination=illumination,
            gain=gain,
        )


@dataclasses.dataclass
class DiffractiveRealisation:
    """The fixed errors of one diffractive system (None / 0 = that error is absent).

    Attributes:
        shifts: per mask ``[dx, dy]`` (pixels): the mask's content moves by ``+dx`` columns and
            ``+dy`` rows.
        rotations: per mask, in-plane rotation (degrees) about the plane's centre.
        distance_factors: per gap (L + 1: input -> mask 0, ..., mask L-1 -> detector), the
            factor ``1 + delta_k`` on the gap distance.
        fab_phase: ``(L, n, n)`` fabrication phase error (rad), added to each mask's phase.
        response_gamma: distortion ``g`` of the phase response ``phi - g sin(phi)`` (0 = ideal).
        quant_levels: number of phase levels over 2 pi (0 = continuous).
        illumination: ``(n, n)`` amplitude multiplying the input field (None = plane wave).
        gain: ``(n, n)`` intensity gain of the detector-plane pixels (None = uniform).
    """

    shifts: list[list[float]] | None = None
    rotations: list[float] | None = None
    distance_factors: list[float] | None = None
    fab_phase: torch.Tensor | None = None
    response_gamma: float = 0.0
    quant_levels: int = 0
    illumination: torch.Tensor | None = None
    gain: torch.Tensor | None = None
    #: propagators of the perturbed gaps, built lazily by the model (a realisation is fixed
    #: per system, so they are built once per gap, device and precision)
    propagators: dict[Any, torch.nn.Module] = dataclasses.field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def modifies_phase(self) -> bool:
        """True when the programmed phase goes through a non-ideal modulator (wrap needed)."""
        return self.response_gamma != 0.0 or self.quant_levels != 0


def correlated_field(white: torch.Tensor, corr_length: float) -> torch.Tensor:
    """Spatially correlated, unit-variance Gaussian field(s) from white noise ``(..., n, n)``.

    The noise is filtered (periodically, by FFT) with a normalised Gaussian kernel of std
    ``corr_length`` pixels and divided by the filter's exact gain ``sqrt(sum |H|^2) / n``, so
    every pixel keeps unit variance whatever the correlation length. ``corr_length = 0``
    returns ``white`` unchanged.
    """
    if corr_length <= 0:
        return white
    n_y, n_x = white.shape[-2:]
    fy = torch.fft.fftfreq(n_y, dtype=torch.float64, device=white.device)
    fx = torch.fft.fftfreq(n_x, dtype=torch.float64, device=white.device)
    # Fourier transform of a unit-sum Gaussian of std s (pixels): exp(-2 pi^2 s^2 f^2)
    h = torch.exp(-2.0 * math.pi**2 * corr_length**2 * (fy[:, None] ** 2 + fx[None, :] ** 2))
    out = torch.fft.ifft2(torch.fft.fft2(white.to(torch.float64)) * h).real
    gain = torch.sqrt((h**2).sum() / (n_x * n_y))
    return (out / gain).to(white.dtype)
