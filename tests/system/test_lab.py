"""The lab adapter template (CameraSLMSystem) end to end against the simulated bench.

Tolerances: the simulated bench shows every mask through an 8-bit SLM (phase steps of
2 pi / 256, at most 0.0123 rad off the model's phase) and rounds the camera to integer counts,
so a calibrated CameraSLMSystem reproduces SimulatedSystem.measure of the same network and
error realisation to about 1 % (relative L2 error per plane, measured: 0.003 % at plane 0, in
front of the first mask, 0.4 % at plane 1, 1.0 % at the detector plane; class scores 1.1 %);
the tests allow 2 %. The fitted intensity scale is exact (to 2 %) without hidden errors; with
them it is biased by a few % (the errors change how much light reaches a plane, which
calibrating against the ideal model cannot see), so with errors the comparison is made up to
one scale per plane (the readout is scale-free), and once more with the bench camera's true
scale.
"""

from __future__ import annotations

import types
import warnings

import numpy as np
import pytest
import torch

from photonic_dat.config import load_config
from photonic_dat.errors import DiffractiveErrorSpec
from photonic_dat.export import PhaseLUT
from photonic_dat.models import DiffractivePNN
from photonic_dat.models.factory import build_model
from photonic_dat.system import (
    Calibration,
    CameraSLMSystem,
    LabDevices,
    PhysicalSystem,
    RobustSystem,
    SimulatedLabDevices,
    SimulatedSystem,
)
from photonic_dat.system.lab import auto_exposure, calibrate, displayed_model, place_tile
from photonic_dat.training.loop import Trainer
from photonic_dat.training.run import METHOD_CLASSES

N, LAYERS, MAG = 24, 2, 2
OFFSETS = {0: (3, 5), 1: (9, 17), 2: (12, 30)}  # (row, col) of each plane's image on its camera
LUT = PhaseLUT.linear(8)
SPEC = DiffractiveErrorSpec(shift_std=0.3, fab_phase_std=0.2)
TOL = 0.02


@pytest.fixture(scope="module")
def model():
    return DiffractivePNN(n=N, padding=3, layers=LAYERS, init="uniform", seed=1)


def _x(model, b=8, seed=0):
    return model.encode(torch.rand(b, 28, 28, generator=torch.Generator().manual_seed(seed)))


def _rel(a, b):
    return float((a - b).norm() / b.norm())


def _bench(model, spec=SPEC, **kw):
    """A simulated bench with exposures set so that the probes fill half the camera's range."""
    dev = SimulatedLabDevices(model, spec, error_seed=3, slm_lut=LUT, offset=OFFSETS,
                              magnification=MAG, **kw)
    probes = _x(model, 4, seed=5)
    for p in dev.cameras:
        auto_exposure(dev, p, probes.abs().numpy(), full_scale=dev.full_scale, dark=dev.dark_counts,
                      start_s=1.0)
    return dev, probes


def _system(model, spec=SPEC, cameras=(0, 1, 2), **kw):
    dev, probes = _bench(model, spec)
    cals = calibrate(dev, model, LUT, probes, size=N * MAG, planes=cameras)
    system = CameraSLMSystem.for_model(model, dev, LUT, cals, planes_with_cameras=cameras,
                                       max_counts=dev.full_scale, **kw)
    return system, dev, cals


def test_calibration_finds_the_camera_geometry_and_scale(model):
    for spec in (DiffractiveErrorSpec(), SPEC):
        _, dev, cals = _system(model, spec)
        for p, cal in cals.items():
            row, col = OFFSETS[p]
            assert cal.crop == (col, row, col + N * MAG, row + N * MAG)
            assert np.allclose(cal.dark, dev.dark_counts)
            true_scale = 1.0 / (dev.sensitivity * dev.exposure[p])
            if spec.is_zero():
                assert cal.scale == pytest.approx(true_scale, rel=0.02)
            else:  # hidden errors bias the fit against the ideal model, by a few percent
                assert cal.scale == pytest.approx(true_scale, rel=0.15)


def test_measure_matches_the_simulated_system_without_errors(model):
    system, _, _ = _system(model, DiffractiveErrorSpec())
    assert isinstance(system, PhysicalSystem)
    x = _x(model, 8)
    system.program(model.physical_params())
    got = system.measure(x, internal=True)
    ref = SimulatedSystem(model, DiffractiveErrorSpec()).measure(x, internal=True)
    assert got.output.shape == ref.output.shape == (8, N, N) and len(got.internal) == LAYERS
    for a, b in zip(got.planes(), ref.planes(), strict=True):
        assert a.dtype == torch.float32 and _rel(a, b) < TOL
    assert _rel(model.readout(got.output), model.readout(ref.output)) < TOL
    assert system.queries == 8 and system.last_saturated_fraction == 0.0


def test_measure_matches_the_same_error_realisation_up_to_the_scale(model):
    system, dev, cals = _system(model)
    x = _x(model, 8)
    system.program(model.physical_params())
    got = system.measure(x, internal=True)
    ref = SimulatedSystem(model, SPEC, error_seed=3).measure(x, internal=True)
    for p, (a, b) in enumerate(zip(got.planes(), ref.planes(), strict=True)):
        s = float((a * b).sum() / (a * a).sum())
        assert _rel(s * a, b) < TOL
        gain = dev.sensitivity * dev.exposure[p]  # the bench camera's counts per unit intensity
        assert _rel(a / (cals[p].scale * gain), b) < TOL  # with the true scale: absolute match
    assert _rel(model.readout(got.output), model.readout(ref.output)) < TOL
    # a different realisation is far away: the bench really has the hidden errors of seed 3
    other = SimulatedSystem(model, SPEC, error_seed=4).measure(x).output
    assert _rel(model.readout(got.output), model.readout(other)) > 3 * TOL


def test_program_uploads_lut_levels_and_skips_unchanged_layers(model):
    dev, _ = _bench(model)
    cal = Calibration(dev.frame_shape, (17, 9, 17 + N * MAG, 9 + N * MAG))
    system = CameraSLMSystem(dev, LUT, cal, N, LAYERS, skip_unchanged=True)
    uploaded = []
    real = dev.upload_phase
    dev.upload_phase = lambda layer, levels: (uploaded.append((layer, levels)), real(layer, levels))
    system.program(model.physical_params())
    assert [k for k, _ in uploaded] == [0, 1]
    for k, levels in uploaded:
        assert levels.dtype == np.uint8
        assert np.array_equal(levels, LUT.to_levels(model.masks[k].phase))
    system.program(model.physical_params())
    assert len(uploaded) == 2 and system.uploads == 2
    with pytest.raises(KeyError, match="expected 2 phase masks"):
        system.program({"masks.0.phase": model.masks[0].phase})
    with pytest.raises(ValueError, match="shape"):
        system.program({"masks.0.phase": torch.zeros(3, 3), "masks.1.phase": torch.zeros(3, 3)})


def test_measure_layer_and_unsupported_inputs_fail_in_one_line(model):
    system, _, _ = _system(model, cameras=(2,))
    with pytest.raises(NotImplementedError, match="per|probing") as exc:
        system.measure_layer(0, _x(model, 1))
    assert "\n" not in str(exc.value)
    x = _x(model, 2)
    with pytest.warns(RuntimeWarning, match="internal"):
        m = system.measure(x, internal=True)
    assert m.internal is None and m.output.shape == (2, N, N)
    with pytest.raises(ValueError, match="phase"):
        system.measure(x * 1j)
    with pytest.raises(ValueError, match="inputs must be"):
        system.measure(torch.zeros(2, N + 1, N + 1, dtype=torch.complex64))


def _cfg(method, **extra):
    sets = [f"model.n={N}", "model.padding=3", f"model.layers={LAYERS}", "model.init=uniform",
            f"train.method={method}", "train.batch_size=8", "train.epochs=1", "train.lr=0.05",
            "train.eval_batch_size=16", "dat.warmup_epochs=0"]
    return load_config("dpnn-cpu", sets + [f"{k}={v}" for k, v in extra.items()])


def _images(n, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)


@pytest.mark.parametrize("method,robust", [("pat", False), ("dat", False), ("dat", True)])
def test_training_steps_through_the_camera_system(method, robust, tmp_path):
    cfg = _cfg(method, **{"dat.internal_states": "unitary"})
    model = build_model(cfg.model, seed=1)
    system, _, _ = _system(model)
    if robust:
        system = RobustSystem(system, timeout_s=10.0, log_path=tmp_path / "log.jsonl")
        assert isinstance(system, PhysicalSystem)
    torch.manual_seed(0)
    m = METHOD_CLASSES[method](model, system, cfg)
    before = model.masks[0].phase.detach().clone()
    for it in range(3):
        images, labels = _images(8, it)
        stats = m.step(images, labels, epoch=0)
        assert all(np.isfinite(v) for v in stats.values())
    assert system.queries == 24
    assert not torch.equal(before, model.masks[0].phase.detach())
    if robust:
        system.close()
        lines = (tmp_path / "log.jsonl").read_text().splitlines()
        assert len(lines) == 6 and all('"ok": true' in line for line in lines)


def test_trainer_runs_an_epoch_against_the_lab_system(tmp_path):
    cfg = _cfg("pat")
    model = build_model(cfg.model, seed=1)
    system, _, _ = _system(model, cameras=(2,))
    data = types.SimpleNamespace(train=_images(16, 0), val=_images(8, 1), test=_images(8, 2))
    method = METHOD_CLASSES["pat"](model, system, cfg)
    summary = Trainer(method, data, tmp_path, {"dataset": "random"}, progress=False).fit()
    assert summary["queries"] == 16 and summary["selected_epoch"] == 1
    assert 0.0 <= summary["physical_test_acc"] <= 1.0
    assert (tmp_path / "summary.json").exists()


# -- calibration pieces ----------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,match", [
    ({"crop": (100, 0, 120, 20)}, "outside the 40x60 camera frame"),
    ({"crop": (-5, 0, 20, 20)}, "outside the 40x60 camera frame.*partial=True"),
    ({"crop": (5, 5, 5, 20)}, "is empty"),
    ({"crop": (1, 2, 3)}, "must be 4 integers"),
    ({"scale": 0.0}, "scale=0.0 must be a positive finite number"),
    ({"scale": -2.0}, "must be a positive"),
    ({"scale": float("nan")}, "must be a positive"),
    ({"dark": np.zeros((3, 3))}, "dark has shape"),
    ({"dark": float("inf")}, "NaN or infinite"),
    ({"dark": True}, "not a bool"),
])
def test_calibration_errors_are_one_line(kwargs, match):
    args = {"frame_shape": (40, 60), "crop": (10, 5, 34, 29), **kwargs}
    with pytest.raises(ValueError, match=match) as exc:
        Calibration(**args)
    assert "\n" not in str(exc.value)


def test_to_model_crops_subtracts_dark_resamples_and_scales():
    rng = np.random.default_rng(0)
    img = rng.random((4, 4))
    frame = np.full((10, 12), 7.0)
    frame[2:10, 3:11] += np.kron(img, np.ones((2, 2)))  # 2 camera px per model px
    cal = Calibration((10, 12), (3, 2, 11, 10), scale=0.5, dark=7.0)
    assert torch.allclose(cal.to_model(frame, 4), torch.from_numpy(0.5 * img).float(), atol=1e-6)
    flipped = cal.replace(flip_rows=True, flip_cols=True)
    assert torch.allclose(flipped.to_model(frame, 4), torch.from_numpy(0.5 * img[::-1, ::-1].copy()).float(),
                          atol=1e-6)
    assert cal.to_model(np.stack([frame, frame]), 4).shape == (2, 4, 4)
    assert float(cal.to_model(frame - 20, 4).min()) == 0.0  # clamped at 0
    with pytest.raises(ValueError, match="camera frame has shape"):
        cal.to_model(np.zeros((9, 12)), 4)
    up = cal.to_model(frame, 16)  # camera coarser than the model: bilinear
    assert up.shape == (16, 16)


def test_fit_scale_and_its_errors():
    m = np.arange(12.0).reshape(3, 4)
    assert Calibration.fit_scale(m, 2.5 * m) == pytest.approx(2.5)
    assert Calibration.fit_scale(m, 2.5 * m, method="energy") == pytest.approx(2.5)
    with pytest.raises(ValueError, match="no signal"):
        Calibration.fit_scale(np.zeros((3, 4)), m)
    with pytest.raises(ValueError, match="not positive"):
        Calibration.fit_scale(m, -m)
    with pytest.raises(ValueError, match="differ in shape"):
        Calibration.fit_scale(m, m[:2])
    with pytest.raises(ValueError, match="does not fit"):
        Calibration.fit_crop(np.zeros((10, 10)), np.zeros((4, 4)), 12)


def test_check_layout_needs_every_detector_region_seen_and_resolved(model):
    full = Calibration((60, 70), (10, 5, 10 + N * MAG, 5 + N * MAG))
    rects = full.check_layout(model.layout, N)
    assert len(rects) == 10 and rects[0][2] - rects[0][0] == pytest.approx(
        MAG * (model.layout.regions[0][2] - model.layout.regions[0][0]))
    with pytest.raises(ValueError, match="does not resolve"):
        Calibration((60, 70), (10, 5, 10 + N // 2, 5 + N // 2)).check_layout(model.layout, N)
    with pytest.raises(ValueError, match="layout is for a 24x24 plane"):
        full.check_layout(model.layout, 32)
    # a camera that sees the plane's left part only (partial): the leftmost regions are unseen
    part = Calibration((60, 30), (-20, 5, -20 + N * MAG, 5 + N * MAG), partial=True)
    assert not bool(part.observed(N)[:, :10].any()) and bool(part.observed(N)[:, 10:].all())
    with pytest.raises(ValueError, match="detector region 0 .* is not inside") as exc:
        part.check_layout(model.layout, N)
    assert "\n" not in str(exc.value)
    frame = np.ones((60, 30))
    assert float(part.to_model(frame, N)[:, :10].abs().max()) == 0.0


def test_calibration_save_load_round_trip(tmp_path):
    dark = np.random.default_rng(1).random((20, 30))
    cal = Calibration((20, 30), (2, 3, 18, 19), 0.25, dark, flip_cols=True)
    back = Calibration.load(cal.save(tmp_path / "cal.npz"))
    assert back.crop == cal.crop and back.scale == cal.scale and back.flip_cols and not back.flip_rows
    assert np.array_equal(back.dark, dark)


def test_place_tile_and_displayed_model(model):
    canvas = np.zeros((10, 12), np.uint8)
    place_tile(canvas, np.array([[1, 2], [3, 4]], np.uint8), (1, 2), replicate=2)
    assert canvas[1:5, 2:6].tolist() == [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]
    assert canvas.sum() == 40
    with pytest.raises(ValueError, match="does not fit"):
        place_tile(canvas, np.ones((4, 4), np.uint8), (8, 0))
    twin = displayed_model(model, LUT)
    diff = (twin.masks[0].phase - model.masks[0].phase).detach()
    err = torch.remainder(diff + np.pi, 2 * np.pi) - np.pi  # on the circle
    assert float(err.abs().max()) <= np.pi / 256 + 1e-5


def test_lab_devices_is_an_abstract_template():
    with pytest.raises(TypeError):
        LabDevices()

    class Partial(LabDevices):
        def upload_phase(self, layer, levels):
            pass

        def show_input(self, amplitude):
            pass

        def grab_frame(self, plane):
            return np.zeros((4, 4))

    with pytest.raises(NotImplementedError):
        Partial().set_exposure(0, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Partial().close()
