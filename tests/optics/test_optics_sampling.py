"""check_sampling: the paper and CPU geometries pass, aliasing geometries fail in one line."""

from __future__ import annotations

import pytest
import torch

from photonic_dat.optics import (
    MIN_BAND_SAMPLES,
    AngularSpectrum,
    Fresnel,
    Grid,
    SamplingError,
    check_sampling,
    fft_friendly,
    kernel_reach,
    max_frequency,
    padded_size,
)

# D2NN of Lin et al. (Science 2018): 0.4 THz, 0.4 mm neurons, 30 mm between layers.
WAVELENGTH, PITCH, SPACING = 0.75e-3, 0.4e-3, 30e-3
PAPER = Grid(200, PITCH, WAVELENGTH)


def test_paper_geometry_passes():
    assert check_sampling(PAPER, SPACING, 2) == 400
    # with the band limit binding, the reach is exactly M / 2 = the zero margin
    assert kernel_reach(PAPER, SPACING, 400) == pytest.approx(200.0)
    prop = AngularSpectrum(PAPER, SPACING)
    assert prop.padded_size == 400


@pytest.mark.parametrize("n", [64, 80, 100])
def test_cpu_geometries_pass(n):
    g = Grid(n, PITCH, WAVELENGTH)
    assert check_sampling(g, SPACING, 2) == 2 * n
    assert AngularSpectrum(g, SPACING, padding="auto").padded_size == 2 * n


def test_no_padding_wraps_around():
    with pytest.raises(SamplingError) as info:
        check_sampling(PAPER, SPACING, 1)
    msg = str(info.value)
    assert "\n" not in msg and "wraps around" in msg and "use padding=2" in msg
    with pytest.raises(SamplingError):
        AngularSpectrum(PAPER, SPACING, padding=1)


def test_very_long_distance_fails_and_suggests_a_long_distance_method():
    g = Grid(64, PITCH, WAVELENGTH)
    with pytest.raises(SamplingError) as info:
        check_sampling(g, 2.0, 2)  # the band limit keeps < 1 frequency sample
    msg = str(info.value)
    assert "\n" not in msg and "under-resolved" in msg and "Fresnel(method='impulse')" in msg
    assert "padding=" not in msg.split(";")[-1]  # no padding up to 8 rescues this one
    Fresnel(g, 2.0)  # ... which works (impulse response form)


def test_long_distance_suggests_more_padding_when_that_suffices():
    g = Grid(64, PITCH, WAVELENGTH)
    with pytest.raises(SamplingError, match="use padding=3"):
        check_sampling(g, 0.2, 2)
    assert check_sampling(g, 0.2, 3) == 192
    kept = max_frequency(g, 0.2, 192) / g.frequency_step(192)
    assert kept >= MIN_BAND_SAMPLES


def test_without_band_limit_the_nyquist_reach_decides():
    g = Grid(64, PITCH, WAVELENGTH)
    with pytest.raises(SamplingError, match="use padding=5 or band_limit=True") as info:
        check_sampling(g, SPACING, 2, band_limit=False)
    assert "\n" not in str(info.value)
    assert check_sampling(g, SPACING, 5, band_limit=False) == 320
    assert check_sampling(g, 5e-3, 2, band_limit=False) == 128  # short distance is fine


def test_pitch_above_half_wavelength_is_not_an_error():
    # D2NN: pitch 0.4 mm > lambda / 2 = 0.375 mm only limits the angles the grid can carry.
    assert PITCH > WAVELENGTH / 2
    check_sampling(Grid(32, PITCH, WAVELENGTH), 5e-3, 2)


def test_auto_padding():
    # band limit binding: 2N; short distance (Nyquist binding): smaller, FFT-friendly, no wrap
    assert padded_size(PAPER, SPACING, "auto") == 400
    m = padded_size(PAPER, 5e-3, "auto")
    assert 200 < m < 400 and fft_friendly(m) == m
    assert kernel_reach(PAPER, 5e-3, m) <= m - 200
    assert kernel_reach(PAPER, 5e-3, fft_friendly(200 + 1)) > fft_friendly(201) - 200
    assert AngularSpectrum(PAPER, 5e-3, padding="auto").padded_size == m
    assert padded_size(PAPER, 0.0, "auto") == 200
    # never more than 2N: without the band limit at 30 mm nothing up to 2N suffices
    assert padded_size(PAPER, SPACING, "auto", band_limit=False) == 400
    with pytest.raises(SamplingError, match="padding='auto'"):
        check_sampling(PAPER, SPACING, "auto", band_limit=False)


def test_auto_padding_matches_explicit_padding_accuracy():
    g = Grid(100, PITCH, WAVELENGTH)
    u = torch.zeros(100, 100, dtype=torch.complex128)
    u[40:60, 30:70] = 1
    auto = AngularSpectrum(g, 5e-3, padding="auto", dtype=torch.complex128)
    four = AngularSpectrum(g, 5e-3, padding=4, dtype=torch.complex128)
    assert auto.padded_size < 200
    assert ((auto(u) - four(u)).norm() / four(u).norm()).item() < 1e-2


def test_fft_friendly():
    sizes = [fft_friendly(m) for m in (1, 11, 13, 97, 127, 200, 401)]
    assert sizes == [1, 12, 14, 98, 128, 200, 405]


@pytest.mark.parametrize("padding", [0, -2, 1.5, True, "none"])
def test_padding_validation(padding):
    with pytest.raises(ValueError, match="padding") as info:
        check_sampling(PAPER, SPACING, padding)
    assert not isinstance(info.value, SamplingError)


def test_negative_distance_is_a_value_error_not_a_sampling_error():
    with pytest.raises(ValueError, match="distance") as info:
        check_sampling(PAPER, -1e-3, 2)
    assert not isinstance(info.value, SamplingError)
    assert issubclass(SamplingError, ValueError)


def test_validate_false_skips_the_check():
    prop = AngularSpectrum(PAPER, SPACING, padding=1, validate=False)
    assert prop.padded_size == 200


def test_fresnel_method_choice_and_checks():
    g = Grid(64, PITCH, WAVELENGTH)
    assert Fresnel(g, 10e-3).method == "transfer"
    assert Fresnel(g, 0.5).method == "impulse"
    with pytest.raises(SamplingError, match="use method='impulse'") as info:
        Fresnel(g, 0.5, method="transfer")
    assert "\n" not in str(info.value)
    with pytest.raises(SamplingError, match="use method='transfer'"):
        Fresnel(g, 10e-3, method="impulse")
    with pytest.raises(ValueError, match="method"):
        Fresnel(g, 10e-3, method="fraunhofer")  # type: ignore[arg-type]


def test_small_grids_at_short_distance_pass():
    # the band-sample criterion only applies when the band limit (not Nyquist) binds
    for n in (8, 16):
        check_sampling(Grid(n, PITCH, WAVELENGTH), 1e-3, 2)
