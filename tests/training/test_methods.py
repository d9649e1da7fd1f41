"""Behaviour of the training methods on small, seeded runs."""

import pytest
import torch

from photonic_dat.config import from_dict
from photonic_dat.errors import MeshErrorSpec
from photonic_dat.models.factory import build_model
from photonic_dat.system import SimulatedSystem
from photonic_dat.training.run import METHOD_CLASSES, train


def small_cfg(method="insilico", **sections):
    data = {
        "dataset": {"name": "mnist", "val_size": 500, "train_subset": 2000, "test_subset": 1000},
        "model": {"modes": 64, "layers": 3},
        "errors": {"phase_std": 0.0},
        "train": {"method": method, "epochs": 2, "batch_size": 100, "lr": 0.01, "lr_step": 10},
        "dat": {"warmup_epochs": 1, "internal_states": "unitary", "sepn_lr": 0.003},
    }
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    return from_dict(data)


class RecordingSystem:
    """Wraps a system and records every attribute the trainer touches."""

    ALLOWED = {"program", "measure", "measure_layer", "queries"}

    def __init__(self, inner):
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "touched", set())

    def __getattr__(self, name):
        self.touched.add(name)
        return getattr(self._inner, name)

    def __setattr__(self, name, value):
        self.touched.add(name)
        setattr(self._inner, name, value)


def test_trainers_only_use_the_hardware_protocol(mnist_small):
    cfg = small_cfg("dat", errors={"phase_std": 0.1}, train={"epochs": 1},
                    dat={"internal_states": "separable"})
    model = build_model(cfg.model, seed=0)
    system = RecordingSystem(SimulatedSystem(model, cfg.error_spec(), error_seed=0))
    method = METHOD_CLASSES["dat"](model, system, cfg)
    images, labels = mnist_small.train
    method.step(images[:50], labels[:50], epoch=0)
    assert system.touched <= RecordingSystem.ALLOWED
    assert {"program", "measure", "measure_layer"} <= system.touched
    # and the realisation is not a public attribute of the simulated system
    inner = SimulatedSystem(model, cfg.error_spec())
    assert not [k for k in vars(inner) if "error" in k.lower() and not k.startswith("_")]


@pytest.mark.parametrize("method,internal,per_sample", [
    ("pat", "none", 1), ("dat", "none", 1), ("dat", "unitary", 1), ("dat", "separable", 4),
])
def test_query_counter_counts_what_was_measured(mnist_small, method, internal, per_sample):
    cfg = small_cfg(method, errors={"phase_std": 0.05}, dat={"internal_states": internal})
    model = build_model(cfg.model, seed=0)
    system = SimulatedSystem(model, cfg.error_spec())
    m = METHOD_CLASSES[method](model, system, cfg)
    images, labels = mnist_small.train
    for start in (0, 40):
        m.step(images[start : start + 40], labels[start : start + 40], epoch=0)
    assert system.queries == 80 * per_sample


def test_pat_on_an_error_free_system_is_insilico_training(mnist_small):
    """Same value (the hardware is the model) and the same gradient as in-silico training."""
    images, labels = mnist_small.train
    grads, losses = [], []
    for method in ("insilico", "pat"):
        cfg = small_cfg(method)
        model = build_model(cfg.model, seed=0)
        system = SimulatedSystem(model, cfg.error_spec())
        m = METHOD_CLASSES[method](model, system, cfg)
        losses.append(m.step(images[:100], labels[:100], epoch=0)["loss"])
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
        if method == "pat":
            assert system.queries == 100
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)
    scale = grads[0].abs().max()
    assert (grads[0] - grads[1]).abs().max() < 1e-4 * scale


def test_dat_on_an_error_free_system_trains_like_insilico(mnist_small, tmp_path):
    a = train(small_cfg("insilico"), tmp_path / "a", data=mnist_small, progress=False)
    b = train(small_cfg("dat"), tmp_path / "b", data=mnist_small, progress=False)
    assert a["physical_test_acc"] > 0.6
    assert abs(a["physical_test_acc"] - b["physical_test_acc"]) < 0.05


def test_similarity_loss_falls_when_the_model_learns_the_hardware(mnist_small):
    cfg = small_cfg("dat", errors={"phase_std": 0.15}, train={"lr": 1e-9},
                    dat={"sepn_lr": 0.01, "internal_states": "unitary"})
    torch.manual_seed(0)
    model = build_model(cfg.model, seed=0)
    system = SimulatedSystem(model, cfg.error_spec(), error_seed=1)
    dat = METHOD_CLASSES["dat"](model, system, cfg)
    images, labels = mnist_small.train
    losses = [dat.step(images[:200], labels[:200], epoch=0)["loss_sim"] for _ in range(60)]
    assert losses[-1] < 0.5 * losses[0], (losses[0], losses[-1])


def test_noise_aware_draws_a_new_realisation_every_step(mnist_small, monkeypatch):
    cfg = small_cfg("noise_aware", errors={"phase_std": 0.1})
    model = build_model(cfg.model, seed=0)
    seen = []
    original = MeshErrorSpec.draw

    def spy(self, model, seed):
        seen.append(seed)
        return original(self, model, seed)

    monkeypatch.setattr(MeshErrorSpec, "draw", spy)
    m = METHOD_CLASSES["noise_aware"](model, None, cfg)
    images, labels = mnist_small.train
    for _ in range(3):
        m.step(images[:20], labels[:20], epoch=0)
    assert len(set(seen)) == 3


@pytest.mark.slow
def test_pat_and_dat_beat_direct_deployment(mnist_small, tmp_path):
    errors = {"phase_std": 0.1}
    common = {"train": {"epochs": 4}, "system": {"error_seed": 3}, "errors": errors}
    direct = train(small_cfg("insilico", **common), tmp_path / "i", data=mnist_small,
                   progress=False)
    pat = train(small_cfg("pat", **common), tmp_path / "p", data=mnist_small, progress=False)
    dat = train(small_cfg("dat", **common), tmp_path / "d", data=mnist_small, progress=False)
    assert direct["model_test_acc"] - direct["physical_test_acc"] > 0.05
    assert pat["physical_test_acc"] > direct["physical_test_acc"] + 0.03
    assert dat["physical_test_acc"] > direct["physical_test_acc"] + 0.03


def test_init_from_starts_at_a_trained_network(mnist_small, tmp_path):
    first = train(small_cfg("insilico", train={"epochs": 1}), tmp_path / "a", data=mnist_small,
                  progress=False)
    cfg = small_cfg("pat", train={"epochs": 1, "lr": 1e-9, "init_from": str(tmp_path / "a")})
    again = train(cfg, tmp_path / "b", data=mnist_small, progress=False)
    assert again["physical_test_acc"] == pytest.approx(first["physical_test_acc"], abs=0.01)
    from photonic_dat.config import ConfigError

    with pytest.raises(ConfigError, match="not a finished run directory"):
        small_cfg("pat", train={"init_from": str(tmp_path / "nope")})


def _dat_on_phase_errors(**dat_options):
    """A DAT method (phase std 0.1) on its simulated system, and its model."""
    cfg = small_cfg("dat", errors={"phase_std": 0.1}, dat=dat_options)
    model = build_model(cfg.model, seed=0)
    return METHOD_CLASSES["dat"](model, SimulatedSystem(model, cfg.error_spec()), cfg), model


def test_similarity_gradient_reaches_physical_parameters_only_when_asked(mnist_small):
    images, labels = mnist_small.train
    grads = {}
    for flag in (True, False):
        dat, model = _dat_on_phase_errors(sim_to_physical=flag)
        dat.step(images[:50], labels[:50], epoch=0)
        grads[flag] = torch.cat([p.grad.flatten() for p in model.parameters()])
    # same task gradient; the difference is the similarity gradient
    assert not torch.allclose(grads[True], grads[False])


def test_zero_initialised_sepns_start_as_the_ideal_model(mnist_small):
    cfg = small_cfg("dat", dat={"sepn_zero_init": True})
    model = build_model(cfg.model, seed=0)
    dat = METHOD_CLASSES["dat"](model, SimulatedSystem(model, cfg.error_spec()), cfg)
    x = model.encode(mnist_small.train[0][:8])
    with torch.no_grad():
        assert torch.equal(model(x, sepns=dat.sepns, sepn_weight=1.0).scores, model(x).scores)


def test_shared_forward_matches_two_forwards_when_the_sepns_stand_still(mnist_small):
    images, labels = mnist_small.train
    params, stats = {}, {}
    for shared in (False, True):
        dat, model = _dat_on_phase_errors(fuse_internal=False, shared_forward=shared)
        dat.sepn_opt.param_groups[0]["lr"] = 0.0  # SEPNs unchanged by the similarity step
        stats[shared] = dat.step(images[:50], labels[:50], epoch=1)  # SEPN weight 1
        params[shared] = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert stats[True]["loss"] == pytest.approx(stats[False]["loss"], rel=1e-5)
    assert stats[True]["loss_sim"] == pytest.approx(stats[False]["loss_sim"], rel=1e-5)
    torch.testing.assert_close(params[True], params[False], rtol=1e-5, atol=1e-6)


def test_l2_plane_loss_is_the_pixel_count_times_the_mse(mnist_small):
    x = mnist_small.train[0][:16]
    losses = {}
    for kind in ("mse", "l2"):
        dat, model = _dat_on_phase_errors(plane_loss=kind)
        field = model.encode(x)
        with torch.no_grad():
            plane = model(field).planes[0]
            measured = dat.system.measure(field, internal=True).internal[0]
            losses[kind] = float(dat._plane_loss(plane, measured))
    assert losses["mse"] > 0
    assert losses["l2"] == pytest.approx(64 * losses["mse"], rel=1e-5)


def test_unknown_plane_loss_is_a_config_error():
    from photonic_dat.config import ConfigError

    with pytest.raises(ConfigError, match="dat.plane_loss"):
        small_cfg("dat", dat={"plane_loss": "cosine"})


def test_fitting_the_output_plane_adds_a_similarity_term(mnist_small):
    images, labels = mnist_small.train
    losses = {}
    for flag in (False, True):
        dat, _ = _dat_on_phase_errors(fit_output_plane=flag)
        losses[flag] = dat.step(images[:50], labels[:50], epoch=0)["loss_sim"]
    assert losses[True] > losses[False] > 0


@pytest.mark.parametrize("model,errors", [
    ({"modes": 16, "layers": 2}, {"phase_std": 0.1, "bs_std": 0.05}),
    ({"kind": "diffractive", "n": 24, "layers": 2, "padding": 3, "init": "uniform"},
     {"shift_std": 0.5, "fab_phase_std": 0.3, "distance_std": 0.02}),
])
def test_oracle_trains_through_the_systems_own_realisation(mnist_small, model, errors):
    cfg = from_dict({"model": model, "errors": errors, "system": {"error_seed": 3},
                     "train": {"method": "oracle", "lr": 0.01}})
    net = build_model(cfg.model, seed=0)
    system = SimulatedSystem(net, cfg.error_spec(), error_seed=3)
    m = METHOD_CLASSES["oracle"](net, system, cfg)
    x = net.encode(mnist_small.train[0][:50])
    with torch.no_grad():
        ours = net(x, errors=m.errors).intensity
        ideal = net(x).intensity
    measured = system.measure(x).output
    scale = measured.abs().max()
    assert (ours - measured).abs().max() < 1e-5 * scale  # the hardware's exact model
    assert (ideal - measured).abs().max() > 1e-2 * scale  # which the ideal model is not
    before = system.queries
    stats = m.step(*(t[:50] for t in mnist_small.train), epoch=0)
    assert system.queries == before and stats["loss"] > 0  # no measurement to train


def test_oracle_beats_direct_deployment(mnist_small, tmp_path):
    common = {"train": {"epochs": 4}, "system": {"error_seed": 3}, "errors": {"phase_std": 0.1}}
    direct = train(small_cfg("insilico", **common), tmp_path / "i", data=mnist_small,
                   progress=False)
    oracle = train(small_cfg("oracle", **common), tmp_path / "o", data=mnist_small,
                   progress=False)
    assert oracle["physical_test_acc"] > direct["physical_test_acc"] + 0.03


def test_modulated_sepns_represent_a_mask_phase_error_exactly(mnist_small):
    # plane k is the field arriving at mask k: (1 + D_k) x with 1 + D_k = exp(i fab_k) is
    # that field through the erroneous mask, so the numerical model becomes the hardware
    cfg = from_dict({"model": {"kind": "diffractive", "n": 24, "layers": 2, "padding": 3,
                               "init": "uniform"},
                     "errors": {"fab_phase_std": 0.4, "fab_corr_length": 2},
                     "system": {"error_seed": 5},
                     "train": {"method": "dat"},
                     "dat": {"sepn_zero_init": True, "sepn_modulation": True}})
    net = build_model(cfg.model, seed=0)
    system = SimulatedSystem(net, cfg.error_spec(), error_seed=5)
    dat = METHOD_CLASSES["dat"](net, system, cfg)
    assert dat.describe()["sepn"] == "unet-4-8-16+mod"
    x = net.encode(mnist_small.train[0][:20])
    measured = system.measure(x).output
    fab = cfg.error_spec().draw(net, 5).fab_phase
    with torch.no_grad():
        ideal = net(x, sepns=dat.sepns, sepn_weight=1.0).intensity  # D = 0: the ideal model
        for k in range(net.layers):
            d = torch.polar(torch.ones_like(fab[k]), fab[k]) - 1
            dat.sepns[k].modulation.copy_(torch.stack([d.real, d.imag]))
        ours = net(x, sepns=dat.sepns, sepn_weight=1.0).intensity
    scale = measured.abs().max()
    assert (ideal - measured).abs().max() > 1e-2 * scale
    assert (ours - measured).abs().max() < 1e-5 * scale


def _field_dat(**dat_options):
    cfg = small_cfg("dat", errors={"phase_std": 0.1}, system={"internal_detection": "field"},
                    dat=dat_options)
    model = build_model(cfg.model, seed=0)
    system = SimulatedSystem(model, cfg.error_spec(), internal_detection="field")
    return METHOD_CLASSES["dat"](model, system, cfg), model


def test_field_plane_loss_sees_the_phase_an_intensity_loss_cannot(mnist_small):
    dat, model = _field_dat()
    with torch.no_grad():
        plane = model(model.encode(mnist_small.train[0][:16])).planes[1]
    rotated = plane * torch.exp(1j * torch.linspace(0, 1, plane.shape[1]))  # per-mode phases
    assert float(dat._plane_loss(plane, 3 * plane)) == pytest.approx(0, abs=1e-6)
    assert float(dat._plane_loss(plane, rotated)) > 1e-3
    assert float(dat._plane_loss(plane, rotated.abs() ** 2)) == pytest.approx(0, abs=1e-6)


def test_dat_with_field_detection_steps_and_fits(mnist_small):
    images, labels = mnist_small.train
    dat, model = _field_dat(sepn="linear", sepn_lr=0.01)
    losses = [dat.step(images[:100], labels[:100], epoch=1)["loss_sim"] for _ in range(30)]
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < 0.5 * losses[0], (losses[0], losses[-1])


@pytest.mark.parametrize("method,dat", [("pat", {}), ("dat", {"internal_states": "none"})])
def test_field_detection_without_internal_planes_is_a_config_error(method, dat):
    from photonic_dat.config import ConfigError

    with pytest.raises(ConfigError, match="internal_detection"):
        small_cfg(method, system={"internal_detection": "field"}, dat=dat)
    with pytest.raises(ConfigError, match="system.internal_detection"):
        small_cfg("dat", system={"internal_detection": "hologram"})


def test_sepn_weight_decay_pulls_what_the_data_leaves_free_towards_zero(mnist_small):
    images, labels = mnist_small.train
    dat, _ = _dat_on_phase_errors(sepn="linear", sepn_lr=0.01, sepn_weight_decay=5.0)
    assert isinstance(dat.sepn_opt, torch.optim.AdamW)
    with torch.no_grad():
        for sepn in dat.sepns:
            sepn.matrix.fill_(0.05)
    before = torch.cat([s.matrix.detach().flatten() for s in dat.sepns]).abs().mean()
    for _ in range(5):
        dat.step(images[:50], labels[:50], epoch=1)
    after = torch.cat([s.matrix.detach().flatten() for s in dat.sepns]).abs().mean()
    assert after < 0.9 * before
    plain, _ = _dat_on_phase_errors(sepn="linear")
    assert type(plain.sepn_opt) is torch.optim.Adam
    from photonic_dat.config import ConfigError

    with pytest.raises(ConfigError, match="dat.sepn_weight_decay"):
        small_cfg("dat", dat={"sepn_weight_decay": -1})


def test_mesh_parameter_sepns_learn_the_phase_errors(mnist_small):
    images, labels = mnist_small.train
    dat, model = _dat_on_phase_errors(sepn="mesh", sepn_lr=0.01, plane_loss="l2",
                                      sim_to_physical=False)
    dat.opt.param_groups[0]["lr"] = 0.0  # phases held: the SEPNs alone fit the hardware
    losses = [dat.step(images[:100], labels[:100], epoch=1)["loss_sim"] for _ in range(40)]
    assert losses[-1] < 0.3 * losses[0], (losses[0], losses[-1])
    assert dat.describe()["sepn"] == "mesh"
    from photonic_dat.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="dat.sepn=mesh"):
        load_config("dpnn-cpu", ["train.method=dat", "dat.sepn=mesh"])


def test_sepn_only_epochs_fit_the_sepns_and_hold_the_network(mnist_small):
    images, labels = mnist_small.train
    dat, model = _dat_on_phase_errors(sepn="linear", sepn_only_epochs=1, warmup_epochs=0,
                                      sim_to_physical=True)
    phases = [p.detach().clone() for p in model.parameters()]
    sepns = [p.detach().clone() for p in dat.sepns.parameters()]
    stats = dat.step(images[:50], labels[:50], epoch=0)
    with torch.no_grad():  # the statistics are the hardware's, as in the other epochs
        scores = model.readout(dat.system.measure(model.encode(images[:50])).output)
    assert stats["train_acc"] == pytest.approx(float((scores.argmax(1) == labels[:50]).float()
                                                     .mean()))
    assert all(torch.equal(a, p) for a, p in zip(phases, model.parameters(), strict=True))
    assert not all(torch.equal(a, p) for a, p in zip(sepns, dat.sepns.parameters(), strict=True))
    dat.step(images[:50], labels[:50], epoch=1)  # after them, the network trains
    assert not all(torch.equal(a, p) for a, p in zip(phases, model.parameters(), strict=True))
    from photonic_dat.config import ConfigError

    with pytest.raises(ConfigError, match="dat.sepn_only_epochs=2 leaves no epoch"):
        small_cfg("dat", dat={"sepn_only_epochs": 2})
    with pytest.raises(ConfigError, match="only train.method=dat has"):
        small_cfg("pat", dat={"sepn_only_epochs": 1})
