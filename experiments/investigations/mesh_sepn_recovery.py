"""How much of the hardware's error a mesh-parameter SEPN has learned (a simulation diagnostic).

For each run directory (a ``dat.sepn: mesh`` run on a simulated MPNN) and each mesh, compares
the SEPN's learned error parameters with the error realisation the simulated system measures
with: the standard deviations, the cosine similarity and the rms difference. One CSV row per
run, mesh and parameter family; the state is the run's last checkpoint (``--state selected``:
the selected epoch's).

Usage: PYTHONPATH=src python experiments/investigations/mesh_sepn_recovery.py \
    --out results/investigations/mesh_sepn_recovery.csv RUN_DIR ...
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import torch

from photonic_dat.config import load_config
from photonic_dat.models.factory import build_model
from photonic_dat.sepn.mesh_params import MESH_ERROR_PARAMS
from photonic_dat.training import checkpoint
from photonic_dat.training.oracle import system_realisation

FIELDS = ("run", "mesh", "param", "learned_std", "true_std", "cosine", "rms_difference")


def sepn_state(run: Path, state: str) -> dict[str, torch.Tensor]:
    if state == "selected":
        return torch.load(run / "selected.pt", weights_only=False)["sepns"]
    return checkpoint.load(run / "checkpoint.pt")["method"]["sepns"]


def recovery(run: Path, state: str = "last") -> list[dict[str, object]]:
    cfg = load_config(run / "config.yaml")
    if cfg.dat.sepn != "mesh":
        raise SystemExit(f"{run}: not a mesh-parameter SEPN run (dat.sepn={cfg.dat.sepn})")
    truth = system_realisation(build_model(cfg.model, cfg.train.seed), cfg)
    learned = sepn_state(run, state)
    rows = []
    for k, real in enumerate(truth):
        for name in (n for group in MESH_ERROR_PARAMS.values() for n in group):
            key = f"{k}.{name}"
            if key not in learned:  # a family the SEPN does not learn
                continue
            a, b = learned[key].float(), getattr(real, name).float()
            rows.append({"run": str(run), "mesh": k, "param": name,
                         "learned_std": round(float(a.std()), 4),
                         "true_std": round(float(b.std()), 4),
                         "cosine": round(float(torch.nn.functional.cosine_similarity(a, b, 0)), 4),
                         "rms_difference": round(float((a - b).pow(2).mean().sqrt()), 4)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--state", choices=("last", "selected"), default="last")
    args = parser.parse_args()
    rows = [r for run in args.runs for r in recovery(run, args.state)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(rows)
    for r in rows:
        print(",".join(str(r[f]) for f in FIELDS), file=sys.stdout)


if __name__ == "__main__":
    main()
