"""Tutorial 1: reproduce one point of the paper (MNIST, phase error std 0.08 rad).

Three ways to train the paper's MZI network (3 x 64-mode Clements meshes) for hardware with
hidden phase errors (std 0.08 rad on every MZI phase, one fixed realisation):

* ``direct_deploy``: in-silico training, then deployment on the erroneous system;
* ``pat``: physics-aware training (the system's output in the loss, gradient in silico);
* ``dat_is_10k``: dual adaptive training with internal states (SEPN U-Net 4/8/16).

The paper reports physical test accuracies of 0.691, 0.764 and 0.921 for this point.

The tutorial drives the machinery behind ``photonic-dat reproduce`` from Python: it writes a
sweep spec (YAML) with this single point, runs it with :func:`photonic_dat.sweep.run_sweep`
(every training run is an ordinary run directory, resumable; finished runs are skipped when
the tutorial is run again with the same ``--out``), collects the run summaries with
:func:`photonic_dat.sweep.collect` and writes the report (CSV, figure, Markdown next to the
paper's numbers) with :func:`photonic_dat.report.sweep_report`.

Usage::

    python docs/tutorial_reproduce.py           # demo scale: 10k images, 6 epochs (like make demo)
    python docs/tutorial_reproduce.py --full    # the paper's setting: 55k images, 50 epochs (hours)
    python docs/tutorial_reproduce.py --tiny    # a smoke run in seconds (CI); accuracies meaningless
    python docs/tutorial_reproduce.py --out runs/tut1   # output folder (default: a new temp folder)

``PHOTONIC_DAT_TUTORIAL_TINY=1`` has the effect of ``--tiny``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
from pathlib import Path

import yaml

from photonic_dat.report import paper_lookup, sweep_report
from photonic_dat.sweep import collect, load_spec, run_sweep

METHODS = {
    "direct_deploy": {"train.method": "insilico"},
    "pat": {"train.method": "pat"},
    "dat_is_10k": {"train.method": "dat", "dat.internal_states": "unitary",
                   "dat.sepn_features": [4, 8, 16]},
}
LABELS = {"direct_deploy": "direct deployment", "pat": "PAT", "dat_is_10k": "DAT w/ IS"}
PHASE_STD = 0.08

# Scales: overrides of the mpnn-mnist preset (the paper's: batch 500, Adam 1e-3, 50 epochs).
SCALES = {
    "tiny": {"dataset.train_subset": 300, "dataset.test_subset": 200, "dataset.val_size": 100,
             "train.batch_size": 100, "train.lr": 0.003, "dat.sepn_lr": 0.003, "train.epochs": 1,
             "dat.warmup_epochs": 0},
    "demo": {"dataset.train_subset": 10000, "dataset.test_subset": 2000, "dataset.val_size": 2000,
             "train.batch_size": 250, "train.lr": 0.003, "dat.sepn_lr": 0.003, "train.epochs": 6,
             "train.lr_step": 4, "dat.warmup_epochs": 2},
    "full": {},
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=None, help="output folder (default: a new temp folder)")
    p.add_argument("--tiny", action="store_true", help="seconds-long smoke run (CI)")
    p.add_argument("--full", action="store_true", help="the paper's setting (hours)")
    p.add_argument("--jobs", type=int, default=1, help="training runs in parallel (one thread each)")
    args = p.parse_args(argv)
    if os.environ.get("PHOTONIC_DAT_TUTORIAL_TINY") == "1":
        args.tiny = True
    if args.tiny and args.full:
        p.error("--tiny and --full exclude each other")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scale = "tiny" if args.tiny else "full" if args.full else "demo"
    out = args.out or Path(tempfile.mkdtemp(prefix="photonic-dat-reproduce-"))
    out.mkdir(parents=True, exist_ok=True)

    # 1. the sweep spec: one dataset, one error setting, three methods, one seed and draw
    spec_data = {
        "name": "mnist-phase0.08",
        "presets": {"mnist": "mpnn-mnist"},
        "datasets": ["mnist"],
        "errors": [{"phase_std": PHASE_STD}],
        "methods": METHODS,
        "seeds": 1,
        "draws": 1,
        "overrides": {**SCALES[scale], "train.eval_batch_size": 1000},
    }
    spec_path = out / "sweep.yaml"
    spec_path.write_text(yaml.safe_dump(spec_data, sort_keys=False))
    spec = load_spec(spec_path)
    print(f"[1/3] sweep spec ({scale} scale): {spec_path}")
    print("      the same from the shell: " + shlex.join(
        ["photonic-dat", "reproduce", str(spec_path), "--out", str(out), "--report-dir",
         str(out / "report")]))

    # 2. run it: in-silico training once, then deployment on the erroneous system; PAT and DAT
    #    train against the simulated hardware (system.error_seed = seed + 100 * draw = 0)
    root = out / spec.name  # where `photonic-dat reproduce --out OUT` puts the runs
    counts = run_sweep(spec, root, jobs=args.jobs, progress=False)
    print(f"[2/3] ran {counts['ran']} job(s), skipped {counts['skipped']} finished, "
          f"{counts['failed']} failed, {counts['wall_s']:.0f} s; run directories under {root}")
    if counts["failed"]:
        print(f"      see the train.log of the failed runs under {root}", file=sys.stderr)
        return 1

    # 3. collect the run summaries and write the report beside the paper's numbers
    rows = collect(spec, root)
    report = sweep_report(spec.name, [dict(r) for r in rows], out / "report",
                          command=f"python docs/tutorial_reproduce.py --out {out}"
                          + (" --tiny" if args.tiny else " --full" if args.full else ""))
    print(f"[3/3] report: {report} (CSV {report.with_suffix('.csv').name}, figure "
          f"{report.with_suffix('.png').name})")
    print()
    print(f"{'method':20s} {'model acc':>10s} {'physical acc':>13s} {'paper':>7s} {'queries':>9s}")
    for r in sorted(rows, key=lambda r: list(METHODS).index(r["variant"])):
        paper = paper_lookup(r["variant"]).get(("mnist", 0.0, PHASE_STD))
        print(f"{LABELS[r['variant']]:20s} {float(r['model_test_acc']):10.3f} "
              f"{float(r['physical_test_acc']):13.3f} {paper if paper is not None else '':>7} "
              f"{int(r['queries']):9d}")
    print(f"(physical = the system with hidden phase errors std {PHASE_STD} rad; model = the ideal "
          f"model; {scale} scale)")
    print(f"outputs: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
