"""Ensemble training: one process, E ordinary run directories equal to E standalone runs."""

import json
import os
import subprocess
import sys

import pytest
import torch

from photonic_dat.config import ConfigError, load_config
from photonic_dat.models.ensemble import split_members
from photonic_dat.models.factory import build_model
from photonic_dat.training.ensemble import check_members, train_ensemble
from photonic_dat.training.run import train

BASE = ["dataset.train_subset=240", "dataset.test_subset=100", "dataset.val_size=100",
        "model.modes=16", "model.layers=2", "train.batch_size=60", "dat.warmup_epochs=1",
        "train.epochs=2", "dat.internal_states=unitary", "dat.sepn_features=[2,2,4]",
        "errors.phase_std=0.1", "errors.bs_std=0.05", "train.threads=1"]
SEEDS = [(0, 3), (1, 4)]


def _cfgs(method, extra=()):
    return [load_config("demo", [*BASE, f"train.method={method}", f"train.seed={s}",
                                 f"system.error_seed={e}", *extra]) for s, e in SEEDS]


def _scores(run_dir, cfg, x):
    model = build_model(cfg.model, seed=0)
    model.load_state_dict(torch.load(run_dir / "selected.pt", weights_only=False)["model"])
    return model(x).scores


@pytest.mark.parametrize("method", ["pat", "dat", "noise_aware", "oracle"])
def test_members_follow_their_standalone_runs(method, tmp_path):
    cfgs = _cfgs(method)
    solo = [train(c, tmp_path / f"solo{k}", progress=False) for k, c in enumerate(cfgs)]
    dirs = [tmp_path / "e0", tmp_path / "e1"]
    ens = train_ensemble(cfgs, dirs, tmp_path / "group", progress=False)
    x = torch.randn(20, 16, dtype=torch.complex64)
    for k, (a, b) in enumerate(zip(solo, ens, strict=True)):
        assert (b["seed"], b["error_seed"]) == SEEDS[k]
        assert b["queries"] == a["queries"] and b["selected_epoch"] == a["selected_epoch"]
        for key in ("physical_test_acc", "model_test_acc", "physical_test_acc_final"):
            assert b[key] == pytest.approx(a[key], abs=0.011), key  # at most one test sample
        # the selected networks compute the same scores (output phases are a gauge: compare
        # what the detectors see, not every phase)
        assert torch.allclose(_scores(dirs[k], cfgs[k], x), _scores(tmp_path / f"solo{k}",
                                                                      cfgs[k], x), atol=1e-4)
        assert json.loads((dirs[k] / "summary.json").read_text())["ensemble"]["members"] == 2
        assert (dirs[k] / "metrics.csv").exists() and (dirs[k] / "config.yaml").exists()


def test_members_may_differ_only_in_seeds():
    cfgs = _cfgs("pat")
    bad = load_config("demo", [*BASE, "train.method=pat", "train.seed=5", "train.lr=0.1"])
    with pytest.raises(ConfigError, match="differs from member 0 in train.lr"):
        check_members([cfgs[0], bad])
    with pytest.raises(ConfigError, match="same"):
        check_members([cfgs[0], cfgs[0]])
    with pytest.raises(ConfigError, match="mesh networks"):
        check_members([load_config("dpnn-cpu")])


def test_an_interrupted_ensemble_resumes_to_the_same_result(tmp_path):
    cfgs = _cfgs("dat", ["train.checkpoint_every=2"])
    dirs = [tmp_path / "a0", tmp_path / "a1"]
    ref = train_ensemble(cfgs, dirs, tmp_path / "ga", progress=False)
    killed = [tmp_path / "b0", tmp_path / "b1"]
    for d, done in zip(killed, dirs, strict=True):
        d.mkdir()
        (d / "config.yaml").write_text((done / "config.yaml").read_text())
    cmd = [sys.executable, "-m", "photonic_dat", "train-ensemble", *map(str, killed),
           "--group", str(tmp_path / "gb"), "--quiet"]
    out = subprocess.run(cmd, env={**os.environ, "PHOTONIC_DAT_KILL_AFTER": "5"},
                         capture_output=True, text=True)
    assert out.returncode == -9 and not (killed[0] / "summary.json").exists()
    out = subprocess.run(cmd, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for k, d in enumerate(killed):
        got = json.loads((d / "summary.json").read_text())
        assert got["physical_test_acc"] == ref[k]["physical_test_acc"]
        assert got["physical_test_acc_final"] == ref[k]["physical_test_acc_final"]


def test_member_major_split_refuses_ragged_batches():
    with pytest.raises(ValueError, match="does not split"):
        split_members(torch.ones(5, 3), 2)


def test_a_member_directory_points_to_its_ensemble_and_numpy_seeds_work(tmp_path):
    import numpy as np

    from photonic_dat.system import SimulatedSystem
    from photonic_dat.training import checkpoint
    from photonic_dat.training.loop import Trainer

    cfgs = _cfgs("pat", ["train.epochs=1"])
    dirs = [tmp_path / "m0", tmp_path / "m1"]
    train_ensemble(cfgs, dirs, tmp_path / "g", progress=False)
    trainer = Trainer.__new__(Trainer)
    trainer.run_dir = dirs[1]
    with pytest.raises(checkpoint.CheckpointError, match="train-ensemble .* --group"):
        trainer.load_checkpoint()
    rows = (dirs[0] / "metrics.csv").read_text().splitlines()
    assert "ensemble_loss" in rows[0] and "ensemble_wall_s" in rows[0]
    model = build_model(cfgs[0].model)
    SimulatedSystem(model, cfgs[0].error_spec(), error_seed=np.int64(3))  # not a member list


def test_linear_sepn_is_refused_for_large_diffractive_planes():
    with pytest.raises(ConfigError, match="dat.sepn=linear needs planes of at most 1024"):
        load_config("dpnn-cpu", ["dat.sepn=linear"])
    assert load_config("mpnn-mnist", ["dat.sepn=linear"]).dat.sepn == "linear"
