"""DiffractiveErrorSpec: validation, serialisation, seeded draws with common random numbers."""

import dataclasses

import pytest
import torch

from photonic_dat.errors import (
    ERROR_SPECS,
    DiffractiveErrorSpec,
    DiffractiveRealisation,
    ErrorSpecError,
)
from photonic_dat.errors.diffractive import correlated_field
from photonic_dat.models import DiffractivePNN

ALL = dict(shift_std=0.3, distance_std=0.02, rotation_std=0.5, fab_phase_std=0.2,
           fab_corr_length=2.0, response_gamma=0.2, quant_levels=16, beam_waist=1.5,
           gain_std=0.05)


@pytest.fixture(scope="module")
def model():
    return DiffractivePNN(n=24, padding=3, layers=2, init="uniform", seed=1)


def test_registered_under_the_diffractive_kind():
    assert ERROR_SPECS["diffractive"] is DiffractiveErrorSpec
    assert DiffractiveErrorSpec.family == "diffractive"


def test_round_trip_through_dict():
    spec = DiffractiveErrorSpec(**ALL)
    assert DiffractiveErrorSpec.from_dict(spec.to_dict()) == spec
    assert DiffractiveErrorSpec.from_dict({}) == DiffractiveErrorSpec()
    assert DiffractiveErrorSpec().is_zero() and not spec.is_zero()
    # config values arrive as floats
    assert DiffractiveErrorSpec.from_dict({"quant_levels": 8.0}).quant_levels == 8


@pytest.mark.parametrize("data,match", [
    ({"shift_std": -0.1}, r"errors.shift_std=-0.1 must be >= 0"),
    ({"distance_std": -0.01}, r"errors.distance_std=-0.01 must be >= 0"),
    ({"distance_std": 0.5}, r"errors.distance_std=0.5 is too large"),
    ({"rotation_std": -1}, r"errors.rotation_std=-1 must be >= 0"),
    ({"fab_phase_std": -1}, r"errors.fab_phase_std=-1 must be >= 0"),
    ({"fab_corr_length": -2}, r"errors.fab_corr_length=-2 must be >= 0"),
    ({"response_gamma": -1}, r"errors.response_gamma=-1 must be in \(-1, 1\)"),
    ({"response_gamma": 1.5}, r"errors.response_gamma=1.5 must be in \(-1, 1\)"),
    ({"quant_levels": 1}, r"errors.quant_levels=1 must be 0 \(off\) or an integer >= 2"),
    ({"quant_levels": -4}, r"errors.quant_levels=-4 must be 0"),
    ({"quant_levels": 2.5}, r"errors.quant_levels=2.5 must be 0"),
    ({"beam_waist": -1}, r"errors.beam_waist=-1 must be >= 0"),
    ({"gain_std": float("nan")}, r"errors.gain_std=nan must be a finite number"),
    ({"shift": 0.1}, r"unknown error key 'errors.shift' for diffractive models; allowed: "),
])
def test_invalid_specs_end_in_one_line(data, match):
    with pytest.raises(ErrorSpecError, match=match) as info:
        DiffractiveErrorSpec.from_dict(data)
    assert "\n" not in str(info.value)


def test_zero_spec_draws_an_ideal_realisation(model):
    r = DiffractiveErrorSpec().draw(model, 0)
    assert isinstance(r, DiffractiveRealisation)
    assert (r.shifts, r.rotations, r.distance_factors, r.fab_phase, r.illumination, r.gain) \
        == (None,) * 6
    assert (r.response_gamma, r.quant_levels, r.modifies_phase) == (0.0, 0, False)
    # a correlation length without a fabrication std is still no error
    assert DiffractiveErrorSpec(fab_corr_length=3.0).draw(model, 0).fab_phase is None


def test_draw_shapes_and_devices(model):
    r = DiffractiveErrorSpec(**ALL).draw(model, 0)
    assert len(r.shifts) == 2 and all(len(s) == 2 for s in r.shifts)
    assert len(r.rotations) == 2 and len(r.distance_factors) == 3
    assert r.fab_phase.shape == (2, 24, 24) and r.fab_phase.dtype == torch.float32
    assert r.illumination.shape == (24, 24) and r.gain.shape == (24, 24)
    assert float(r.gain.min()) >= 0
    # the Gaussian beam peaks at the centre; waist 1.5 windows (12 px)
    assert float(r.illumination[11:13, 11:13].min()) > 0.99
    assert float(r.illumination[0, 0]) < float(r.illumination[12, 0])


def test_same_seed_same_draw_different_seed_different(model):
    spec = DiffractiveErrorSpec(**ALL)
    a, b, c = spec.draw(model, 5), spec.draw(model, 5), spec.draw(model, 6)
    assert a.shifts == b.shifts and torch.equal(a.fab_phase, b.fab_phase)
    assert torch.equal(a.gain, b.gain) and a.distance_factors == b.distance_factors
    assert a.shifts != c.shifts and not torch.equal(a.fab_phase, c.fab_phase)


def test_levels_share_one_pattern(model):
    """Common random numbers: whatever other stds are zero, a field is std x the same normals."""
    small = DiffractiveErrorSpec(shift_std=0.1, fab_phase_std=0.1).draw(model, 2)
    big = DiffractiveErrorSpec(shift_std=0.2, fab_phase_std=0.2, gain_std=0.1).draw(model, 2)
    for s, b in zip(small.shifts, big.shifts, strict=True):
        assert b == pytest.approx([2 * v for v in s])
    assert torch.allclose(big.fab_phase, 2 * small.fab_phase, atol=1e-6)
    only_gain = DiffractiveErrorSpec(gain_std=0.1).draw(model, 2)
    assert torch.equal(only_gain.gain, big.gain)


def test_correlated_field_has_unit_variance_and_correlation():
    z = torch.randn(64, 128, 128, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    white = correlated_field(z, 0.0)
    assert white is z
    smooth = correlated_field(z, 3.0)
    assert abs(float(smooth.std()) - 1.0) < 0.05
    neighbour = float((smooth * torch.roll(smooth, 1, dims=-1)).mean())
    assert neighbour > 0.9  # exp(-1 / (4 s^2)) = 0.97 for a Gaussian filter of std 3 px
    assert abs(float((z * torch.roll(z, 1, dims=-1)).mean())) < 0.01


def test_realisation_is_a_plain_dataclass():
    names = {f.name for f in dataclasses.fields(DiffractiveRealisation)}
    assert {"shifts", "rotations", "distance_factors", "fab_phase", "response_gamma",
            "quant_levels", "illumination", "gain"} <= names
