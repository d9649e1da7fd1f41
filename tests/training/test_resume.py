"""Runs that survive: kill-and-resume equality, checkpoint corruption, NaN guard."""

import contextlib
import csv
import json
import os
import subprocess
import sys
import warnings

import pytest
import torch

from photonic_dat.config import from_dict
from photonic_dat.training import checkpoint
from photonic_dat.training.loop import TrainingDiverged, read_steps

ARGS = ["train", "demo", "--method", "dat", "--epochs", "3", "--quiet", "--no-plot",
        "--set", "dataset.train_subset=240", "--set", "dataset.test_subset=100",
        "--set", "dataset.val_size=100", "--set", "model.modes=16",
        "--set", "train.batch_size=60", "--set", "dat.warmup_epochs=1",
        "--set", "system.read_noise=0.02", "--set", "train.checkpoint_every=3",
        "--set", "train.threads=1", "--set", "dat.internal_states=unitary",
        "--set", "train.log_every=1"]


def _cli(args, env_extra=None):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "photonic_dat", *args], env=env,
                          capture_output=True, text=True)


def _metrics(run):
    with open(run / "metrics.csv") as fh:
        return [{k: v for k, v in r.items() if k != "wall_s"} for r in csv.DictReader(fh)]


def _final_params(run):
    return checkpoint.load(run / "checkpoint.pt")["model"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    run = tmp_path_factory.mktemp("ref") / "run"
    out = _cli([*ARGS, "--out", str(run)])
    assert out.returncode == 0, out.stderr
    return run


@pytest.mark.parametrize("kill_after", [2, 4, 8])
def test_killed_and_resumed_run_equals_uninterrupted(reference, tmp_path, kill_after):
    run = tmp_path / "run"
    killed = _cli([*ARGS, "--out", str(run)], {"PHOTONIC_DAT_KILL_AFTER": str(kill_after)})
    assert killed.returncode == -9
    assert not (run / "summary.json").exists()
    resumed = _cli(["train", "--resume", str(run), "--quiet", "--no-plot"])
    assert resumed.returncode == 0, resumed.stderr
    assert _metrics(run) == _metrics(reference)
    # per-iteration log: iterations redone after the resume are logged twice, read once
    steps, ref_steps = read_steps(run), read_steps(reference)
    assert len(ref_steps) == 3 * 4 and [r["iteration"] for r in ref_steps[:4]] == [1, 2, 3, 4]
    assert {"loss", "loss_sim", "train_acc"} <= set(ref_steps[-1])
    assert steps == ref_steps
    ref, got = _final_params(reference), _final_params(run)
    for key in ref:
        assert torch.equal(ref[key], got[key]), key


def test_corrupted_checkpoint_falls_back_to_the_previous_one(tmp_path):
    path = tmp_path / "checkpoint.pt"
    checkpoint.save({"epoch": 1, "x": torch.ones(3)}, path)
    checkpoint.save({"epoch": 2, "x": torch.zeros(3)}, path)
    assert checkpoint.load(path)["epoch"] == 2
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # a partial write
    with pytest.warns(UserWarning, match="checksum mismatch"):
        assert checkpoint.load(path)["epoch"] == 1
    path.with_name("checkpoint.pt.prev").write_bytes(b"garbage")
    with pytest.raises(checkpoint.CheckpointError, match="cannot resume"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            checkpoint.load(path)


@contextlib.contextmanager
def _written_as_on_a_gpu():
    """torch.save tags every CPU storage as cuda:0 meanwhile, as a GPU run's files are."""
    import torch.serialization as ser

    entry = (1, lambda s: "cuda:0" if s.device.type == "cpu" else None, lambda obj, loc: None)
    ser._package_registry.append(entry)
    ser._package_registry.sort(key=lambda e: e[0])
    try:
        yield
    finally:
        ser._package_registry.remove(entry)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_files_written_on_a_gpu_read_on_a_machine_without_one(tmp_path):
    with _written_as_on_a_gpu():
        checkpoint.save({"epoch": 1, "x": torch.ones(3)}, tmp_path / "checkpoint.pt")
        torch.save({"model": {"w": torch.arange(4.0)}}, tmp_path / "selected.pt")
    with pytest.raises(RuntimeError, match="CUDA"):  # what a plain torch.load does here
        torch.load(tmp_path / "selected.pt", weights_only=False)
    state = checkpoint.load(tmp_path / "checkpoint.pt")
    assert state["x"].device.type == "cpu" and state["x"].tolist() == [1.0, 1.0, 1.0]
    weights = checkpoint.load_weights(tmp_path / "selected.pt")
    assert weights["model"]["w"].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_nan_measurement_stops_and_restores_the_last_good_state(tmp_path, mnist_small):
    from photonic_dat.models.factory import build_model
    from photonic_dat.system import FlakySystem, SimulatedSystem
    from photonic_dat.training.loop import Trainer
    from photonic_dat.training.run import METHOD_CLASSES

    cfg = from_dict({"model": {"modes": 16, "layers": 2}, "errors": {"phase_std": 0.05},
                     "train": {"method": "pat", "epochs": 2, "batch_size": 100},
                     "dataset": {"val_size": 500}})
    model = build_model(cfg.model)
    system = FlakySystem(SimulatedSystem(model, cfg.error_spec()), schedule=["ok"] * 25 + ["nan"])
    method = METHOD_CLASSES["pat"](model, system, cfg)
    trainer = Trainer(method, mnist_small, tmp_path, {}, progress=False)
    with pytest.raises(TrainingDiverged, match="non-finite output measurement") as info:
        trainer.fit()
    assert "\n" not in str(info.value) and "epoch 2" in str(info.value)
    # the model is back at the end-of-epoch-1 checkpoint, and it is finite
    saved = checkpoint.load(tmp_path / "checkpoint.pt")["model"]
    for key, value in model.state_dict().items():
        assert torch.equal(value, saved[key])
        assert torch.isfinite(value).all()


@pytest.mark.parametrize("rollback", [0.0, 0.05])
def test_rollback_returns_to_the_best_epoch_with_halved_learning_rates(tmp_path, mnist_small,
                                                                       monkeypatch, rollback):
    from photonic_dat.models.factory import build_model
    from photonic_dat.system import SimulatedSystem
    from photonic_dat.training.loop import Trainer
    from photonic_dat.training.run import METHOD_CLASSES

    cfg = from_dict({"model": {"modes": 16, "layers": 2}, "errors": {"phase_std": 0.05},
                     "train": {"method": "pat", "epochs": 4, "batch_size": 250, "lr": 0.01,
                               "rollback": rollback}, "dataset": {"val_size": 500}})
    model = build_model(cfg.model)
    method = METHOD_CLASSES["pat"](model, SimulatedSystem(model, cfg.error_spec()), cfg)
    trainer = Trainer(method, mnist_small, tmp_path, {}, progress=False)
    scripted = iter([0.80, 0.70, 0.70, 0.70])  # epochs 2-4 fall 0.10 below epoch 1
    lrs, adam_steps = [], []

    def physical_acc(split):
        if split is mnist_small.val:  # lr and Adam step count the epoch trained with
            lrs.append(method.opt.param_groups[0]["lr"])
            adam_steps.append(int(next(iter(method.opt.state.values()))["step"]))
            return next(scripted)
        return 0.0

    monkeypatch.setattr(trainer, "_physical_acc", physical_acc)
    epoch_states = []
    original = trainer._evaluate_epoch

    def evaluate(t0):
        original(t0)
        epoch_states.append({k: v.clone() for k, v in model.state_dict().items()})

    monkeypatch.setattr(trainer, "_evaluate_epoch", evaluate)
    summary = trainer.fit()
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    n = -(-mnist_small.train[0].shape[0] // 250)  # steps per epoch
    same_as_epoch_1 = [all(torch.equal(s[k], epoch_states[0][k]) for k in s)
                       for s in epoch_states]
    if rollback:
        # epochs 2 and 3 roll back to epoch 1, halving the lr each time; the last epoch stays
        assert [r.get("rolled_back_to") or "" for r in rows] == ["", "1", "1", ""]
        assert same_as_epoch_1 == [True, True, True, False]
        assert lrs == pytest.approx([0.01, 0.01, 0.005, 0.0025])
        # each rollback restores epoch 1's optimiser state (n Adam steps), untouched since
        assert adam_steps == [n, 2 * n, 2 * n, 2 * n]
        assert summary["physical_test_acc_final"] == 0.0 and summary["selected_epoch"] == 1
    else:
        assert "rolled_back_to" not in rows[1]
        assert same_as_epoch_1 == [True, False, False, False]
        assert lrs == pytest.approx([0.01] * 4) and adam_steps == [n, 2 * n, 3 * n, 4 * n]
    from photonic_dat.config import ConfigError

    with pytest.raises(ConfigError, match="train.rollback"):
        from_dict({"train": {"rollback": -0.1}})
    with pytest.raises(ConfigError, match="train.rollback acts on the physical validation"):
        from_dict({"train": {"method": "insilico", "rollback": 0.02}})


def test_a_run_whose_last_epoch_is_selected_meets_the_test_set_once(tmp_path):
    """Selected and final network are one network: one physical pass over the test set, and
    (read noise on) the same numbers for both."""
    run = tmp_path / "run"
    args = list(ARGS)
    args[args.index("dat")] = "pat"
    args[args.index("--epochs") + 1] = "1"
    out = _cli([*args, "--set", "system.read_noise=0.1", "--out", str(run)])
    assert out.returncode == 0, out.stderr
    summary = json.loads((run / "summary.json").read_text())
    assert summary["selected_epoch"] == 1
    assert summary["physical_test_acc"] == summary["physical_test_acc_final"]
    assert summary["eval_queries"] == 100 + 100  # validation once, test once
