"""Tutorial 3: connect your hardware: a camera + SLM diffractive bench in the training loop.

The bench here is :class:`photonic_dat.system.SimulatedLabDevices` (the simulator with hidden
errors behind the same four device calls a real bench implements: ``upload_phase``,
``show_input``, ``grab_frame``, ``set_exposure``), so the tutorial runs anywhere. With a lab,
replace it by your own :class:`photonic_dat.system.LabDevices` subclass (see
``docs/lab_adapter.md``); nothing else changes.

1. **Network**: a diffractive network trained in silico (or ``--run RUN_DIR``, a finished
   diffractive run, e.g. ``<out>/insilico`` of ``docs/tutorial_dpnn.py``).
2. **Bench**: SLMs behind an 8-bit phase LUT, cameras at every plane; their position on the
   camera chips, gain and dark level are unknown to the software.
3. **Exposure and calibration**: :func:`~photonic_dat.system.lab.auto_exposure` per camera, then
   :func:`~photonic_dat.system.lab.calibrate` (dark frame, crop by correlating probe frames
   with the model's predictions, intensity scale by least squares); the detector regions are
   checked to land inside the calibrated camera area. Calibrations are saved (``.npz``).
4. **System**: :class:`~photonic_dat.system.CameraSLMSystem`, wrapped in
   :class:`~photonic_dat.system.RobustSystem` (timeouts, retries, measurement log).
5. **Train on the bench**: DAT with internal states (or ``--method pat``) built with
   ``METHOD_CLASSES`` and run by the ordinary :class:`~photonic_dat.training.loop.Trainer` (run
   directory with metrics, checkpoints, summary).
6. **Export** the trained masks as SLM bitmaps through the LUT
   (:func:`photonic_dat.export.export_slm_bitmaps`), with the LUT as CSV and a ``.npz``.

Usage::

    python docs/tutorial_hardware.py                 # 64 x 64 px, 3 masks (7 min on 2 busy cores)
    python docs/tutorial_hardware.py --tiny          # seconds (CI)
    python docs/tutorial_hardware.py --run runs/tut2/insilico --method pat --out runs/tut3

``PHOTONIC_DAT_TUTORIAL_TINY=1`` has the effect of ``--tiny``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import yaml

from photonic_dat.config import load_config
from photonic_dat.errors import DiffractiveErrorSpec
from photonic_dat.export import PhaseLUT, export_npz, export_slm_bitmaps
from photonic_dat.system import CameraSLMSystem, RobustSystem, SimulatedLabDevices
from photonic_dat.system.lab import auto_exposure, calibrate, calibration_images
from photonic_dat.training.deploy import load_run
from photonic_dat.training.evaluate import accuracy, physical_predictions
from photonic_dat.training.loop import Trainer
from photonic_dat.training.run import METHOD_CLASSES, load_data, summary_base, train

#: what the bench hides from the software (the simulator's side of the story)
HIDDEN_ERRORS = DiffractiveErrorSpec(shift_std=0.5, distance_std=0.02, fab_phase_std=0.3,
                                     fab_corr_length=2.0)
HIDDEN_OFFSETS = {0: (7, 21), 1: (12, 9), 2: (4, 30), 3: (15, 15)}  # (row, col) per camera
MAGNIFICATION = 2  # camera pixels per model pixel (from the optics: known)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=None, help="output folder (default: a new temp folder)")
    p.add_argument("--tiny", action="store_true", help="seconds-long smoke run (CI)")
    p.add_argument("--run", type=Path, default=None, help="a finished diffractive run to start from")
    p.add_argument("--method", choices=("dat", "pat"), default="dat")
    p.add_argument("--epochs", type=int, default=None)
    args = p.parse_args(argv)
    if os.environ.get("PHOTONIC_DAT_TUTORIAL_TINY") == "1":
        args.tiny = True
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="photonic-dat-hardware-"))
    out.mkdir(parents=True, exist_ok=True)
    if args.tiny:
        torch.set_num_threads(1)
        model_sets = ["model.n=32", "model.padding=3", "model.layers=2"]
        sets = ["dataset.train_subset=200", "dataset.val_size=100", "dataset.test_subset=100",
                "train.batch_size=50"]
        epochs = args.epochs or 1
        insilico_sets = ["train.epochs=1"]
    else:
        model_sets = []
        sets = ["dataset.train_subset=2000", "dataset.val_size=500", "dataset.test_subset=1000",
                "train.batch_size=50"]
        epochs = args.epochs or 2
        insilico_sets = ["train.epochs=3", "dataset.train_subset=10000"]

    # 1. the network to put on the bench
    if args.run is not None:
        cfg, model, _ = load_run(args.run)
        if cfg.model.kind != "diffractive":
            print(f"--run {args.run} is a {cfg.model.kind} network; this tutorial needs a diffractive one",
                  file=sys.stderr)
            return 2
        cfg = load_config(args.run / "config.yaml", sets)
        print(f"[1/6] network: {args.run} ({cfg.model.layers} masks of {cfg.model.n} x {cfg.model.n} px)")
    else:
        cfg = load_config("dpnn-cpu", [*model_sets, *sets, *insilico_sets])
        print(f"[1/6] network: training {cfg.model.layers} masks of {cfg.model.n} x {cfg.model.n} px in "
              f"silico, {cfg.train.epochs} epoch(s) on {cfg.dataset.train_subset} images")
        train(cfg, out / "insilico", progress=False)
        _, model, _ = load_run(out / "insilico")
        cfg = load_config("dpnn-cpu", [*model_sets, *sets])
    data = load_data(cfg)
    n, layers = model.n, model.layers

    # 2. the bench (with your lab: your LabDevices subclass here)
    slm_lut = PhaseLUT.linear(bits=8)  # measured in a lab: PhaseLUT.from_csv("slm_lut.csv")
    cameras = list(range(layers + 1)) if args.method == "dat" else [layers]
    bench = SimulatedLabDevices(model, HIDDEN_ERRORS, error_seed=0, slm_lut=slm_lut, cameras=cameras,
                                offset={p: HIDDEN_OFFSETS[p] for p in cameras},
                                magnification=MAGNIFICATION)
    print(f"[2/6] bench: {layers} SLMs (8-bit LUT), cameras at planes {cameras} "
          f"({bench.frame_shape[0]} x {bench.frame_shape[1]} px, 16 bit)")

    # 3. exposure (half the camera range for typical inputs and the probes), then calibration
    #    with probe images of bright rectangles (flat masks on the SLMs)
    probes = model.encode(calibration_images(8))
    typical = model.encode(data.val[0][:8])
    bench.show_input(np.zeros((n, n), np.float32))  # light off: the dark level of each camera
    darks = {p: float(np.median(bench.grab_frame(p))) for p in cameras}
    print("[3/6] exposure and calibration")
    for p in cameras:
        amps = torch.cat([probes, typical]).abs().numpy()
        e = auto_exposure(bench, p, amps, full_scale=bench.full_scale, dark=darks[p], start_s=1.0)
        print(f"      plane {p}: exposure {e:.3g} s (dark level {darks[p]:.0f} counts)")
    cals = calibrate(bench, model, slm_lut, probes, size=n * MAGNIFICATION, planes=cameras)
    for p, cal in cals.items():
        path = cal.save(out / f"calibration_plane{p}.npz")
        row, col = HIDDEN_OFFSETS[p]
        print(f"      plane {p}: crop (x0, y0, x1, y1) = {cal.crop} (the bench hides x0, y0 = "
              f"{col}, {row}), scale {cal.scale:.3g} per count -> {path.name}")

    # 4. the PhysicalSystem: camera + SLM adapter in a robust wrapper with a measurement log
    lab = CameraSLMSystem.for_model(model, bench, slm_lut, cals, planes_with_cameras=cameras,
                                    max_counts=bench.full_scale)
    system = RobustSystem(lab, timeout_s=60.0, retries=2, log_path=out / "measurements.jsonl")
    images, labels = data.test
    before = accuracy(physical_predictions(model, system, images, 500), labels)
    system.queries = 0  # count the training queries only
    print(f"[4/6] system ready; physical test accuracy of the network as it is: {before:.3f}")

    # 5. train on the bench: the ordinary method and loop, with the lab system
    method_sets = [*([] if args.run else model_sets), *sets, f"train.method={args.method}",
                   f"train.epochs={epochs}", "train.lr=0.003", "dat.internal_states=unitary",
                   "dat.warmup_epochs=0", "train.eval_batch_size=500"]
    tcfg = load_config(args.run / "config.yaml" if args.run else "dpnn-cpu", method_sets)
    torch.manual_seed(tcfg.train.seed)
    method = METHOD_CLASSES[args.method](model, system, tcfg)
    run_dir = out / f"{args.method}_run"
    run_dir.mkdir(exist_ok=True)  # a normal run directory: `photonic-dat export/plot` work on it
    (run_dir / "config.yaml").write_text(yaml.safe_dump(tcfg.to_dict(), sort_keys=False))
    trainer = Trainer(method, data, run_dir,
                      {**summary_base(tcfg), "system": "CameraSLMSystem(SimulatedLabDevices)"},
                      progress=False)
    summary = trainer.fit()
    model.load_state_dict(torch.load(run_dir / "selected.pt", weights_only=False)["model"])
    print(f"[5/6] {args.method.upper()} on the bench: {epochs} epoch(s), {summary['queries']} training "
          f"queries; physical test accuracy {summary['physical_test_acc']:.3f} (selected epoch "
          f"{summary['selected_epoch']}); run: {run_dir}")
    system.close()
    lab.close()

    # 6. export what the SLMs must show
    masks = {name: p for name, p in model.physical_params().items() if p.ndim == 2}
    pngs = export_slm_bitmaps(masks, slm_lut, out / "slm")
    slm_lut.to_csv(out / "slm" / "lut.csv")
    npz = export_npz(model, out / "model.npz")
    print(f"[6/6] SLM bitmaps: {', '.join(p.name for p in pngs)} (+ lut.csv) in {out / 'slm'}; "
          f"network: {npz.name}")
    print()
    print(f"physical test accuracy: before {before:.3f}, after {args.method.upper()} "
          f"{summary['physical_test_acc']:.3f}")
    print(f"measurement log: {out / 'measurements.jsonl'}")
    print(f"outputs: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
