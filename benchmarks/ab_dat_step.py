"""A/B timing of one DAT w/ IS training step on ``dpnn-cpu`` between two source trees.

    python benchmarks/ab_dat_step.py OLD_SRC NEW_SRC [--rounds 4]

``OLD_SRC`` / ``NEW_SRC`` are ``src`` folders (e.g. of ``git archive`` copies of two commits).
Each round times the step in one fresh process per tree, alternately, so both see the same
load; the result is the per-round ratio new / old and its median. One thread per process,
the moderate joint errors of ``dpnn-joint``, batch 64 of random images (timing only).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

_STEP = r"""
import torch
torch.set_num_threads(1)
from photonic_dat.bench import _method_setup, timeit
from photonic_dat.config import load_config
cfg = load_config("dpnn-cpu", ["train.method=dat", "dat.internal_states=unitary",
                               "errors.shift_std=0.5", "errors.distance_std=0.02",
                               "errors.fab_phase_std=0.3", "errors.fab_corr_length=2",
                               "dat.warmup_epochs=0"])
method, images, labels = _method_setup(cfg)
print(timeit(lambda: method.step(images, labels, 1), repeats=5, warmup=2)["median_s"])
"""


def step_time(src: str) -> float:
    out = subprocess.run([sys.executable, "-c", _STEP], env={**os.environ, "PYTHONPATH": src},
                         check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old_src")
    ap.add_argument("new_src")
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()
    ratios = []
    for r in range(args.rounds):
        old, new = step_time(args.old_src), step_time(args.new_src)
        ratios.append(new / old)
        print(f"round {r + 1}: old {old:.3f} s, new {new:.3f} s, new/old {new / old:.3f}")
    print(f"median new/old {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
