"""Free-space propagation of scalar fields between parallel planes.

All propagators here share one fast path: the input ``(..., N, N)`` is zero-padded to ``M x M``,
Fourier transformed, multiplied by a precomputed ``M x M`` spectrum ``G`` and transformed back,
and the first ``N x N`` samples are kept. ``G`` is computed once, in float64, at construction and
stored as a non-persistent buffer (``transfer_real``, the real view ``(M, M, 2)`` of the complex
``G``), so that ``module.double()`` / ``module.float()`` / ``module.to(...)`` move and cast it like
any real buffer; when its precision changes it is rebuilt from the float64 formula, so a
``.double()`` module is as accurate as one built with ``dtype=torch.complex128``.

* :class:`AngularSpectrum`: band-limited angular spectrum method (Matsushima & Shimobaba,
  Opt. Express 17, 19662 (2009)); ``G`` is the transfer function. The workhorse.
* :class:`RayleighSommerfeld`: direct (linear) convolution with the sampled first
  Rayleigh-Sommerfeld impulse response; for cross-checks.
* :class:`Fresnel`: paraxial propagator, transfer-function form for short distances and
  impulse-response form for long ones.

Units: metres; time dependence ``exp(-i omega t)`` (a forward wave is ``exp(+i k z)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import torch
from torch import nn

from .grid import Grid

Padding = int | Literal["auto"]

#: Fewest frequency samples the band-limited transfer function must keep on each side of zero
#: (``f_limit / delta_f``, about ``8 N_F`` at ``M = 2N``, with ``N_F = (N pitch / 2)^2 /
#: (lambda d)`` the Fresnel number of the window). Measured against Rayleigh-Sommerfeld on the
#: D2NN grid (N = 64 and 128, padding 2), for circular apertures filling half or all of the
#: window the angular spectrum error stays at its short-distance level (1-2 %) down to 16
#: samples, and reaches 3-4 % at 10 and 4-7 % at 6 samples, where the Fresnel impulse form is
#: accurate to 1e-3. (A small aperture in a large window degrades earlier: most of its light
#: should leave the window.) See :func:`check_sampling`.
MIN_BAND_SAMPLES = 16.0

_MAX_SUGGESTED_PADDING = 8


class SamplingError(ValueError):
    """A propagation geometry that the chosen method would alias (the message is one line)."""


# --------------------------------------------------------------------------- geometry helpers


def fft_friendly(m: int) -> int:
    """Smallest integer ``>= m`` whose only prime factors are 2, 3, 5 and 7."""
    if m < 1:
        raise ValueError(f"size must be >= 1, got {m}")
    k = m
    while True:
        r = k
        for p in (2, 3, 5, 7):
            while r % p == 0:
                r //= p
        if r == 1:
            return k
        k += 1


def _check_distance(distance: float, *, allow_zero: bool = True) -> float:
    if isinstance(distance, bool) or not isinstance(distance, (int, float)):
        raise ValueError(f"distance must be a real number in metres, got {distance!r}")
    d = float(distance)
    if not math.isfinite(d) or d < 0 or (d == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"distance must be finite and {bound} (m), got {distance!r}")
    return d


def band_limit_frequency(grid: Grid, distance: float, m: int) -> float:
    """Matsushima-Shimobaba band limit ``1 / (lambda sqrt((2 df d)^2 + 1))`` (1/m).

    ``df = 1 / (m pitch)`` is the frequency step of the ``m``-point padded FFT. Frequencies
    beyond the limit make the phase of the transfer function change by more than pi per
    frequency sample, i.e. their part of the impulse response lies beyond ``+-m pitch / 2``
    and would wrap around the padded window.
    """
    df = grid.frequency_step(m)
    return 1.0 / (grid.wavelength * math.sqrt((2.0 * df * distance) ** 2 + 1.0))


def max_frequency(grid: Grid, distance: float, m: int, band_limit: bool = True) -> float:
    """Highest spatial frequency (1/m) kept on each axis by the angular spectrum propagator.

    The smallest of the grid's Nyquist frequency ``1 / (2 pitch)``, the evanescent cut-off
    ``1 / lambda`` and (with ``band_limit``) :func:`band_limit_frequency`.
    """
    f = min(grid.nyquist, 1.0 / grid.wavelength)
    if band_limit:
        f = min(f, band_limit_frequency(grid, distance, m))
    return f


def kernel_reach(grid: Grid, distance: float, m: int, band_limit: bool = True) -> float:
    """Lateral reach of the angular spectrum impulse response, in pixels (may be ``inf``).

    A plane-wave component of frequency ``f`` travels at ``sin(theta) = lambda f``, so over
    ``distance`` it moves sideways by ``distance * tan(theta)``. With ``f`` the largest kept
    frequency per axis (:func:`max_frequency`) this is the reach of the kernel along x (or y).
    This is Matsushima's per-axis (rectangular) estimate: components with both ``fx`` and
    ``fy`` large, near the evanescent circle, reach further, but carry little energy for fields
    that are smooth on the scale of a pixel. When the band limit is the binding constraint the
    reach is exactly ``m / 2`` pixels (``tan(theta) = m pitch / (2 d)``).
    """
    if distance == 0:
        return 0.0
    s = grid.wavelength * max_frequency(grid, distance, m, band_limit)
    if s >= 1.0:
        return math.inf
    return distance * s / math.sqrt(1.0 - s * s) / grid.pitch


def _wraps(n: int, m: int, reach: float) -> bool:
    # Output pixels 0..n-1 receive light from input pixels up to `reach` away; the linear
    # convolution spans -reach .. n-1+reach, which stays clear of the n output pixels after
    # wrapping modulo m iff reach < m - n + 1. We ask for reach <= m - n (the zero margin
    # absorbs the reach), with a small tolerance so that the band-limited reach of exactly
    # m / 2 passes at m = 2n despite rounding.
    return not reach <= m - n + 1e-6


def _auto_size(n: int, reach_of: Callable[[int], float]) -> int:
    """Smallest FFT-friendly ``m`` in ``[n, 2n]`` whose kernel reach does not wrap, else 2n."""
    m = fft_friendly(n)
    while m < 2 * n:
        if not _wraps(n, m, reach_of(m)):
            return m
        m = fft_friendly(m + 1)
    return 2 * n


def _check_padding(padding: Padding) -> None:
    if padding == "auto":
        return
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 1:
        raise ValueError(f"padding must be an integer factor >= 1 or 'auto', got {padding!r}")


def padded_size(grid: Grid, distance: float, padding: Padding = 2, band_limit: bool = True) -> int:
    """Size ``M`` of the padded FFT window of :class:`AngularSpectrum`.

    An integer ``padding`` is a factor (``M = padding * N``; 1 means no padding). ``"auto"``
    picks the smallest FFT-friendly (2,3,5,7-smooth) ``M >= N`` with
    ``kernel_reach(M) <= M - N`` pixels, i.e. the zero margin absorbs the kernel's reach so
    the circular convolution does not wrap onto the output, and at most ``2N``. With the band
    limit binding, the reach is ``M / 2`` and this gives ``M = 2N``; ``M < 2N`` only when the
    grid's Nyquist frequency binds first (short distances).
    """
    _check_padding(padding)
    d = _check_distance(distance)
    if padding == "auto":
        return _auto_size(grid.n, lambda m: kernel_reach(grid, d, m, band_limit))
    return int(padding) * grid.n


def _sampling_problem(grid: Grid, distance: float, m: int, band_limit: bool) -> str | None:
    n = grid.n
    reach = kernel_reach(grid, distance, m, band_limit)
    if _wraps(n, m, reach):
        return (
            f"kernel reach {reach:.1f} px exceeds the zero margin M-N={m - n} px, "
            "so the circular convolution wraps around"
        )
    if band_limit and distance > 0:
        # only when the band limit (not the grid's Nyquist / evanescent limit) binds
        kept = max_frequency(grid, distance, m, True) / grid.frequency_step(m)
        binding = max_frequency(grid, distance, m, True) < max_frequency(grid, distance, m, False)
        if binding and kept < MIN_BAND_SAMPLES:
            return (
                f"the band limit keeps only {kept:.1f} frequency samples per half-axis "
                f"(< {MIN_BAND_SAMPLES:g}), so the transfer function is under-resolved"
            )
    return None


def check_sampling(
    grid: Grid, distance: float, padding: Padding = 2, *, band_limit: bool = True
) -> int:
    """Raise :class:`SamplingError` if the angular spectrum method would alias; return ``M``.

    Criteria, for a field that may fill the whole ``N x N`` window:

    1. *Wrap-around*: the kernel's lateral reach (:func:`kernel_reach`, pixels) must be
       ``<= M - N`` (the zero margin), otherwise light from one edge of the window re-enters
       at the other through the circular convolution. Without the band limit the reach uses
       the Nyquist / evanescent cut-off, which also means the transfer function's phase is
       under-sampled (more than pi per frequency step) exactly when this fires. With the
       band limit the reach is at most ``M / 2``, so ``padding >= 2`` always passes this test.
    2. *Under-resolved band* (band limit only, when it is below the grid's Nyquist and
       evanescent limits): at long distances the band limit shrinks like
       ``M^2 pitch^2 / (2 lambda d)`` frequency steps; below :data:`MIN_BAND_SAMPLES` steps the
       sharp band edge (a knife edge in frequency) rings across the whole window and the
       result is wrong by several percent. More padding (the count grows like ``M^2``) or a
       long-distance method (:class:`Fresnel` impulse form, :class:`RayleighSommerfeld`)
       fixes it.

    The pitch may exceed ``lambda / 2`` (D2NN: 0.4 mm at 0.75 mm): the grid then simply cannot
    carry propagation angles beyond ``asin(lambda / (2 pitch))``, which is a property of the
    model, not aliasing. The one-line message names the failed criterion and what works: the
    smallest padding factor (up to 8) that passes; ``band_limit=True`` if that passes with
    padding 2; at long distances ``Fresnel(method='impulse')`` when its chirp is sampled;
    ``RayleighSommerfeld`` when nothing else applies.

    Returns:
        The padded FFT size ``M``.
    """
    _check_padding(padding)
    d = _check_distance(distance)
    m = padded_size(grid, d, padding, band_limit)
    problem = _sampling_problem(grid, d, m, band_limit)
    if problem is None:
        return m
    fixes = []
    for factor in range(1, _MAX_SUGGESTED_PADDING + 1):
        if _sampling_problem(grid, d, factor * grid.n, band_limit) is None:
            fixes.append(f"padding={factor}")
            break
    if not band_limit and _sampling_problem(grid, d, 2 * grid.n, True) is None:
        fixes.append("band_limit=True with padding=2")
    long_distance = problem.startswith("the band limit")
    if long_distance and grid.wavelength * d >= 2 * (grid.n - 1) * grid.pitch**2:
        fixes.append("Fresnel(method='impulse')")  # its chirp is sampled there
    if not fixes:
        fixes.append("RayleighSommerfeld")
    fix = "use " + " or ".join(fixes)
    raise SamplingError(
        f"angular spectrum with N={grid.n}, pitch={grid.pitch:.4g} m, "
        f"wavelength={grid.wavelength:.4g} m, distance={d:.4g} m, padding={padding!r} (M={m}): "
        f"{problem}; {fix}"
    )


# --------------------------------------------------------------------------- the propagators


def _real_dtype(dtype: torch.dtype) -> torch.dtype:
    table = {
        torch.complex64: torch.float32,
        torch.complex128: torch.float64,
        torch.float32: torch.float32,
        torch.float64: torch.float64,
    }
    if dtype not in table:
        raise ValueError(f"dtype must be complex64/complex128 (or float32/float64), got {dtype}")
    return table[dtype]


def _complex_of(real: torch.dtype) -> torch.dtype:
    return torch.complex128 if real == torch.float64 else torch.complex64


class _SpectralPropagator(nn.Module):
    """``out = crop_N(IFFT_M(FFT_M(pad_M(field)) * G))`` with ``G`` a precomputed buffer.

    Subclasses set their attributes, then call ``_init_spectrum(dtype)``; ``_build`` returns
    ``G`` as a complex128 ``(M, M)`` tensor on the CPU, in FFT order (kernel offset 0 at index 0).
    """

    transfer_real: torch.Tensor

    def __init__(self, grid: Grid, distance: float, padded: int) -> None:
        super().__init__()
        if not isinstance(grid, Grid):
            raise ValueError(f"grid must be a Grid, got {type(grid).__name__}")
        self.grid = grid
        self.distance = distance
        self.padded_size = padded

    def _build(self) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _init_spectrum(self, dtype: torch.dtype) -> None:
        g = self._build().to(_complex_of(_real_dtype(dtype)))
        self.register_buffer("transfer_real", torch.view_as_real(g), persistent=False)

    def _apply(self, fn, recurse=True):  # type: ignore[no-untyped-def,override]
        before = self.transfer_real.dtype
        out = super()._apply(fn, recurse)
        buf = self.transfer_real
        if buf.is_complex() or buf.dtype != before:
            # float64 (or complex128) -> complex128; anything else (float32, half) -> complex64
            real = buf.real.dtype if buf.is_complex() else buf.dtype
            g = self._build().to(device=buf.device, dtype=_complex_of(real))
            self.transfer_real = torch.view_as_real(g)
        return out

    def transfer_function(self) -> torch.Tensor:
        """The complex ``(M, M)`` spectrum ``G`` (FFT order), a view of the stored buffer."""
        return torch.view_as_complex(self.transfer_real)

    def forward(self, field: torch.Tensor) -> torch.Tensor:
        """Propagate ``field`` ``(..., N, N)`` (complex; a real input is taken as amplitude)."""
        n, m = self.grid.n, self.padded_size
        if field.shape[-2:] != (n, n):
            raise ValueError(
                f"{type(self).__name__} expects a field (..., {n}, {n}), got {tuple(field.shape)}"
            )
        g = self.transfer_function()
        if not field.is_complex():
            field = field.to(g.dtype)
        if m == n:
            return torch.fft.ifft2(torch.fft.fft2(field) * g)
        # fft2 zero-pads at the end of each axis. (Pruned 1-D FFTs that skip the zero rows do
        # 25 % fewer transforms at m = 2n but ran 1.3-1.8x slower on CPU: strided 1-D
        # transforms lose to one 2-D transform.)
        return torch.fft.ifft2(torch.fft.fft2(field, s=(m, m)) * g)[..., :n, :n]

    def extra_repr(self) -> str:
        g = self.grid
        return (
            f"n={g.n}, pitch={g.pitch:.4g}, wavelength={g.wavelength:.4g}, "
            f"distance={self.distance:.4g}, padded_size={self.padded_size}"
        )


class AngularSpectrum(_SpectralPropagator):
    """Band-limited angular spectrum propagation over ``distance`` (m) between N x N planes.

    ``U_d = IFFT[FFT[pad(U_0)] * H]``, cropped to ``N x N``, with on the ``M``-point frequency
    grid (``fx, fy`` in 1/m)::

        H = exp(i 2 pi d sqrt(1/lambda^2 - fx^2 - fy^2))   if fx^2 + fy^2 < 1/lambda^2
                                                           and |fx|, |fy| <= f_limit
        H = 0                                              otherwise (evanescent / band limit)

    ``f_limit = 1 / (lambda sqrt((2 df d)^2 + 1))``, ``df = 1 / (M pitch)`` (see
    :func:`band_limit_frequency`). Evanescent waves are dropped (they are negligible a few
    wavelengths away).

    Args:
        grid: sampling of the input and output planes.
        distance: propagation distance ``d >= 0`` (m).
        padding: integer factor (``M = padding * N``; 1 = no padding) or ``"auto"`` (see
            :func:`padded_size`).
        band_limit: apply the Matsushima-Shimobaba band limit (keep it on unless checking).
        dtype: ``torch.complex64`` (default) or ``torch.complex128``.
        validate: run :func:`check_sampling` and raise :class:`SamplingError` on aliasing.
    """

    def __init__(
        self,
        grid: Grid,
        distance: float,
        padding: Padding = 2,
        band_limit: bool = True,
        dtype: torch.dtype = torch.complex64,
        validate: bool = True,
    ) -> None:
        d = _check_distance(distance)
        m = (check_sampling if validate else _unchecked_size)(
            grid, d, padding, band_limit=band_limit
        )
        super().__init__(grid, d, m)
        self.padding = padding
        self.band_limit = bool(band_limit)
        self._init_spectrum(dtype)

    def _build(self) -> torch.Tensor:
        g, d, m = self.grid, self.distance, self.padded_size
        fx, fy = g.frequency_grid(m)
        arg = 1.0 / g.wavelength**2 - fx**2 - fy**2
        keep = arg > 0
        if self.band_limit:
            fl = band_limit_frequency(g, d, m)
            keep &= (fx.abs() <= fl) & (fy.abs() <= fl)
        phase = 2.0 * math.pi * d * torch.sqrt(arg.clamp_min(0.0))
        h = torch.polar(keep.to(torch.float64), phase)
        return h

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, padding={self.padding!r}, band_limit={self.band_limit}"


def _unchecked_size(grid: Grid, distance: float, padding: Padding, *, band_limit: bool) -> int:
    return padded_size(grid, distance, padding, band_limit)


def _offset_planes(n: int, m: int, pitch: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Kernel offsets (m) on an ``m``-point circular grid: index i holds offset i (i < n) or
    i - m (i > m - n); ``valid`` marks offsets within +-(n - 1) pixels on both axes."""
    i = torch.arange(m)
    off = torch.where(i < n, i, i - m)
    ok = (i < n) | (i > m - n)
    y, x = torch.meshgrid(off.double() * pitch, off.double() * pitch, indexing="ij")
    valid = ok[:, None] & ok[None, :]
    return x, y, valid


class RayleighSommerfeld(_SpectralPropagator):
    """Convolution with the first Rayleigh-Sommerfeld impulse response (for cross-checks).

    ``U_d(x, y) = sum_{x', y'} U_0(x', y') h(x - x', y - y', d) pitch^2`` with::

        h(x, y, z) = -1/(2 pi) d/dz [exp(i k r) / r]
                   = z / (2 pi) * (1 / r - i k) * exp(i k r) / r^2,   r = sqrt(x^2 + y^2 + z^2)

    (far from the aperture ``h ~ (z / r) exp(i k r) / (i lambda r)``). ``h`` is point-sampled at
    the ``(2N - 1)^2`` offsets ``-(N-1)..(N-1)`` pixels and convolved linearly (FFT of size
    ``M = fft_friendly(2N - 1)``, which is exact for those offsets, no wrap-around). Accurate
    when ``distance`` is several pitches (the kernel is smooth over a pixel) and the kernel's
    phase is sampled, ``sin(theta) <= lambda / (2 pitch)`` over the window; evanescent waves
    are included, up to that sampling.

    Args:
        grid: sampling of both planes.
        distance: ``d > 0`` (m).
        dtype: ``torch.complex64`` (default) or ``torch.complex128``.
    """

    def __init__(self, grid: Grid, distance: float, dtype: torch.dtype = torch.complex64) -> None:
        d = _check_distance(distance, allow_zero=False)
        super().__init__(grid, d, fft_friendly(2 * grid.n - 1))
        self._init_spectrum(dtype)

    def _build(self) -> torch.Tensor:
        g, z = self.grid, self.distance
        x, y, valid = _offset_planes(g.n, self.padded_size, g.pitch)
        r = torch.sqrt(x**2 + y**2 + z**2)
        h = (z / (2.0 * math.pi)) * (1.0 / r - 1j * g.k) * torch.exp(1j * g.k * r) / r**2
        h = torch.where(valid, h * g.pitch**2, torch.zeros((), dtype=h.dtype))
        return torch.fft.fft2(h)


class Fresnel(_SpectralPropagator):
    """Paraxial (Fresnel) propagation over ``distance`` (m).

    Two sampled forms of the same paraxial kernel:

    * ``method="transfer"`` (short distances): on the ``M``-point padded grid
      ``H = exp(i k d) exp(-i pi lambda d (fx^2 + fy^2))``. Its paraxial reach is
      ``lambda d / (2 pitch^2)`` pixels; it aliases (wraps) when that exceeds ``M - N``.
    * ``method="impulse"`` (long distances): linear convolution with the sampled impulse
      response ``h = exp(i k d) / (i lambda d) exp(i pi (x^2 + y^2) / (lambda d)) pitch^2`` at
      offsets up to ``+-(N-1)`` pixels (FFT size ``fft_friendly(2N - 1)``); its chirp is sampled
      (at most half a cycle per pixel) iff ``lambda d >= 2 (N - 1) pitch^2``.
    * ``method="auto"``: ``"transfer"`` when it does not alias, else ``"impulse"``. With
      ``padding=2`` the two ranges overlap, so every distance is covered.

    Accurate when the propagation angles are small (``N pitch << d`` or a narrow spectrum).

    Args:
        grid: sampling of both planes.
        distance: ``d > 0`` (m).
        method: ``"auto"``, ``"transfer"`` or ``"impulse"``; the one used is ``self.method``.
        padding: padding factor of the transfer form (int, or ``"auto"``: the smallest
            FFT-friendly size that does not wrap, at most 2N).
        dtype: ``torch.complex64`` (default) or ``torch.complex128``.
        validate: raise :class:`SamplingError` when the chosen form would alias.
    """

    def __init__(
        self,
        grid: Grid,
        distance: float,
        method: Literal["auto", "transfer", "impulse"] = "auto",
        padding: Padding = 2,
        dtype: torch.dtype = torch.complex64,
        validate: bool = True,
    ) -> None:
        d = _check_distance(distance, allow_zero=False)
        _check_padding(padding)
        if method not in ("auto", "transfer", "impulse"):
            raise ValueError(f"method must be 'auto', 'transfer' or 'impulse', got {method!r}")
        n = grid.n
        reach = grid.wavelength * d / (2.0 * grid.pitch**2)
        m_tf = _auto_size(n, lambda m: reach) if padding == "auto" else int(padding) * n
        tf_ok = not _wraps(n, m_tf, reach)
        ir_ok = grid.wavelength * d >= 2 * (n - 1) * grid.pitch**2
        if method == "auto":
            method = "transfer" if tf_ok or not ir_ok else "impulse"
        if validate and method == "transfer" and not tf_ok:
            raise SamplingError(
                f"Fresnel transfer function with N={n}, distance={d:.4g} m, M={m_tf}: paraxial "
                f"reach {reach:.1f} px exceeds the zero margin M-N={m_tf - n} px; "
                + ("use method='impulse'" if ir_ok else "use more padding")
            )
        if validate and method == "impulse" and not ir_ok:
            raise SamplingError(
                f"Fresnel impulse response with N={n}, distance={d:.4g} m: its chirp is "
                f"under-sampled (lambda*d < 2(N-1)pitch^2); use method='transfer'"
            )
        m = m_tf if method == "transfer" else fft_friendly(2 * n - 1)
        super().__init__(grid, d, m)
        self.method = method
        self.padding = padding
        self._init_spectrum(dtype)

    def _build(self) -> torch.Tensor:
        g, d, m = self.grid, self.distance, self.padded_size
        if self.method == "transfer":
            fx, fy = g.frequency_grid(m)
            phase = g.k * d - math.pi * g.wavelength * d * (fx**2 + fy**2)
            return torch.polar(torch.ones_like(phase), phase)
        x, y, valid = _offset_planes(g.n, m, g.pitch)
        chirp = torch.polar(torch.ones_like(x), math.pi * (x**2 + y**2) / (g.wavelength * d))
        h = chirp * (complex(math.cos(g.k * d), math.sin(g.k * d)) / (1j * g.wavelength * d))
        h = torch.where(valid, h * g.pitch**2, torch.zeros((), dtype=h.dtype))
        return torch.fft.fft2(h)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, method={self.method!r}"
