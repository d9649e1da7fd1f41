"""DiffractivePNN: a phase-only diffractive network (D2NN, Lin et al., Science 2018).

Geometry (all planes ``n x n`` pixels of side ``pitch`` (m), light of ``wavelength`` (m))::

    input plane -d-> mask 0 -d-> mask 1 ... -d-> mask L-1 -d-> detector plane

``L + 1`` gaps of ``distance`` (m), band-limited angular-spectrum propagation on a grid
zero-padded ``padding`` times (:class:`~photonic_dat.optics.AngularSpectrum`).

Planes (``n_planes = L + 1``, what a camera could record): the field *arriving* at each mask
(before modulation: a phase-only mask does not change the intensity), then the detector plane.
So ``propagate(k)`` is the free-space gap ``k`` and ``after_plane(k)`` applies mask ``k``.

Input: each 28 x 28 image (values in [0, 1]) is resampled bilinearly to a centred
``window x window`` square of the input plane and taken as the field amplitude (zero phase).

Readout: the energies ``E_r`` collected by ten square detector regions
(:func:`~photonic_dat.optics.ten_region_layout`), normalised per sample by their sum and
multiplied by a fixed temperature ``score_scale`` (default 10)::

    scores_r = score_scale * E_r / (sum_r' E_r' + tiny)

Scores are scale-free (independent of the input power and of a global detector gain) and lie in
``[0, score_scale]``; with ``score_scale = 10`` a network that puts all the light on one region
reaches a softmax probability of ``e^10 / (e^10 + 9) = 0.9996``, so cross-entropy can be driven
low, whereas the raw fractions (``score_scale = 1``) would cap it at ``e / (e + 9) = 0.23``.

Systematic errors (a :class:`~photonic_dat.errors.diffractive.DiffractiveRealisation`, simulated
hardware and noise-aware training only) act as follows:

* illumination: the input field is multiplied by the beam amplitude in ``propagate(0)``;
* distance: gap ``k`` is propagated over ``distance * (1 + delta_k)`` (propagators built lazily
  and cached in the realisation; not sampling-checked, the error is small);
* mask ``k`` (``after_plane``): programmed phase ``phi`` -> wrapped to ``[0, 2 pi)`` ->
  quantised (straight-through gradient) -> response curve -> ``+`` fabrication phase ->
  transmission ``t = exp(i phase)`` -> rotated (bilinear, :func:`rotate_transmission`; outside
  the rotated mask the transmission is 1, open space) -> shifted (exact band-limited Fourier
  shift of ``t``, periodic, :func:`fourier_shift`) -> ``field * t``. Phase wrapping happens only
  when quantisation or the response curve is active, so all-absent errors are bitwise ideal;
* gain: the detector-plane field is multiplied by ``sqrt(gain)`` in ``propagate(L)``, so its
  intensity is ``gain * |E|^2``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..errors.diffractive import DiffractiveRealisation
from ..optics import AngularSpectrum, Grid, PhaseMask, ten_region_layout
from .base import PhotonicNetwork

__all__ = ["DiffractivePNN", "fourier_shift", "rotate_transmission"]

TWO_PI = 2.0 * math.pi


def fourier_shift(t: torch.Tensor, dx: float, dy: float) -> torch.Tensor:
    """Translate ``t`` ``(..., n_y, n_x)`` by ``(dx, dy)`` pixels (columns, rows), periodically.

    Exact band-limited (sinc) interpolation: ``FFT^-1[FFT[t] * exp(-2 pi i (fx dx + fy dy))]``
    with ``fx, fy`` in cycles per pixel. Integer shifts equal ``torch.roll(t, (dy, dx))``; shifts
    compose (two shifts of 0.5 px equal one of 1 px). The ramp is built in float64.
    """
    n_y, n_x = t.shape[-2:]
    fy = torch.fft.fftfreq(n_y, dtype=torch.float64, device=t.device)
    fx = torch.fft.fftfreq(n_x, dtype=torch.float64, device=t.device)
    ramp = torch.polar(
        torch.ones((), dtype=torch.float64, device=t.device),
        -TWO_PI * (fy[:, None] * float(dy) + fx[None, :] * float(dx)),
    )
    dtype = t.dtype if t.is_complex() else torch.complex64
    return torch.fft.ifft2(torch.fft.fft2(t.to(dtype)) * ramp.to(dtype))


def rotate_transmission(t: torch.Tensor, degrees: float, outside: float = 1.0) -> torch.Tensor:
    """Rotate a complex ``(n, n)`` transmission by ``degrees`` about the plane's centre.

    Bilinear resampling (``grid_sample``, ``align_corners=False``). Positive angles turn the
    +x axis (columns) towards +y (rows): in an image drawn with row 0 at the top, clockwise.
    A 90 degree turn maps pixel centres onto pixel centres exactly (``torch.rot90(t, -1)``).
    Points that come from outside the mask get the transmission ``outside`` (1 = open space).
    """
    n_y, n_x = t.shape[-2:]
    a = math.radians(float(degrees))
    c, s = math.cos(a), math.sin(a)
    real = t.real.dtype
    # output (x, y) samples the input at R(-a) (x, y) (normalised coordinates, square grid)
    theta = torch.tensor([[c, s, 0.0], [-s, c, 0.0]], dtype=real, device=t.device)
    grid = nn.functional.affine_grid(theta[None], [1, 2, n_y, n_x], align_corners=False)
    stacked = torch.stack([t.real - outside, t.imag], dim=0)[None]
    out = nn.functional.grid_sample(stacked, grid, mode="bilinear", padding_mode="zeros",
                                    align_corners=False)[0]
    return torch.complex(out[0] + outside, out[1])


def _quantise(phase: torch.Tensor, levels: int) -> torch.Tensor:
    """Round a wrapped phase to ``levels`` levels over 2 pi (straight-through gradient)."""
    step = TWO_PI / levels
    q = torch.remainder(torch.round(phase / step) * step, TWO_PI)
    return phase + (q - phase).detach()


def _response(phase: torch.Tensor, gamma: float) -> torch.Tensor:
    """The distorted lookup curve ``phase - gamma sin(phase)`` (increasing for |gamma| < 1)."""
    return phase - gamma * torch.sin(phase)


class DiffractivePNN(PhotonicNetwork):
    """A stack of ``layers`` trainable phase masks between free-space gaps (see the module doc).

    Args:
        n: pixels per side of every plane.
        pitch: pixel pitch (m), e.g. 0.4e-3.
        wavelength: wavelength (m), e.g. 0.75e-3 (0.4 THz).
        distance: gap between consecutive planes (m), one value for all ``L + 1`` gaps or a
            sequence of ``L + 1`` values (input -> mask 0, ..., mask L-1 -> detector).
        layers: number of phase masks ``L``.
        padding: zero-padding factor of the angular-spectrum FFTs (the geometry must pass
            :func:`~photonic_dat.optics.check_sampling`, else SamplingError).
        window: side (pixels) of the centred input window the image is resampled to; default
            ``n // 2``.
        classes: number of detector regions read as class scores (the layout has 10).
        detector_size: side (pixels) of each detector square; default ``round(n / 10)``.
        seed: seed of the mask initialisation.
        init: ``"zeros"`` (flat masks) or ``"uniform"`` (phases uniform in [0, 2 pi)).
        score_scale: the temperature multiplying the sum-normalised region energies.
    """

    error_family = "diffractive"

    def __init__(
        self,
        n: int = 64,
        pitch: float = 4e-4,
        wavelength: float = 7.5e-4,
        distance: float | Sequence[float] = 0.03,
        layers: int = 3,
        padding: int = 2,
        window: int | None = None,
        classes: int = 10,
        detector_size: int | None = None,
        seed: int = 0,
        init: str = "zeros",
        score_scale: float = 10.0,
    ) -> None:
        super().__init__()
        if isinstance(layers, bool) or not isinstance(layers, int) or layers < 1:
            raise ValueError(f"model.layers={layers!r} must be an integer >= 1")
        if init not in ("zeros", "uniform"):
            raise ValueError(f"model.init={init!r}; allowed: zeros, uniform")
        if classes != 10:
            raise ValueError(f"model.classes={classes} must be 10 for the diffractive layout")
        self.grid = Grid(n, pitch, wavelength)
        window = n // 2 if window is None else int(window)
        if not 1 <= window <= n:
            raise ValueError(f"model.window={window} must be between 1 and model.n={n} pixels")
        distances = ([float(distance)] * (layers + 1) if isinstance(distance, (int, float))
                     else [float(d) for d in distance])
        if len(distances) != layers + 1:
            raise ValueError(f"distance needs {layers + 1} gaps (layers + 1), got {len(distances)}")
        self.n, self.pitch, self.wavelength = n, float(pitch), float(wavelength)
        self.layers, self.padding, self.window = layers, int(padding), window
        self.distances = distances
        # one propagator per distinct distance, shared by the gaps of equal length
        unique = sorted(set(distances), key=distances.index)
        self.propagators = nn.ModuleList(
            AngularSpectrum(self.grid, d, padding=self.padding) for d in unique
        )
        self._gap = [unique.index(d) for d in distances]
        g = torch.Generator().manual_seed(int(seed))
        self.masks = nn.ModuleList(PhaseMask(n, init=init, generator=g) for _ in range(layers))
        self.layout = ten_region_layout(n, detector_size)
        self.classes = classes
        self.score_scale = float(score_scale)
        self.plane_shapes = [(n, n)] * (layers + 1)
        self._init = init

    # -- the contract --------------------------------------------------------------------
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images ``(B, H, W)`` (or ``(B, 1, H, W)``) in [0, 1] -> complex64 field ``(B, n, n)``."""
        if images.ndim == 3:
            images = images[:, None]
        if images.ndim != 4 or images.shape[1] != 1:
            raise ValueError(f"encode expects images (B, H, W), got {tuple(images.shape)}")
        w, n = self.window, self.n
        amp = nn.functional.interpolate(images.float(), size=(w, w), mode="bilinear",
                                        align_corners=False)[:, 0]
        out = amp.new_zeros(amp.shape[0], n, n)
        o = (n - w) // 2
        out[:, o:o + w, o:o + w] = amp
        return out.to(torch.complex64)

    def _propagator(self, k: int, errors: DiffractiveRealisation | None) -> nn.Module:
        ideal = self.propagators[self._gap[k]]
        if errors is None or errors.distance_factors is None:
            return ideal
        buf = ideal.transfer_real
        key = (k, buf.device, buf.dtype)
        cached = errors.propagators.get(key)
        if cached is None:
            d = self.distances[k] * errors.distance_factors[k]
            dtype = torch.complex128 if buf.dtype == torch.float64 else torch.complex64
            cached = AngularSpectrum(self.grid, d, padding=self.padding, dtype=dtype,
                                     validate=False).to(buf.device)
            errors.propagators[key] = cached
        return cached

    def propagate(self, k: int, field: torch.Tensor,
                  errors: DiffractiveRealisation | None) -> torch.Tensor:
        """Free-space gap ``k`` (0: input -> mask 0, ..., L: mask L-1 -> detector)."""
        if errors is not None and k == 0 and errors.illumination is not None:
            field = field * errors.illumination
        out = self._propagator(k, errors)(field)
        if errors is not None and k == self.layers and errors.gain is not None:
            out = out * torch.sqrt(errors.gain)
        return out

    def mask_transmission(self, k: int,
                          errors: DiffractiveRealisation | None = None) -> torch.Tensor:
        """The complex ``(n, n)`` transmission of mask ``k``, as realised with ``errors``."""
        mask = self.masks[k]
        if errors is None:
            return mask.transmission()
        phase = mask.phase
        touched = False
        if errors.modifies_phase:
            phase = torch.remainder(phase, TWO_PI)
            if errors.quant_levels:
                phase = _quantise(phase, errors.quant_levels)
            if errors.response_gamma:
                phase = _response(phase, errors.response_gamma)
            touched = True
        if errors.fab_phase is not None:
            phase = phase + errors.fab_phase[k]
            touched = True
        t = torch.polar(torch.ones_like(phase), phase) if touched else mask.transmission()
        if errors.rotations is not None:
            t = rotate_transmission(t, errors.rotations[k])
        if errors.shifts is not None:
            dx, dy = errors.shifts[k]
            t = fourier_shift(t, dx, dy)
        return t

    def after_plane(self, k: int, field: torch.Tensor,
                    errors: DiffractiveRealisation | None) -> torch.Tensor:
        """Apply mask ``k`` to the field arriving at it."""
        if errors is None:
            return self.masks[k](field)
        return field * self.mask_transmission(k, errors)

    def readout(self, intensity: torch.Tensor) -> torch.Tensor:
        """Detector-plane intensity ``(B, n, n)`` -> scores ``(B, 10)`` (see the module doc)."""
        e = self.layout.energies(intensity)[..., : self.classes]
        return self.score_scale * e / (e.sum(dim=-1, keepdim=True) + 1e-30)

    def describe(self) -> dict[str, Any]:
        """The geometry (SI units: metres) and readout of this network."""
        d = self.distances
        return {
            "kind": "diffractive", "n": self.n, "pitch": self.pitch,
            "wavelength": self.wavelength,
            "distance": d[0] if len(set(d)) == 1 else list(d), "layers": self.layers,
            "padding": self.padding, "padded_size": self.propagators[0].padded_size,
            "window": self.window, "detector_size": self.layout.regions[0][2]
            - self.layout.regions[0][0], "classes": self.classes, "init": self._init,
            "score_scale": self.score_scale,
        }
