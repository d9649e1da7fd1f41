"""Tutorial 2: train your own diffractive network, deploy it on erroneous hardware, fix it with DAT.

The ``dpnn-cpu`` preset is a D2NN (Lin et al., Science 2018) scaled for a CPU: 3 phase masks of
64 x 64 pixels (pitch 0.4 mm, wavelength 0.75 mm, 30 mm gaps), ten square detector regions.

1. **In silico**: train the ideal model (:func:`photonic_dat.training.run.train`).
2. **Deploy**: the trained masks on a simulated system with one *joint* systematic error
   (lateral shift of every mask, std 0.5 px; gap distance, std 2 %; fabrication phase error,
   std 0.3 rad with 2 px correlation; error seed 0), with
   :func:`photonic_dat.training.deploy.deploy`: the physical accuracy drops.
3. **DAT**: dual adaptive training with internal states (cameras at every mask plane),
   started from the in-silico network (``train.init_from``), against that same system.
4. **Plot** the DAT run with :func:`photonic_dat.viz.plot_run` (curves, confusion matrix,
   phase maps, plane intensities, SEPN corrections).

Usage::

    python docs/tutorial_dpnn.py                # 10k images, 3 + 2 epochs (estimate: 10-20 min)
    python docs/tutorial_dpnn.py --tiny         # seconds (CI): 32 x 32 px, 2 masks, 300 images
    python docs/tutorial_dpnn.py --out runs/tut2 --epochs 6 --train-subset 55000

``PHOTONIC_DAT_TUTORIAL_TINY=1`` has the effect of ``--tiny``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from photonic_dat.config import load_config
from photonic_dat.training.deploy import deploy
from photonic_dat.training.run import load_data, train
from photonic_dat.viz import plot_run

#: the joint systematic error of the hidden hardware (see experiments/dpnn_joint_smoke.sh)
ERRORS = {"shift_std": 0.5, "distance_std": 0.02, "fab_phase_std": 0.3, "fab_corr_length": 2.0}
ERROR_SEED = 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=None, help="output folder (default: a new temp folder)")
    p.add_argument("--tiny", action="store_true", help="seconds-long smoke run (CI)")
    p.add_argument("--epochs", type=int, default=None, help="in-silico epochs (DAT: 2/3 of them)")
    p.add_argument("--train-subset", type=int, default=None, help="training images")
    args = p.parse_args(argv)
    if os.environ.get("PHOTONIC_DAT_TUTORIAL_TINY") == "1":
        args.tiny = True
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="photonic-dat-dpnn-"))
    out.mkdir(parents=True, exist_ok=True)
    if args.tiny:
        base = ["model.n=32", "model.padding=3", "model.layers=2",
                "dataset.val_size=100", "dataset.test_subset=200", "train.batch_size=50",
                "train.threads=1"]
        epochs, dat_epochs, warmup = 1, 1, 0
    else:
        base = ["dataset.val_size=2000", "dataset.test_subset=2000"]
        epochs = args.epochs or 3
        dat_epochs, warmup = max(1, round(2 * epochs / 3)), 1
    base.append(f"dataset.train_subset={args.train_subset or (300 if args.tiny else 10000)}")

    # 1. in silico: the ideal model, no errors
    cfg = load_config("dpnn-cpu", [*base, "train.method=insilico", f"train.epochs={epochs}"])
    m = cfg.model
    print(f"[1/4] in-silico training: {m.layers} masks of {m.n} x {m.n} px, {cfg.dataset.name}, "
          f"{cfg.dataset.train_subset} images, {epochs} epoch(s)")
    data = load_data(cfg)
    insilico = train(cfg, out / "insilico", data=data, progress=False)
    print(f"      model test accuracy {insilico['model_test_acc']:.3f}; run: {out / 'insilico'}")

    # 2. direct deployment on the erroneous system (same error seed as the DAT run below)
    row = deploy(out / "insilico", [ERRORS], draws=1, first_error_seed=ERROR_SEED, progress=False)[0]
    spec = ", ".join(f"{k}={v:g}" for k, v in ERRORS.items())
    print(f"[2/4] direct deployment with {spec} (error seed {ERROR_SEED}): physical test accuracy "
          f"{row['physical_test_acc']:.3f}")

    # 3. DAT with internal states, from the in-silico network, against the same hidden errors
    sets = [*base, "train.method=dat", "dat.internal_states=unitary", f"train.epochs={dat_epochs}",
            f"dat.warmup_epochs={warmup}", f"train.init_from={out / 'insilico'}",
            "train.lr=0.003", f"system.error_seed={ERROR_SEED}",
            *(f"errors.{k}={v}" for k, v in ERRORS.items())]
    dat_cfg = load_config("dpnn-cpu", sets)
    print(f"[3/4] DAT w/ IS: {dat_epochs} epoch(s) on the erroneous system")
    dat = train(dat_cfg, out / "dat", data=data, progress=False)
    print(f"      physical test accuracy {dat['physical_test_acc']:.3f} after {dat['queries']} "
          f"hardware queries; run: {out / 'dat'}")

    # 4. figures of the DAT run
    figures = plot_run(out / "dat")
    print(f"[4/4] figures: {', '.join(p.name for p in figures)} in {figures[0].parent}")

    print()
    print(f"{'':28s} {'test accuracy':>13s}")
    print(f"{'in silico (ideal model)':28s} {insilico['model_test_acc']:13.3f}")
    print(f"{'direct deployment':28s} {row['physical_test_acc']:13.3f}")
    print(f"{'DAT w/ IS (physical)':28s} {dat['physical_test_acc']:13.3f}")
    print(f"outputs: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
