"""Data-parallel training with torchrun (2 gloo processes on CPU) matches one process."""

import json
import os
import subprocess
import sys

import torch

from photonic_dat.training import checkpoint

ARGS = ["train", "demo", "--method", "dat", "--epochs", "2", "--quiet", "--no-plot",
        "--set", "dataset.train_subset=600", "--set", "dataset.test_subset=300",
        "--set", "dataset.val_size=200", "--set", "model.modes=16",
        "--set", "train.batch_size=100", "--set", "train.threads=1",
        "--set", "dat.warmup_epochs=1", "--set", "dat.internal_states=unitary"]


def _run(cmd, out):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run([*cmd, *ARGS, "--out", str(out)], capture_output=True, text=True,
                         env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads((out / "summary.json").read_text())


def test_two_process_ddp_matches_one_process(tmp_path):
    one = _run([sys.executable, "-m", "photonic_dat"], tmp_path / "one")
    two = _run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
                "--master_port=29517", "-m", "photonic_dat"], tmp_path / "two")
    assert two["processes"] == 2 and one["processes"] == 1
    assert two["queries"] == one["queries"] == 1200
    assert abs(two["physical_test_acc"] - one["physical_test_acc"]) < 0.03
    a = checkpoint.load(tmp_path / "one" / "checkpoint.pt")["model"]
    b = checkpoint.load(tmp_path / "two" / "checkpoint.pt")["model"]
    for key in a:  # same data, averaged half-batch gradients: the same trajectory up to rounding
        assert torch.allclose(a[key], b[key], atol=1e-2), key


BROADCAST = """
import json, sys
import torch.distributed as dist
from photonic_dat.training import distributed
distributed.init_from_env()
got = distributed.broadcast_object([[distributed.rank() + 0.5, -1.0]])
open(sys.argv[1] + f"/rank{distributed.rank()}.json", "w").write(json.dumps(got))
dist.destroy_process_group()
"""


def test_broadcast_object_gives_every_rank_rank_zeros_value(tmp_path):
    # calibrate() fits mask shifts on each rank's share of the batch; all ranks must use one fit
    script = tmp_path / "bcast.py"
    script.write_text(BROADCAST)
    res = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
                          "--master_port=29518", str(script), str(tmp_path)],
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert res.returncode == 0, res.stderr[-2000:]
    for rank in (0, 1):
        assert json.loads((tmp_path / f"rank{rank}.json").read_text()) == [[0.5, -1.0]]
    from photonic_dat.training.distributed import broadcast_object

    assert broadcast_object({"one": 1}) == {"one": 1}  # a single process: the object itself
