"""Scalar diffraction optics for diffractive photonic neural networks (D2NN).

SI units (metres, 1/m), complex64 fields ``(..., N, N)`` by default, time dependence
``exp(-i omega t)``. One concept per module:

* :mod:`.grid`: :class:`Grid`, the sampling of a plane.
* :mod:`.propagation`: :class:`AngularSpectrum` (band-limited), :class:`RayleighSommerfeld`,
  :class:`Fresnel`, and :func:`check_sampling` / :class:`SamplingError`.
* :mod:`.mask`: :class:`PhaseMask` (trainable), :class:`Aperture`.
* :mod:`.detectors`: :class:`DetectorLayout`, :func:`ten_region_layout`.
"""

from .detectors import DetectorLayout, ten_region_layout
from .grid import Grid
from .mask import Aperture, PhaseMask
from .propagation import (
    MIN_BAND_SAMPLES,
    AngularSpectrum,
    Fresnel,
    RayleighSommerfeld,
    SamplingError,
    band_limit_frequency,
    check_sampling,
    fft_friendly,
    kernel_reach,
    max_frequency,
    padded_size,
)

__all__ = [
    "MIN_BAND_SAMPLES",
    "AngularSpectrum",
    "Aperture",
    "DetectorLayout",
    "Fresnel",
    "Grid",
    "PhaseMask",
    "RayleighSommerfeld",
    "SamplingError",
    "band_limit_frequency",
    "check_sampling",
    "fft_friendly",
    "kernel_reach",
    "max_frequency",
    "padded_size",
    "ten_region_layout",
]
