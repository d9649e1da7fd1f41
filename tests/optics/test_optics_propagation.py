"""Physics of the propagators, in complex128 unless stated."""

from __future__ import annotations

import math

import pytest
import torch

from photonic_dat.optics import (
    AngularSpectrum,
    Fresnel,
    Grid,
    RayleighSommerfeld,
    band_limit_frequency,
)
from photonic_dat.optics import propagation as prop_mod

C128 = torch.complex128

# Gaussian beam: w0 = 40 wavelengths = 8 pixels on a 128 grid (pitch 5 lambda). The paraxial
# error scales like (lambda / (pi w0))^2 ~ 6e-5, far below the 1e-3 tolerance.
LAM = 0.75e-3
W0 = 40 * LAM
GAUSS_GRID = Grid(128, W0 / 8, LAM)
Z_R = math.pi * W0**2 / LAM


def gaussian_beam(grid: Grid, z: float) -> torch.Tensor:
    """Paraxial Gaussian beam, exp(-i omega t) convention (exp(+i k z) forward):
    E = w0/w exp(-r^2/w^2) exp(i (k z + k r^2 / (2 R) - psi)), psi = atan(z / z_R)."""
    x, y = grid.meshgrid()
    r2 = x**2 + y**2
    w = W0 * math.sqrt(1 + (z / Z_R) ** 2)
    inv_r = z / (z**2 + Z_R**2)
    phase = grid.k * z + grid.k * r2 * inv_r / 2 - math.atan(z / Z_R)
    return (W0 / w) * torch.exp(-r2 / w**2) * torch.exp(1j * phase)


def rel_l2(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).norm() / b.norm()).item()


@pytest.mark.parametrize("z_over_zr", [0.5, 1.0, 2.0])
def test_gaussian_beam_matches_paraxial_solution(z_over_zr):
    z = z_over_zr * Z_R
    out = AngularSpectrum(GAUSS_GRID, z, dtype=C128)(gaussian_beam(GAUSS_GRID, 0.0))
    ref = gaussian_beam(GAUSS_GRID, z)
    beam = ref.abs() > 1e-2 * ref.abs().max()
    amp_err = ((out.abs() - ref.abs()).abs() / ref.abs())[beam].max().item()
    assert amp_err < 1e-3, amp_err  # pointwise relative amplitude error over the beam
    field_err = ((out - ref).abs() / ref.abs())[beam].max().item()
    assert field_err < 2e-3, field_err  # the phase (Gouy, curvature) agrees as well


def test_fresnel_transfer_reproduces_paraxial_gaussian_exactly():
    # Fresnel propagation of a Gaussian is the paraxial solution itself (up to sampling).
    fr = Fresnel(GAUSS_GRID, Z_R, dtype=C128)
    assert fr.method == "transfer"
    out = fr(gaussian_beam(GAUSS_GRID, 0.0))
    assert rel_l2(out, gaussian_beam(GAUSS_GRID, Z_R)) < 1e-9


@pytest.mark.parametrize("z_over_zr, method", [(0.8, "transfer"), (2.5, "impulse")])
def test_fresnel_agrees_with_angular_spectrum_paraxially(z_over_zr, method):
    z = z_over_zr * Z_R
    u0 = gaussian_beam(GAUSS_GRID, 0.0)
    fr = Fresnel(GAUSS_GRID, z, dtype=C128)
    assert fr.method == method
    assert rel_l2(fr(u0), AngularSpectrum(GAUSS_GRID, z, dtype=C128)(u0)) < 1e-3


def test_fresnel_transfer_and_impulse_agree_where_both_are_sampled():
    g = GAUSS_GRID
    # both sampled for lambda z in [2 (N - 1) pitch^2, 2 N pitch^2] (padding 2)
    z = 2 * (g.n - 0.5) * g.pitch**2 / g.wavelength
    u0 = gaussian_beam(g, 0.0)
    tf = Fresnel(g, z, method="transfer", dtype=C128)(u0)
    ir = Fresnel(g, z, method="impulse", dtype=C128)(u0)
    assert rel_l2(ir, tf) < 1e-9


def test_parseval_exact_without_padding_or_band_limit():
    # Unpadded, no band limit, pitch >= lambda / sqrt(2) (no evanescent frequency on the grid,
    # corners included): the discrete propagator is a unitary circular convolution.
    g = Grid(64, 0.75e-3, 0.75e-3)
    prop = AngularSpectrum(g, 30e-3, padding=1, band_limit=False, dtype=C128, validate=False)
    h = prop.transfer_function()
    torch.testing.assert_close(h.abs(), torch.ones_like(h.abs()))
    u = torch.randn(3, 64, 64, dtype=C128, generator=torch.Generator().manual_seed(0))
    p_in = (u.abs() ** 2).sum((-2, -1))
    p_out = (prop(u).abs() ** 2).sum((-2, -1))
    torch.testing.assert_close(p_out, p_in, rtol=1e-12, atol=0)


@pytest.mark.parametrize("z_over_zr", [1.0, 3.0])
def test_parseval_band_limited_padded(z_over_zr):
    # A smooth beam well inside the window: the band limit and the crop lose nothing.
    u0 = gaussian_beam(GAUSS_GRID, 0.0)
    out = AngularSpectrum(GAUSS_GRID, z_over_zr * Z_R, dtype=C128)(u0)
    p_in, p_out = (u0.abs() ** 2).sum().item(), (out.abs() ** 2).sum().item()
    assert abs(p_out - p_in) / p_in < 1e-5


def test_parseval_complex64():
    u0 = gaussian_beam(GAUSS_GRID, 0.0).to(torch.complex64)
    out = AngularSpectrum(GAUSS_GRID, Z_R)(u0)
    assert out.dtype == torch.complex64
    p_in, p_out = (u0.abs() ** 2).sum().item(), (out.abs() ** 2).sum().item()
    assert abs(p_out - p_in) / p_in < 1e-5


def test_angular_spectrum_matches_rayleigh_sommerfeld():
    # Pitch lambda/2 (the RS kernel is sampled at every angle), a small hard circular aperture
    # of 8 px, 20 px away. The band-limited AS converges to RS as the padding grows; with
    # padding 2 the band edge still costs ~1.5 % for such a hard-edged (broadband) field.
    lam = 1e-6
    g = Grid(64, lam / 2, lam)
    x, y = g.meshgrid()
    u = (x**2 + y**2 <= (4 * g.pitch) ** 2).to(C128)
    d = 20 * g.pitch
    rs = RayleighSommerfeld(g, d, dtype=C128)(u)
    errs = {p: rel_l2(AngularSpectrum(g, d, padding=p, dtype=C128)(u), rs) for p in (2, 4, 8)}
    assert errs[4] < 5e-3, errs
    assert errs[8] < 1e-3, errs
    assert errs[2] < 3e-2, errs
    assert errs[8] < errs[4] < errs[2]


def test_rayleigh_sommerfeld_kernel_formula():
    # G is the FFT of h(x, y) pitch^2 with h = z/(2 pi) (1/r - i k) exp(i k r) / r^2.
    g = Grid(8, 0.5e-6, 1e-6)
    z = 5e-6
    rs = RayleighSommerfeld(g, z, dtype=C128)
    kernel = torch.fft.ifft2(rs.transfer_function())
    for ix, iy in [(0, 0), (3, 1), (-7, 2)]:
        x, y = ix * g.pitch, iy * g.pitch
        r = math.sqrt(x * x + y * y + z * z)
        h = z / (2 * math.pi) * (1 / r - 1j * g.k) * complex(math.cos(g.k * r), math.sin(g.k * r))
        h = h / r**2 * g.pitch**2
        assert complex(kernel[iy % rs.padded_size, ix % rs.padded_size]) == pytest.approx(
            h, rel=1e-12
        )
    # linear (not circular) convolution: a point at one edge does not reach the other edge
    u = torch.zeros(8, 8, dtype=C128)
    u[0, 0] = 1
    out = rs(u)
    assert complex(out[7, 7]) == pytest.approx(complex(kernel[7, 7]), rel=1e-12)


def test_transfer_function_shape_and_band_limit():
    g = Grid(64, 0.4e-3, 0.75e-3)
    d = 30e-3
    prop = AngularSpectrum(g, d, dtype=C128)
    h = prop.transfer_function()
    m = prop.padded_size
    assert h.shape == (m, m) == (128, 128)
    fx, fy = g.frequency_grid(m)
    fl = band_limit_frequency(g, d, m)
    inside = (fx.abs() <= fl) & (fy.abs() <= fl) & (fx**2 + fy**2 < 1 / g.wavelength**2)
    assert torch.all(h[~inside] == 0)
    torch.testing.assert_close(h[inside].abs(), torch.ones_like(h[inside].abs()))
    assert complex(h[0, 0]) == pytest.approx(complex(math.cos(g.k * d), math.sin(g.k * d)))
    # without the band limit only the evanescent corners (pitch < lambda / sqrt(2)) are removed
    free = AngularSpectrum(g, d, band_limit=False, dtype=C128, validate=False)
    propagating = fx**2 + fy**2 < 1 / g.wavelength**2
    assert not torch.all(propagating)
    assert torch.equal(free.transfer_function() != 0, propagating)


def test_evanescent_waves_removed_for_fine_pitch():
    g = Grid(32, 0.3e-6, 1e-6)  # pitch < lambda / 2: the grid holds evanescent frequencies
    prop = AngularSpectrum(g, 1e-6, padding=2, dtype=C128, band_limit=False, validate=False)
    h = prop.transfer_function()
    fx, fy = g.frequency_grid(64)
    assert torch.all(h[fx**2 + fy**2 >= 1 / g.wavelength**2] == 0)


def test_zero_distance_is_identity():
    g = Grid(16, 0.75e-3, 0.75e-3)  # no evanescent frequency on this grid
    u = torch.randn(2, 16, 16, dtype=C128, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(AngularSpectrum(g, 0.0, dtype=C128)(u), u)


def test_real_input_and_batch_dims(d2nn_grid):
    prop = AngularSpectrum(d2nn_grid, 30e-3)
    amp = torch.rand(2, 3, 64, 64)
    out = prop(amp)
    assert out.shape == (2, 3, 64, 64) and out.dtype == torch.complex64
    torch.testing.assert_close(out[1, 2], prop(amp[1, 2].to(torch.complex64)))
    with pytest.raises(ValueError, match="expects a field"):
        prop(torch.zeros(2, 63, 64, dtype=torch.complex64))


def test_transfer_function_is_a_buffer_computed_once(d2nn_grid, monkeypatch):
    calls = []
    build = AngularSpectrum._build

    def counting(self):
        calls.append(1)
        return build(self)

    monkeypatch.setattr(AngularSpectrum, "_build", counting)
    prop = AngularSpectrum(d2nn_grid, 30e-3)
    assert len(calls) == 1
    assert "transfer_real" in dict(prop.named_buffers())
    assert "transfer_real" not in prop.state_dict()  # non-persistent: derived from the config
    ptr = prop.transfer_function().data_ptr()
    u = torch.randn(4, 64, 64, dtype=torch.complex64)
    for _ in range(3):
        prop(u)
    assert len(calls) == 1
    assert prop.transfer_function().data_ptr() == ptr == prop.transfer_real.data_ptr()


def test_double_matches_complex128_construction(d2nn_grid):
    single = AngularSpectrum(d2nn_grid, 30e-3)
    assert single.transfer_function().dtype == torch.complex64
    ref = AngularSpectrum(d2nn_grid, 30e-3, dtype=C128).transfer_function()
    single.double()
    h = single.transfer_function()
    assert h.dtype == C128
    assert torch.equal(h, ref)  # rebuilt from the float64 formula, not upcast from float32
    u = torch.randn(64, 64, dtype=C128)
    assert single(u).dtype == C128
    single.float()
    assert single.transfer_function().dtype == torch.complex64
    assert AngularSpectrum(d2nn_grid, 30e-3, dtype=torch.float64).transfer_real.dtype == (
        torch.float64
    )


def test_all_propagators_share_the_buffer_mechanism(d2nn_grid):
    for prop in (
        RayleighSommerfeld(d2nn_grid, 30e-3),
        Fresnel(d2nn_grid, 30e-3),
        Fresnel(d2nn_grid, 5e-3),
    ):
        assert isinstance(prop, prop_mod._SpectralPropagator)
        ptr = prop.transfer_function().data_ptr()
        prop(torch.ones(64, 64, dtype=torch.complex64))
        assert prop.transfer_function().data_ptr() == ptr
        assert prop.double().transfer_function().dtype == C128


@pytest.mark.parametrize("bad", [-1e-3, float("nan"), float("inf"), "30mm"])
def test_distance_validation(d2nn_grid, bad):
    with pytest.raises(ValueError, match="distance"):
        AngularSpectrum(d2nn_grid, bad)
    with pytest.raises(ValueError, match="distance"):
        RayleighSommerfeld(d2nn_grid, bad)


def test_rs_and_fresnel_need_positive_distance(d2nn_grid):
    with pytest.raises(ValueError, match="> 0"):
        RayleighSommerfeld(d2nn_grid, 0.0)
    with pytest.raises(ValueError, match="> 0"):
        Fresnel(d2nn_grid, 0.0)
