"""A simulated diffractive system: exact when error-free, and each error acts as documented."""

import copy
import json

import pytest
import torch

from photonic_dat.errors import DiffractiveErrorSpec, DiffractiveRealisation
from photonic_dat.models import DiffractivePNN
from photonic_dat.system import SimulatedSystem


@pytest.fixture(scope="module")
def model():
    return DiffractivePNN(n=24, padding=3, layers=2, init="uniform", seed=1)


def _x(model, b=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return model.encode(torch.rand(b, 28, 28, generator=g))


def _out(model, x, **spec):
    return SimulatedSystem(model, DiffractiveErrorSpec(**spec), error_seed=0).measure(x).output


def _rel(a, b):
    return float((a - b).norm() / b.norm())


def test_zero_spec_system_reproduces_the_ideal_model_exactly(model):
    system = SimulatedSystem(model, DiffractiveErrorSpec())
    x = _x(model)
    m = system.measure(x, internal=True)
    trace = model(x)
    assert torch.equal(m.output, trace.intensity.detach())
    assert len(m.internal) == 2
    for got, want in zip(m.internal, trace.plane_intensities()[:-1], strict=True):
        assert torch.equal(got, want.detach())


def test_zero_spec_realisation_is_bitwise_ideal(model):
    x = _x(model)
    with torch.no_grad():
        ideal = model(x)
        for spec in (DiffractiveErrorSpec(), DiffractiveErrorSpec(fab_corr_length=4.0)):
            real = model(x, errors=spec.draw(model, 3))
            assert torch.equal(real.intensity, ideal.intensity)
            for a, b in zip(real.planes, ideal.planes, strict=True):
                assert torch.equal(a, b)


def test_same_seed_same_system_different_seed_different(model):
    spec = DiffractiveErrorSpec(shift_std=0.3, fab_phase_std=0.2)
    a, b = SimulatedSystem(model, spec, error_seed=3), SimulatedSystem(model, spec, error_seed=3)
    c = SimulatedSystem(model, spec, error_seed=4)
    x = _x(model)
    assert torch.equal(a.measure(x).output, b.measure(x).output)
    assert not torch.allclose(a.measure(x).output, c.measure(x).output)


@pytest.mark.parametrize("spec", [
    dict(shift_std=0.3), dict(distance_std=0.02), dict(rotation_std=1.0),
    dict(fab_phase_std=0.3, fab_corr_length=2.0), dict(response_gamma=0.3),
    dict(quant_levels=4), dict(beam_waist=0.7), dict(gain_std=0.1),
])
def test_each_error_changes_the_output(model, spec):
    x = _x(model)
    assert _rel(_out(model, x, **spec), _out(model, x)) > 1e-3


def test_one_pixel_mask_shift_equals_rolling_its_phase(model):
    x = _x(model)
    shifted = DiffractiveRealisation(shifts=[[1.0, 0.0], [0.0, -1.0]])
    rolled = copy.deepcopy(model)
    with torch.no_grad():
        rolled.masks[0].phase.copy_(torch.roll(model.masks[0].phase, 1, dims=-1))
        rolled.masks[1].phase.copy_(torch.roll(model.masks[1].phase, -1, dims=-2))
        got = model(x, errors=shifted).intensity
        want = rolled(x).intensity
    assert _rel(got, want) < 1e-5


def test_distance_error_propagators_are_cached_in_the_realisation(model):
    r = DiffractiveErrorSpec(distance_std=0.02).draw(model, 0)
    x = _x(model)
    with torch.no_grad():
        first = model(x, errors=r).intensity
        built = dict(r.propagators)
        again = model(x, errors=r).intensity
    assert len(built) == 3 and all(r.propagators[k] is v for k, v in built.items())
    assert torch.equal(first, again)
    distances = sorted(p.distance for p in built.values())
    assert distances == pytest.approx(sorted(0.03 * f for f in r.distance_factors))


def test_quantisation_error_grows_as_levels_fall(model):
    x = _x(model)
    ideal = _out(model, x)
    fine, coarse = _out(model, x, quant_levels=256), _out(model, x, quant_levels=4)
    assert _rel(fine, ideal) < 0.02
    assert _rel(coarse, ideal) > 5 * _rel(fine, ideal) and _rel(coarse, ideal) > 0.05


def test_gain_changes_only_the_detector_plane(model):
    spec = DiffractiveErrorSpec(gain_std=0.1)
    system = SimulatedSystem(model, spec, error_seed=0)
    x = _x(model)
    m = system.measure(x, internal=True)
    trace = model(x)
    for got, want in zip(m.internal, trace.plane_intensities()[:-1], strict=True):
        assert torch.equal(got, want.detach())
    gain = spec.draw(model, 0).gain
    assert torch.allclose(m.output, trace.intensity.detach() * gain, rtol=1e-4, atol=1e-7)


def test_illumination_multiplies_the_input_by_the_beam(model):
    spec = DiffractiveErrorSpec(beam_waist=0.5)
    r = spec.draw(model, 0)
    x = _x(model)
    with torch.no_grad():
        assert torch.equal(model.propagate(0, x, r), model.propagate(0, x * r.illumination, None))
    # a Gaussian profile: 1 on axis, exp(-2) at half a window (6 px) off axis on both axes
    c = (torch.arange(24.0) - 11.5) * model.pitch
    want = torch.exp(-(c[None] ** 2 + c[:, None] ** 2) / (0.5 * 12 * model.pitch) ** 2)
    assert torch.allclose(r.illumination, want, atol=1e-6)


def test_measure_layer_probes_each_layer(model):
    spec = DiffractiveErrorSpec(shift_std=0.3, distance_std=0.02, gain_std=0.05)
    system = SimulatedSystem(model, spec, error_seed=1)
    ideal_system = SimulatedSystem(model, DiffractiveErrorSpec())
    x = _x(model, 3)
    with torch.no_grad():
        trace = model(x)
        field_in = x
        for k in range(model.n_planes):
            if k > 0:
                field_in = model.after_plane(k - 1, trace.planes[k - 1], None)
            inten = system.measure_layer(k, field_in)
            want = trace.planes[k].abs() ** 2
            assert inten.shape == (3, 24, 24) and not inten.requires_grad
            assert torch.equal(ideal_system.measure_layer(k, field_in),
                               trace.planes[k].real ** 2 + trace.planes[k].imag ** 2)
            assert _rel(inten, want) > 1e-4  # this gap has a distance error
    assert system.queries == 3 * model.n_planes


def test_noise_aware_draws_are_differentiable(model):
    r = DiffractiveErrorSpec(**{"shift_std": 0.3, "distance_std": 0.02, "rotation_std": 0.5,
                                "fab_phase_std": 0.1, "response_gamma": -0.2,
                                "quant_levels": 64, "beam_waist": 1.0,
                                "gain_std": 0.05}).draw(model, 7)
    fresh = DiffractivePNN(n=24, padding=3, layers=2)  # zero phases: response slope at 0
    for net in (model, fresh):
        scores = net(_x(net), errors=r).scores
        loss = torch.nn.functional.cross_entropy(scores, torch.tensor([0, 1, 2, 3]))
        grads = torch.autograd.grad(loss, list(net.parameters()))
        assert all(torch.isfinite(g).all() and g.abs().max() > 0 for g in grads)


def test_training_methods_run_unchanged_on_the_dpnn(tmp_path):
    from photonic_dat.config import load_config
    from photonic_dat.data import load_dataset
    from photonic_dat.training.run import train

    cfg = load_config("dpnn-cpu", [
        "model.n=24", "model.padding=3", "model.layers=2", "dataset.train_subset=64",
        "dataset.test_subset=32", "dataset.val_size=32", "train.epochs=1",
        "train.batch_size=16", "train.method=dat", "dat.internal_states=unitary",
        "errors.shift_std=0.5",
    ])
    data = load_dataset("mnist", val_size=32, train_subset=64, test_subset=32)
    summary = train(cfg, tmp_path, data=data, progress=False)
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["method"] == "dat" and written["internal_states"] == "unitary"
    assert 0.0 <= summary["physical_test_acc"] <= 1.0
    assert written["errors"]["shift_std"] == 0.5


def test_modulator_response_and_quantisation_act_on_the_wrapped_phase(model):
    phase = model.masks[0].phase.detach()
    wrapped = torch.remainder(phase, 2 * torch.pi)
    with torch.no_grad():
        t = model.mask_transmission(0, DiffractiveRealisation(response_gamma=0.3))
        want = torch.polar(torch.ones_like(phase), wrapped - 0.3 * torch.sin(wrapped))
        assert torch.allclose(t, want, atol=1e-5)
        q = model.mask_transmission(0, DiffractiveRealisation(quant_levels=4))
        levels = torch.round(torch.remainder(torch.angle(q), 2 * torch.pi) / (torch.pi / 2))
        assert torch.allclose(torch.angle(q * torch.exp(-0.5j * torch.pi * levels)),
                              torch.zeros(()), atol=1e-5)
        assert (torch.angle(q / model.mask_transmission(0)).abs() <= torch.pi / 4 + 1e-4).all()
