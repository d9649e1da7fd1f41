"""DiffractivePNN: geometry, encoding, readout, gradients, sub-pixel transforms, config."""

import math

import pytest
import torch

from photonic_dat.config import ConfigError, load_config
from photonic_dat.models import DiffractivePNN, PhotonicNetwork
from photonic_dat.models.diffractive import fourier_shift, rotate_transmission
from photonic_dat.models.factory import build_model
from photonic_dat.optics import SamplingError

# 24 px, 3x padding (72-point FFTs) passes the sampling check at 30 mm
SMALL = dict(n=24, padding=3, layers=2)


@pytest.fixture(scope="module")
def model():
    return DiffractivePNN(**SMALL, init="uniform", seed=1)


def _images(b=4, seed=0):
    return torch.rand(b, 28, 28, generator=torch.Generator().manual_seed(seed))


def test_trace_has_one_plane_per_mask_plus_detector(model):
    assert isinstance(model, PhotonicNetwork) and model.error_family == "diffractive"
    assert model.n_planes == 3 and model.plane_shapes == [(24, 24)] * 3
    trace = model(model.encode(_images()))
    assert len(trace.planes) == 3
    assert all(p.shape == (4, 24, 24) and p.dtype == torch.complex64 for p in trace.planes)
    assert trace.intensity.shape == (4, 24, 24) and trace.scores.shape == (4, 10)


def test_scores_are_sum_normalised_energies_times_the_temperature(model):
    trace = model(model.encode(_images()))
    assert torch.allclose(trace.scores.sum(1), torch.full((4,), model.score_scale))
    # scale-free: a global gain on the detector intensity leaves the scores unchanged
    assert torch.allclose(model.readout(7.0 * trace.intensity), trace.scores, atol=1e-5)
    energies = model.layout.energies(trace.intensity)
    want = 10.0 * energies / energies.sum(1, keepdim=True)
    assert torch.allclose(trace.scores, want, atol=1e-5)


def test_gradients_reach_every_mask_phase(model):
    images, labels = _images(), torch.tensor([0, 1, 2, 3])
    loss = torch.nn.functional.cross_entropy(model(model.encode(images)).scores, labels)
    grads = torch.autograd.grad(loss, list(model.physical_params().values()))
    assert sorted(model.physical_params()) == ["masks.0.phase", "masks.1.phase"]
    assert all(g.shape == (24, 24) and g.abs().max() > 0 for g in grads)


def test_encode_places_the_resampled_image_in_a_centred_window():
    m = DiffractivePNN(**SMALL, window=10)
    x = m.encode(torch.ones(2, 28, 28))
    assert x.shape == (2, 24, 24) and x.dtype == torch.complex64
    inside = torch.zeros(24, 24, dtype=torch.bool)
    inside[7:17, 7:17] = True
    assert torch.allclose(x[0].real[inside], torch.ones(100))
    assert torch.equal(x[0][~inside], torch.zeros(24 * 24 - 100, dtype=torch.complex64))
    assert DiffractivePNN(**SMALL).window == 12  # default n // 2


def test_equal_gaps_share_one_propagator_and_mask_leaves_intensity():
    m = DiffractivePNN(**SMALL, init="uniform")
    assert len(m.propagators) == 1
    field = m.encode(_images(2))
    after = m.after_plane(0, field, None)
    assert torch.allclose(after.abs(), field.abs(), atol=1e-6)  # phase-only mask
    per_gap = DiffractivePNN(n=24, padding=3, layers=2, distance=[0.03, 0.02, 0.03])
    assert len(per_gap.propagators) == 2 and per_gap.describe()["distance"] == [0.03, 0.02, 0.03]


def test_describe_returns_the_geometry(model):
    d = model.describe()
    assert d["kind"] == "diffractive" and d["n"] == 24 and d["layers"] == 2
    assert (d["pitch"], d["wavelength"], d["distance"]) == (4e-4, 7.5e-4, 0.03)
    assert (d["padding"], d["padded_size"], d["window"], d["detector_size"]) == (3, 72, 12, 2)


def test_aliasing_geometry_raises_sampling_error():
    with pytest.raises(SamplingError):
        DiffractivePNN(n=24, padding=1, layers=1)


# -- sub-pixel transforms -----------------------------------------------------------------
def test_integer_fourier_shift_equals_roll():
    t = torch.randn(16, 16, dtype=torch.complex64, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(fourier_shift(t, 1, 0), torch.roll(t, 1, dims=-1), atol=1e-5)
    assert torch.allclose(fourier_shift(t, -2, 3), torch.roll(t, (3, -2), dims=(-2, -1)),
                          atol=1e-5)


def test_half_pixel_shift_twice_equals_one_pixel():
    t = torch.polar(torch.ones(16, 16), 6.0 * torch.rand(16, 16))
    twice = fourier_shift(fourier_shift(t, 0.5, -0.5), 0.5, -0.5)
    assert torch.allclose(twice, fourier_shift(t, 1.0, -1.0), atol=1e-5)
    assert torch.allclose(twice, torch.roll(t, (-1, 1), dims=(-2, -1)), atol=1e-5)


def test_rotation_by_zero_and_ninety_degrees():
    t = torch.randn(16, 16, dtype=torch.complex64, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(rotate_transmission(t, 0.0), t, atol=1e-6)
    assert torch.allclose(rotate_transmission(t, 90.0), torch.rot90(t, -1, dims=(-2, -1)),
                          atol=1e-5)
    # corners brought in from outside the mask are open space (transmission 1)
    assert torch.allclose(rotate_transmission(torch.zeros(16, 16, dtype=torch.complex64),
                                              45.0)[0, 0], torch.tensor(1 + 0j))


# -- configuration ------------------------------------------------------------------------
def test_cpu_preset_validates_and_builds():
    cfg = load_config("dpnn-cpu")
    assert cfg.model.kind == "diffractive" and cfg.model.layers == 3
    assert (cfg.train.batch_size, cfg.train.epochs) == (64, 10)
    assert cfg.error_spec().is_zero()
    m = build_model(cfg.model, seed=0)
    assert isinstance(m, DiffractivePNN) and m.n == cfg.model.n and m.layers == 3
    paper = load_config("dpnn-paper")
    assert (paper.model.n, paper.model.layers, paper.model.distance) == (200, 5, 0.03)
    assert (paper.model.pitch, paper.model.wavelength, paper.train.batch_size) == (4e-4, 7.5e-4, 32)
    assert paper.dat.sepn_features == [4, 8, 16]


def test_mesh_defaults_are_undisturbed():
    cfg = load_config("mpnn-mnist")
    assert cfg.model.kind == "mesh" and cfg.model.init == "haar"


@pytest.mark.parametrize("overrides,match", [
    (["model.distance=5", "model.padding=1"], r"model.distance=5.0 m is not sampled correctly"),
    (["model.n=24"], r"use model.padding=3"),
    (["model.pitch=-0.001"], r"model.pitch=-0.001 must be > 0"),
    (["model.wavelength=0"], r"model.wavelength=0.0 must be > 0"),
    (["model.distance=0"], r"model.distance=0.0 must be > 0"),
    (["model.padding=0"], r"model.padding=0 must be >= 1"),
    (["model.window=65"], r"model.window=65 must be <= 64"),
    (["model.detector_size=20"], r"model.detector_size=20 is too large"),
    (["model.classes=5"], r"model.classes=5 must be 10"),
    (["model.init=haar2"], r"model.init='haar2' is not allowed; allowed: zeros, uniform"),
    (["errors.shift_std=-1"], r"errors.shift_std=-1.0 must be >= 0"),
    (["errors.quant_levels=1"], r"errors.quant_levels=1"),
    (["errors.phase_std=0.1"], r"unknown error key 'errors.phase_std' for diffractive"),
])
def test_config_mistakes_end_in_one_line(overrides, match):
    with pytest.raises(ConfigError, match=match) as info:
        load_config("dpnn-cpu", overrides)
    assert "\n" not in str(info.value)


def test_phase_init_is_seeded():
    a = DiffractivePNN(**SMALL, init="uniform", seed=3)
    b = DiffractivePNN(**SMALL, init="uniform", seed=3)
    c = DiffractivePNN(**SMALL, init="uniform", seed=4)
    pa, pb, pc = (m.masks[0].phase for m in (a, b, c))
    assert torch.equal(pa, pb) and not torch.equal(pa, pc)
    assert float(pa.detach().min()) >= 0 and float(pa.detach().max()) < 2 * math.pi
    assert torch.count_nonzero(DiffractivePNN(**SMALL).masks[0].phase) == 0
