"""Gradient fidelity of trained hardware-in-the-loop runs (issue 6, why DAT trails the oracle).

For each run directory: rebuild its model, simulated system and method from ``config.yaml``,
load the end-of-training ``checkpoint.pt`` (physical parameters and, for DAT, the SEPNs) and
compare, on test batches, the task gradient of PAT (ideal model, output fused) and of the DAT
model (ideal model + SEPNs, output fused) with the hardware's own gradient (through the
system's error realisation): cosine similarity and norm ratio, one CSV row per run.

    PYTHONPATH=src python experiments/investigations/gradient_fidelity.py \
        --out results/dpnn/gradient_fidelity.csv RUN_DIR [RUN_DIR ...]
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import torch

from photonic_dat.config import load_config
from photonic_dat.models.factory import build_model
from photonic_dat.training import checkpoint
from photonic_dat.training.fidelity import gradient_fidelity
from photonic_dat.training.run import METHOD_CLASSES, build_system, load_data


def measure(run_dir: Path, n_batches: int, batch_size: int) -> dict:
    cfg = load_config(run_dir / "config.yaml")
    cfg.train.init_from = None
    model = build_model(cfg.model, seed=cfg.train.seed)
    system = build_system(cfg, model)
    method = METHOD_CLASSES[cfg.train.method](model, system, cfg)
    state = checkpoint.load(run_dir / "checkpoint.pt")
    model.load_state_dict(state["model"])
    method.load_state_dict(state["method"])
    images, labels = load_data(cfg).test
    batches = [(images[i * batch_size:(i + 1) * batch_size],
                labels[i * batch_size:(i + 1) * batch_size]) for i in range(n_batches)]
    d = cfg.dat  # DAT's own task pass: every measured plane fused with internal states
    fuse_internal = (cfg.train.method == "dat" and d.fuse_internal
                     and d.internal_states in ("unitary", "separable"))
    fid = gradient_fidelity(model, system, cfg, batches, method.sepns, fuse_internal)
    summary = json.loads((run_dir / "summary.json").read_text()) \
        if (run_dir / "summary.json").exists() else {}
    return {"run": str(run_dir), "method": cfg.train.method,
            "sepn_kind": method.describe().get("sepn", ""), "fuse_internal": fuse_internal,
            "epoch": state["epoch"],
            "physical_test_acc": summary.get("physical_test_acc", ""),
            **{k: round(v, 4) for k, v in fid.items()}}


def run_cli(measure_run, description: str) -> None:
    """``RUN_DIR ... --out CSV [--batches N] [--batch-size B]``: one CSV row per run directory,
    ``measure_run(run_dir, batches, batch_size)`` -> dict (shared by the fidelity scripts)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for run in args.runs:
        rows.append(measure_run(run, args.batches, args.batch_size))
        print(rows[-1], flush=True)
    fields = list(dict.fromkeys(k for r in rows for k in r))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)


def main() -> None:
    run_cli(measure, __doc__.splitlines()[0])


if __name__ == "__main__":
    main()
