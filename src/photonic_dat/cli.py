"""The ``photonic-dat`` command line.

Every mistake a user can make ends in one line on stderr (``photonic-dat: error: ...``) and
exit status 2; nothing else imports this module.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from . import __version__


class UserError(Exception):
    """A mistake the user can fix: printed as one line."""


def _parse_values(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"cannot read numbers from {text!r}; write e.g. 0.02,0.04") from None


def _parse_assignments(items: list[str] | None) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for item in items or []:
        for part in item.split(";"):
            if not part.strip():
                continue
            if "=" not in part:
                raise UserError(f"{part!r} must look like key=value (e.g. phase_std=0.08)")
            key, value = part.split("=", 1)
            out[key.strip()] = _parse_values(value)
    return out


def cmd_train(args: argparse.Namespace) -> int:
    from .config import load_config
    from .training.run import train

    overrides = list(args.set or [])
    if args.method:
        overrides.append(f"train.method={args.method}")
    if args.epochs:
        overrides.append(f"train.epochs={args.epochs}")
    if args.data_dir:
        overrides.append(f"dataset.data_dir={args.data_dir}")
    if args.resume:
        run_dir = Path(args.resume)
        if not (run_dir / "config.yaml").exists():
            raise UserError(f"cannot resume: {run_dir}/config.yaml not found")
        cfg = load_config(run_dir / "config.yaml", overrides)
    else:
        if args.config is None:
            raise UserError("train needs CONFIG (a preset name or a YAML file) or --resume RUN_DIR")
        cfg = load_config(args.config, overrides)
        run_dir = Path(args.out) if args.out else None
    summary = train(cfg, run_dir, resume=bool(args.resume), progress=not args.quiet)
    from .training import distributed

    if distributed.is_main():
        print(json.dumps(summary, indent=2))
        if not args.no_plot:
            _plot_quietly(summary["run_dir"])
    return 0


def cmd_train_ensemble(args: argparse.Namespace) -> int:
    from .config import load_config
    from .training.checkpoint import exists as checkpoint_exists
    from .training.ensemble import train_ensemble

    cfgs = []
    for run_dir in args.run_dirs:
        path = Path(run_dir) / "config.yaml"
        if not path.exists():
            raise UserError(f"ensemble member {run_dir}: {path} not found (write each member's "
                            "config first, e.g. with `photonic-dat reproduce --ensemble`)")
        cfgs.append(load_config(path, list(args.set or [])))
    group = Path(args.group)
    summaries = train_ensemble(cfgs, args.run_dirs, group,
                               resume=checkpoint_exists(group / "checkpoint.pt"),
                               progress=not args.quiet)
    print(json.dumps([{k: s[k] for k in ("run_dir", "seed", "error_seed", "physical_test_acc")}
                      for s in summaries], indent=2))
    return 0


def _plot_quietly(run_dir: str) -> None:
    """Figures at the end of a run; a plotting problem never fails a finished training."""
    try:
        from .viz import plot_run

        plot_run(run_dir)
        print(f"figures: {Path(run_dir) / 'figures'}", file=sys.stderr)
    except Exception as exc:  # noqa: BLE001 - figures are a convenience
        print(f"photonic-dat: warning: no figures ({type(exc).__name__}: {exc})", file=sys.stderr)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .config import usable_device
    from .summary import flatten, write_rows
    from .training.deploy import deploy, expand_sweep

    base = {k: v[0] for k, v in _parse_assignments(args.errors).items()}
    sweeps = _parse_assignments(args.sweep)
    if args.draws < 1:
        raise UserError(f"--draws {args.draws} must be >= 1")
    rows = deploy(args.run_dir, expand_sweep(base, sweeps), draws=args.draws,
                  first_error_seed=args.error_seed, progress=not args.quiet,
                  device=usable_device(args.device))
    flat = [flatten(r) for r in rows]
    for r in flat:
        errs = ", ".join(f"{k}={v:g}" for k, v in rows[flat.index(r)]["errors"].items() if v)
        print(f"{errs or 'error-free':40s} draw {r['error_seed']}: physical test acc "
              f"{r['physical_test_acc']:.4f} (final epoch {r['physical_test_acc_final']:.4f})")
    if args.csv:
        print(f"wrote {write_rows(flat, args.csv)}")
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    from .config import preset_names

    for name in preset_names():
        print(name)
    return 0


def cmd_export_data(args: argparse.Namespace) -> int:
    from .data import canonical_name, export_idx

    try:
        name = canonical_name(args.dataset)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    try:
        files = export_idx(name, Path(args.dir), data_dir=args.data_dir)
    except (NotADirectoryError, FileExistsError, PermissionError) as exc:
        raise UserError(f"cannot write into {args.dir}: {exc}") from exc
    print(f"{name}: {len(files)} IDX files in {Path(args.dir)} "
          f"(load them elsewhere with --data-dir {args.dir})")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(out=Path(args.out), quick=args.quick)
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from .report import sweep_report
    from .sweep import collect, error_keys, load_spec, run_sweep

    spec = load_spec(args.spec)
    for item in args.set or []:
        if "=" not in item:
            raise UserError(f"--set {item!r} must look like section.key=value")
        key, value = item.split("=", 1)
        import yaml

        spec.overrides[key.strip()] = yaml.safe_load(value)
    for name in ("seeds", "draws", "epochs", "jobs"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UserError(f"--{name} {value} must be >= 1")
    only = args.only.split(",") if args.only else None
    root = Path(args.out) / spec.name
    if not args.report_only:
        counts = run_sweep(spec, root, seeds=args.seeds, draws=args.draws, epochs=args.epochs,
                           jobs=args.jobs or 1, only=only, progress=not args.quiet,
                           ensemble=args.ensemble)
        print(f"{spec.name}: {counts['jobs']} jobs, {counts['skipped']} already done, "
              f"{counts['ran']} ran, {counts['failed']} failed, {counts['wall_s']:.0f} s")
    rows = collect(spec, root, seeds=args.seeds, draws=args.draws, only=only)
    command = "photonic-dat reproduce " + " ".join(sys.argv[2:]) if sys.argv[1:2] == [
        "reproduce"] else ""
    md = sweep_report(spec.name, rows, Path(args.report_dir) if args.report_dir else root, command,
                      keys=error_keys(spec))
    print(f"report: {md}")
    return 0


def cmd_compare_paper(args: argparse.Namespace) -> int:
    from .paper_compare import compare_paper

    print(f"report: {compare_paper([Path(p) for p in args.csv], Path(args.out))}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .export import export_run

    options: dict = {"which": args.which}
    for item in args.option or []:
        if "=" not in item:
            raise UserError(f"--option {item!r} must look like key=value")
        key, value = item.split("=", 1)
        try:
            options[key] = float(value) if key not in ("lut", "calibration", "stl_units",
                                                       "stl_format") else value
        except ValueError:
            options[key] = value
        if key in ("bits", "lut_bits"):
            options[key] = int(float(value))
        if key in ("stl", "clip"):
            options[key] = value.lower() in ("1", "true", "yes")
    out = Path(args.out) if args.out else Path(args.run_dir) / "export" / args.format
    try:
        paths = export_run(args.run_dir, args.format, out, **options)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    for p in paths:
        print(p)
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from .viz import plot_run

    for path in plot_run(args.run_dir, sample=args.sample):
        print(path)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import BENCHES, run

    names = args.names or None
    for n in names or []:
        if n not in BENCHES:
            raise UserError(f"unknown benchmark {n!r}; available: {', '.join(BENCHES)}")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    run(names, out_dir=args.out, repeats=args.repeats)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="photonic-dat",
        description="Train photonic neural networks that keep their accuracy on real hardware.",
    )
    p.add_argument("--version", action="version", version=f"photonic-dat {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a network (in-silico, noise-aware, PAT or DAT)")
    t.add_argument("config", nargs="?", help="preset name (see `presets`) or YAML file")
    t.add_argument("--method", choices=["insilico", "noise_aware", "pat", "dat", "oracle"],
                   help="oracle: train through the simulated hardware's exact error model (an "
                   "upper bound for simulation studies)")
    t.add_argument("--epochs", type=int)
    t.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a config value, e.g. --set errors.phase_std=0.08")
    t.add_argument("--data-dir", help="folder with the four IDX files of the dataset")
    t.add_argument("--out", help="run directory (default runs/<preset>-<method>-...)")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run")
    t.add_argument("--quiet", action="store_true", help="no progress output")
    t.add_argument("--no-plot", action="store_true", help="skip the figures at the end")
    t.set_defaults(func=cmd_train)

    te = sub.add_parser(
        "train-ensemble", help="train several runs of a mesh network in one vectorised process",
        description="Train the runs whose config.yaml lie in RUN_DIR... (they may differ only in "
        "train.seed, system.error_seed and train.init_from) as one ensemble; each RUN_DIR gets "
        "an ordinary run's files. GROUP holds the ensemble's checkpoint: rerun to resume.")
    te.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    te.add_argument("--group", required=True, help="directory of the ensemble's checkpoint")
    te.add_argument("--set", action="append", metavar="KEY=VALUE",
                    help="override a config value of every member")
    te.add_argument("--quiet", action="store_true", help="no progress output")
    te.set_defaults(func=cmd_train_ensemble)

    e = sub.add_parser("evaluate", help="deploy a trained run on systems with given errors")
    e.add_argument("run_dir")
    e.add_argument("--errors", action="append", metavar="KEY=VALUE",
                   help="error spec, e.g. --errors phase_std=0.08 (default: the run's own)")
    e.add_argument("--sweep", action="append", metavar="KEY=V1,V2,...",
                   help="vary one error key alone, e.g. --sweep phase_std=0.02,0.04")
    e.add_argument("--draws", type=int, default=1, help="error realisations per setting")
    e.add_argument("--error-seed", type=int, default=0, help="seed of the first realisation")
    e.add_argument("--csv", help="write one row per (setting, draw) to this CSV")
    e.add_argument("--device", default="cpu", help="where to simulate: cpu (default), cuda, cuda:N")
    e.add_argument("--quiet", action="store_true")
    e.set_defaults(func=cmd_evaluate)

    d = sub.add_parser("demo", help="direct deployment vs PAT vs DAT on MNIST in a few minutes")
    d.add_argument("--out", default="runs/demo")
    d.add_argument("--quick", action="store_true", help="an even smaller smoke version")
    d.set_defaults(func=cmd_demo)

    r = sub.add_parser("reproduce", help="run a reproduction sweep and write its report")
    from .sweep import spec_names
    r.add_argument("spec", help=f"sweep name ({', '.join(spec_names())}) or YAML")
    r.add_argument("--seeds", type=int, help="training seeds (default: the spec's)")
    r.add_argument("--draws", type=int, help="error draws per setting (default: the spec's)")
    r.add_argument("--epochs", type=int, help="epochs per run (default: the preset's)")
    r.add_argument("--jobs", type=int, help="parallel worker processes (one thread each)")
    r.add_argument("--ensemble", action="store_true",
                   help="train the seeds of each point of a mesh sweep in one vectorised process "
                   "(train-ensemble)")
    r.add_argument("--only", help="comma-separated method labels of the spec to run")
    r.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="config override for every point, e.g. --set train.device=cuda")
    r.add_argument("--out", default="runs/sweeps", help="root of the point run directories")
    r.add_argument("--report-dir", help="where CSV/figure/Markdown go (default: the sweep's own folder, "
                   "OUT/SPEC_NAME)")
    r.add_argument("--report-only", action="store_true", help="only collect and report")
    r.add_argument("--quiet", action="store_true")
    r.set_defaults(func=cmd_reproduce)

    c = sub.add_parser("compare-paper", help="every published MPNN number beside ours (from "
                       "sweep CSVs), and the reproduction claims checked")
    c.add_argument("csv", nargs="+", help="run CSVs written by reproduce (e.g. results/mpnn/*.csv)")
    c.add_argument("--out", default="results/mpnn/paper_comparison.md",
                   help="Markdown report; the table (.csv) and figure (.png) go beside it")
    c.set_defaults(func=cmd_compare_paper)

    x = sub.add_parser("export", help="take a trained network to the lab (SLM, 3D print, MZI)")
    x.add_argument("run_dir")
    x.add_argument("--format", required=True,
                   choices=["npz", "mzi-csv", "mzi-json", "slm-png", "height"])
    x.add_argument("--which", default="selected", choices=["selected", "final"])
    x.add_argument("--out", help="output folder (default RUN_DIR/export/FORMAT)")
    x.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="format options, e.g. lut=lut.csv, bits=16, refractive_index=1.7, "
                        "p_2pi_mw=30, calibration=heater.csv")
    x.set_defaults(func=cmd_export)

    pl = sub.add_parser("plot", help="figures of a finished run (into RUN_DIR/figures)")
    pl.add_argument("run_dir")
    pl.add_argument("--sample", type=int, default=0, help="test sample shown in plane figures")
    pl.set_defaults(func=cmd_plot)

    b = sub.add_parser("bench", help="performance benchmarks (ratios against in-run references)")
    b.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    b.add_argument("--out", default="results/bench")
    b.add_argument("--repeats", type=int, default=5)
    b.add_argument("--threads", type=int, default=0)
    b.set_defaults(func=cmd_bench)

    xd = sub.add_parser("export-data", help="write a dataset as gzipped IDX files, for a machine "
                        "without its package (offline cluster node, GPU machine)")
    xd.add_argument("dataset", help="mnist or fashion-mnist")
    xd.add_argument("dir", help="folder to write the four files into")
    xd.add_argument("--data-dir", default=None, help="read from this IDX folder instead")
    xd.set_defaults(func=cmd_export_data)

    s = sub.add_parser("presets", help="list the built-in presets")
    s.set_defaults(func=cmd_presets)
    return p


def main(argv: list[str] | None = None) -> int:
    from .allocator import configure
    from .config import ConfigError
    from .data import DataFormatError, DataNotFoundError
    from .errors import ErrorSpecError
    from .paper_compare import ComparisonError
    from .sweep import SweepError
    from .training.checkpoint import CheckpointError
    from .training.loop import TrainingDiverged

    configure()
    parser = build_parser()
    args = parser.parse_args(argv)
    # SIGTERM (a scheduler's time limit, `kill`, a sweep stopping its trainings) ends a command
    # as Ctrl-C does: a training keeps its last checkpoint and says how to resume
    in_main = threading.current_thread() is threading.main_thread()  # signals are its own
    on_term = signal.signal(signal.SIGTERM, signal.default_int_handler) if in_main else None
    try:
        return int(args.func(args) or 0)
    except (UserError, ConfigError, ErrorSpecError, DataNotFoundError, DataFormatError,
            TrainingDiverged, CheckpointError, FileNotFoundError, SweepError,
            ComparisonError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"photonic-dat: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        how = {cmd_reproduce: "; rerun the same command to resume",
               cmd_train_ensemble: "; rerun the same command to resume",
               cmd_train: "; resume with `photonic-dat train --resume RUN_DIR`"}
        print(f"photonic-dat: interrupted{how.get(args.func, '')}", file=sys.stderr)
        return 130
    finally:
        if in_main:  # on_term None: the old handler was not set from Python; restore the default
            signal.signal(signal.SIGTERM, signal.SIG_DFL if on_term is None else on_term)


if __name__ == "__main__":
    sys.exit(main())
