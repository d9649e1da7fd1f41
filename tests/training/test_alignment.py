"""Alignment calibration: fitting a diffractive network's mask shifts (``train.fit_shifts``)."""

import pytest
import torch

from photonic_dat.config import ConfigError, from_dict
from photonic_dat.errors.diffractive import DiffractiveErrorSpec
from photonic_dat.models.factory import build_model
from photonic_dat.system import SimulatedSystem
from photonic_dat.system.protocol import Measurement
from photonic_dat.training import checkpoint
from photonic_dat.training.alignment import alignment, fit_mask_shifts, grid_search_2d
from photonic_dat.training.run import METHOD_CLASSES, train

MODEL = {"kind": "diffractive", "n": 24, "layers": 2, "padding": 3, "init": "uniform"}


def _measured(errors, mnist_small, seed=0, batch=32):
    net = build_model(from_dict({"model": MODEL}).model, seed=0)
    spec = DiffractiveErrorSpec(**errors)
    system = SimulatedSystem(net, spec, error_seed=seed)
    x = net.encode(mnist_small.train[0][:batch])
    system.program(net.physical_params())
    return net, x, system.measure(x, internal=True), spec.draw(net, seed)


def test_grid_search_finds_the_minimum_of_a_bowl_to_the_finest_step():
    calls = []

    def cost(dx, dy):
        calls.append((dx, dy))
        return (dx - 1.23) ** 2 + 2 * (dy + 2.71) ** 2

    dx, dy = grid_search_2d(cost, search=3.0)
    assert dx == pytest.approx(1.23, abs=1 / 128)
    assert dy == pytest.approx(-2.71, abs=1 / 128)
    assert len(calls) == 13**2 + 3 * 7**2  # exhaustive coarse grid, then three 7 x 7 grids
    with pytest.raises(ValueError, match="must be > 0"):
        grid_search_2d(cost, search=0.0)


def test_fit_recovers_pure_mask_shifts(mnist_small):
    net, x, meas, real = _measured({"shift_std": 1.2}, mnist_small)
    fitted = fit_mask_shifts(net, x, meas.planes())
    assert max(abs(s) for pair in real.shifts for s in pair) > 1.0  # a shift DAT alone fails on
    for f, r in zip(fitted, real.shifts, strict=True):
        assert f == pytest.approx(r, abs=0.02)
    # the ideal physics with the fitted shifts is the hardware
    with torch.no_grad():
        ours = net(x, errors=alignment(fitted)).intensity
        ideal = net(x).intensity
    scale = meas.output.abs().max()
    assert (ideal - meas.output).abs().max() > 0.05 * scale
    assert (ours - meas.output).abs().max() < 0.01 * scale


def test_fit_on_an_aligned_system_is_zero(mnist_small):
    net, x, meas, _ = _measured({"fab_phase_std": 0.0}, mnist_small)
    assert fit_mask_shifts(net, x, meas.planes()) == [[0.0, 0.0], [0.0, 0.0]]


def test_fit_stays_close_beside_unmodelled_errors(mnist_small):
    net, x, meas, real = _measured({"shift_std": 1.2, "distance_std": 0.02,
                                    "fab_phase_std": 0.3, "fab_corr_length": 2}, mnist_small)
    fitted = fit_mask_shifts(net, x, meas.planes())
    for f, r in zip(fitted, real.shifts, strict=True):
        assert f == pytest.approx(r, abs=0.3)


def test_fit_needs_every_plane(mnist_small):
    net, x, meas, _ = _measured({"shift_std": 1.0}, mnist_small)
    with pytest.raises(ValueError, match="all 3 planes"):
        fit_mask_shifts(net, x, [meas.output])


def _cfg(method="dat", **train):
    return from_dict({"model": MODEL, "errors": {"shift_std": 1.2}, "system": {"error_seed": 0},
                      "dataset": {"name": "mnist", "val_size": 100, "train_subset": 256,
                                  "test_subset": 200},
                      "train": {"method": method, "epochs": 1, "batch_size": 32, "lr": 0.01,
                                "fit_shifts": True, **train},
                      "dat": {"internal_states": "none", "sepn_zero_init": True,
                              "warmup_epochs": 0}})


@pytest.mark.parametrize("method", ["pat", "dat"])
def test_the_shifts_are_fitted_once_on_one_measurement_and_kept(mnist_small, monkeypatch, method):
    cfg = _cfg(method)
    net = build_model(cfg.model, seed=0)
    system = SimulatedSystem(net, cfg.error_spec(), error_seed=0)
    trainer = METHOD_CLASSES[method](net, system, cfg)
    images, labels = mnist_small.train
    assert trainer.fitted_shifts() is None
    trainer.step(images[:32], labels[:32], epoch=0)
    assert system.queries == 64  # the calibration measurement, then the step's own
    real = cfg.error_spec().draw(net, 0).shifts
    for f, r in zip(trainer.fitted_shifts(), real, strict=True):
        assert f == pytest.approx(r, abs=0.05)
    first = trainer.fitted_shifts()
    # the numerical model (SEPNs at zero) is now the hardware: the task loss is the measured one
    x = net.encode(images[:32])
    with torch.no_grad():
        ours = net(x, errors=trainer.alignment).intensity
    system.program(net.physical_params())
    measured = system.measure(x).output
    assert (ours - measured).abs().max() < 0.01 * measured.abs().max()

    def refit(*args, **kwargs):
        raise AssertionError("the shifts were fitted again")

    monkeypatch.setattr("photonic_dat.training.methods.fit_mask_shifts", refit)
    # every forward of the numerical model in a step carries the fitted shifts
    seen, forward = [], net.forward
    monkeypatch.setattr(net, "forward", lambda *a, **kw: seen.append(kw.get("errors")) or
                        forward(*a, **kw))
    trainer.step(images[32:64], labels[32:64], epoch=0)
    assert seen and all(e is trainer.alignment for e in seen)
    # a resumed run continues with the shifts it fitted, not with a refit on moved masks
    again = METHOD_CLASSES[method](net, system, cfg)
    again.load_state_dict(trainer.state_dict())
    assert again.fitted_shifts() == first
    again.step(images[:32], labels[:32], epoch=0)
    # ... unless the resume turned the fit off
    off = METHOD_CLASSES[method](net, system, _cfg(method, fit_shifts=False))
    off.load_state_dict(trainer.state_dict())
    assert off.fitted_shifts() is None


def test_a_run_reports_and_keeps_its_fitted_shifts(mnist_small, tmp_path, monkeypatch):
    from photonic_dat import viz

    summary = train(_cfg("dat"), tmp_path / "run", data=mnist_small, progress=False)
    fitted = summary["fitted_shifts"]
    assert len(fitted) == 2 and max(abs(s) for pair in fitted for s in pair) > 1.0
    assert checkpoint.load_weights(tmp_path / "run" / "selected.pt")["fitted_shifts"] == fitted
    # the figures draw the DAT model with its fitted shifts
    known, plot_planes = [], viz.plot_planes
    monkeypatch.setattr(viz, "plot_planes",
                        lambda *a, **kw: known.append(a[5]) or plot_planes(*a, **kw))
    viz.plot_run(tmp_path / "run")
    assert known[0].shifts == fitted
    assert (tmp_path / "run" / "figures" / "planes.png").exists()


def test_the_model_accuracy_is_the_aligned_models(mnist_small, tmp_path, monkeypatch):
    from photonic_dat.training import loop

    seen, predictions = [], loop.model_predictions
    monkeypatch.setattr(loop, "model_predictions",
                        lambda *a, **kw: seen.append(kw.get("errors")) or predictions(*a, **kw))
    summary = train(_cfg("pat"), tmp_path / "fit", data=mnist_small, progress=False)
    assert seen and all(e is not None and e.shifts == summary["fitted_shifts"] for e in seen)


def test_a_system_without_internal_planes_cannot_be_aligned(mnist_small):
    class OutputOnly:
        def __init__(self, inner):
            self.inner, self.queries = inner, 0

        def program(self, params):
            self.inner.program(params)

        def measure(self, x, *, internal=False):
            return Measurement(output=self.inner.measure(x).output)

    cfg = _cfg("pat")
    net = build_model(cfg.model, seed=0)
    pat = METHOD_CLASSES["pat"](net, OutputOnly(SimulatedSystem(net, cfg.error_spec())), cfg)
    with pytest.raises(ValueError, match="needs all 3 planes"):
        pat.step(*[t[:32] for t in mnist_small.train], epoch=0)


@pytest.mark.parametrize("change,match", [
    ({"train": {"method": "noise_aware"}}, "train.fit_shifts"),
    ({"train": {"method": "insilico"}}, "train.fit_shifts"),
    ({"model": {"kind": "mesh"}}, "train.fit_shifts"),
    ({"train": {"shift_search": 12}}, "train.shift_search=12"),
    ({"train": {"shift_search": 0.3}}, "train.shift_search=0.3 must be >= 0.5"),
])
def test_impossible_shift_fits_are_config_errors(change, match):
    data = {"model": dict(MODEL), "train": {"method": "dat", "fit_shifts": True}}
    for key, value in change.items():
        data[key] = {**data[key], **value}
    if data["model"]["kind"] == "mesh":
        data["model"] = {"kind": "mesh"}
    with pytest.raises(ConfigError, match=match):
        from_dict(data)
