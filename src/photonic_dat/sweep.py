"""Reproduction sweeps: a YAML spec -> points -> ordinary run directories, resumable and parallel.

A spec (``sweeps/<name>.yaml`` in the package, or any YAML path) names datasets, error settings,
methods (label -> config overrides), seeds and draws. Every point is a run directory holding a
``summary.json``; a sweep skips finished points, resumes interrupted ones from their checkpoint,
and runs its training points in ``--jobs`` worker processes (each one thread). In-silico
methods are trained once per (dataset, seed) and *deployed* on every error setting and draw
(direct deployment); hardware-in-the-loop methods train one run per point. Training seed ``s``
and draw ``d`` use the simulated system with error seed ``s + 100 d``, for every method, so that
all methods of one (seed, draw) meet the same hardware.

Several sweep processes on one machine may work on the same sweep (e.g. one per core, or a
second started later with other ``--only`` methods): each training point is claimed with a lock
file before it runs, and a point finished by another process is skipped.
"""

from __future__ import annotations

import fcntl
import functools
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from tqdm.auto import tqdm

from .training.checkpoint import exists as checkpoint_exists
from .training.loop import atomic_write_text


class SweepError(ValueError):
    """A mistake in a sweep spec or invocation (one line)."""


@dataclass
class SweepSpec:
    name: str
    presets: dict[str, str]
    datasets: list[str]
    errors: list[dict[str, float]]
    methods: dict[str, dict[str, Any]]
    seeds: int = 1
    draws: int = 1
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    """One unit of work: a training run, or the deployment of a trained in-silico run."""

    kind: str  # "train" or "deploy"
    dataset: str
    variant: str
    seed: int
    draw: int
    errors: tuple[tuple[str, float], ...]
    run_dir: Path
    source: Path | None = None  # for deploy: the trained in-silico run

    @property
    def error_seed(self) -> int:
        return self.seed + 100 * self.draw

    @property
    def done(self) -> bool:
        return (self.run_dir / "summary.json").exists()


def spec_names() -> list[str]:
    root = resources.files("photonic_dat") / "sweeps"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def load_spec(source: str | Path) -> SweepSpec:
    path = Path(str(source))
    if path.suffix in (".yaml", ".yml"):
        if not path.exists():
            raise SweepError(f"sweep spec {str(path)!r} does not exist")
        text = path.read_text()
    elif str(source) in spec_names():
        text = (resources.files("photonic_dat") / "sweeps" / f"{source}.yaml").read_text()
    else:
        raise SweepError(f"unknown sweep {str(source)!r}; available: {', '.join(spec_names())}")
    data = yaml.safe_load(text) or {}
    allowed = {"name", "presets", "datasets", "errors", "methods", "seeds", "draws", "overrides"}
    for key in data:
        if key not in allowed:
            raise SweepError(f"unknown sweep key {key!r}; allowed: {', '.join(sorted(allowed))}")
    for key in ("name", "presets", "datasets", "errors", "methods"):
        if key not in data:
            raise SweepError(f"sweep spec {str(source)!r} lacks {key!r}")
    spec = SweepSpec(**data)
    for ds in spec.datasets:
        if ds not in spec.presets:
            raise SweepError(f"sweep {spec.name}: dataset {ds!r} has no preset in 'presets'")
    if path.suffix in (".yaml", ".yml") and spec.name in spec_names():
        _check_slice(spec, load_spec(spec.name), path)
    return spec


def _check_slice(spec: SweepSpec, base: SweepSpec, path: Path) -> None:
    """A YAML named like a built-in sweep writes into that sweep's point directories, so what
    defines a point (method settings, overrides, presets) must be the built-in's."""
    where = f"{path} slices the built-in sweep {base.name!r} but"
    for label, settings in spec.methods.items():
        if label in base.methods and settings != base.methods[label]:
            raise SweepError(f"{where} its method {label!r} differs: {settings} vs "
                             f"{base.methods[label]}; rename the method or the sweep")
    if spec.overrides != base.overrides:
        raise SweepError(f"{where} its overrides differ: {spec.overrides} vs {base.overrides}")
    for ds in spec.datasets:
        if ds in base.presets and spec.presets[ds] != base.presets[ds]:
            raise SweepError(f"{where} its preset for {ds!r} differs: {spec.presets[ds]!r} vs "
                             f"{base.presets[ds]!r}")


def expand_errors(entries: list[dict[str, Any]]) -> list[dict[str, float]]:
    """Each entry: scalar values fixed, list values crossed; entries concatenated."""
    out = []
    for entry in entries:
        keys = list(entry)
        values = [v if isinstance(v, list) else [v] for v in entry.values()]
        for combo in itertools.product(*values):
            out.append({k: float(v) for k, v in zip(keys, combo, strict=True)})
    return out


def error_keys(spec: SweepSpec) -> tuple[str, ...]:
    """The error fields a sweep varies, in the order the spec first names them."""
    return tuple(dict.fromkeys(k for e in expand_errors(spec.errors) for k in e))


def error_tag(errors: dict[str, float]) -> str:
    parts = [f"{k.replace('_std', '')}{v:g}" for k, v in sorted(errors.items()) if v]
    return "_".join(parts) or "ideal"


def _is_insilico(overrides: dict[str, Any]) -> bool:
    return overrides.get("train.method", "insilico") == "insilico"


def _ensemble_capable(overrides: dict[str, Any]) -> bool:
    """Whether a method's points can train as one ensemble (the mesh-parameter SEPN cannot:
    it holds a single mesh; nor can a run that rolls back to its own best epoch)."""
    return overrides.get("dat.sepn") != "mesh" and not float(overrides.get("train.rollback", 0))


def plan(spec: SweepSpec, root: Path, seeds: int | None = None, draws: int | None = None,
         only: list[str] | None = None) -> list[Job]:
    """All jobs of a sweep (training jobs first, then deployments)."""
    seeds = seeds or spec.seeds
    draws = draws or spec.draws
    variants = {k: v for k, v in spec.methods.items() if not only or k in only}
    if only:
        missing = [o for o in only if o not in spec.methods]
        if missing:
            raise SweepError(f"--only {missing[0]!r} is not a method of {spec.name}; "
                             f"methods: {', '.join(spec.methods)}")
    settings = expand_errors(spec.errors)
    train, deploy = [], []
    for ds, (variant, over), seed in itertools.product(spec.datasets, variants.items(),
                                                       range(seeds)):
        if _is_insilico(over):
            trained = root / ds / variant / f"train-s{seed}"
            train.append(Job("train", ds, variant, seed, 0, (), trained))
            for errors, draw in itertools.product(settings, range(draws)):
                deploy.append(Job("deploy", ds, variant, seed, draw, tuple(errors.items()),
                                  root / ds / variant / error_tag(errors) / f"s{seed}-d{draw}",
                                  source=trained))
        else:
            for errors, draw in itertools.product(settings, range(draws)):
                train.append(Job("train", ds, variant, seed, draw, tuple(errors.items()),
                                 root / ds / variant / error_tag(errors) / f"s{seed}-d{draw}"))
    return train + deploy


def source_run(spec: SweepSpec, job: Job, root: Path) -> Path | None:
    """The run a hardware-in-the-loop point starts from (``train.init_from: "@VARIANT"``).

    ``"@direct_deploy"`` names the in-silico training of the same dataset and seed, so the point
    starts from the trained in-silico network, as a lab would; None when the point starts from
    scratch (or ``init_from`` is an ordinary path).
    """
    ref = {**spec.overrides, **spec.methods[job.variant]}.get("train.init_from")
    if not (isinstance(ref, str) and ref.startswith("@")):
        return None
    variant = ref[1:]
    if variant not in spec.methods or not _is_insilico(spec.methods[variant]):
        raise SweepError(f"sweep {spec.name}: train.init_from={ref!r} must name an in-silico "
                         f"method of the spec ({', '.join(spec.methods)})")
    return root / job.dataset / variant / f"train-s{job.seed}"


def point_overrides(spec: SweepSpec, job: Job, epochs: int | None, root: Path) -> list[str]:
    """The ``section.key=value`` settings of a training point over its preset."""
    sets = {**spec.overrides, **spec.methods[job.variant], "train.seed": job.seed,
            "system.error_seed": job.error_seed, "train.threads": 1}
    source = source_run(spec, job, root)
    if source is not None:
        sets["train.init_from"] = str(source)
    for k, v in job.errors:
        sets[f"errors.{k}"] = v
    if epochs:
        sets["train.epochs"] = epochs
        warm = sets.get("dat.warmup_epochs", 20)
        sets["dat.warmup_epochs"] = min(int(warm), round(epochs * 0.4))
    return [f"{k}={json.dumps(v) if isinstance(v, list) else v}" for k, v in sets.items()]


# settings that do not change what a point computes (bookkeeping, where it runs or finds its
# data), or that name the same run by another path
_UNCHECKED = {"train.init_from", "train.threads", "train.device", "train.checkpoint_every",
              "train.log_every", "train.eval_batch_size", "dataset.data_dir"}


def _started(job: Job) -> bool:
    """Whether a training point holds work a rerun would keep: finished, a checkpoint of its own,
    or one of the ensemble it trains in (without either, a rerun starts it afresh)."""
    if job.done or checkpoint_exists(job.run_dir / "checkpoint.pt"):
        return True
    return any(job.run_dir.name in group.name.removeprefix("ensemble-").split("+")
               and checkpoint_exists(group / "checkpoint.pt")
               for group in job.run_dir.parent.glob("ensemble-*"))


@functools.cache
def _preset_settings(preset: str) -> dict[str, Any]:
    """A preset's settings as a dict (read once per sweep run, not once per point; read-only)."""
    from .config import load_config

    return load_config(preset, validated=False).to_dict()


def _differs(section: str, a: Any, b: Any) -> bool:
    if section == "errors":  # an error left out is an error of 0
        return float(a or 0) != float(b or 0)
    return a != b


def stale_setting(spec: SweepSpec, job: Job, epochs: int | None, root: Path) -> str | None:
    """Why a started or finished point does not hold what the sweep asks for now (e.g.
    ``reproduce --set`` or ``--epochs`` over points trained without them, or a point trained
    with a ``--set`` the sweep no longer gives), or None. Such a point would otherwise be
    skipped or resumed with its own stored settings. Compared: the settings the sweep gives
    the point, and those in which the point's stored config departs from its preset."""
    from .config import ConfigError, load_config

    if job.kind == "deploy":
        if not job.done:
            return None
        met = json.loads((job.run_dir / "summary.json").read_text()).get("errors", {})
        for key, value in deploy_errors(spec, job).items():
            if key not in met or float(met[key]) != value:
                return f"was deployed with errors.{key}={met.get(key)}, this sweep asks for {value}"
        return None
    stored = job.run_dir / "config.yaml"
    if not stored.exists() or not _started(job):
        return None
    items = point_overrides(spec, job, epochs, root)
    try:
        have = load_config(stored, validated=False)
        want = load_config(spec.presets[job.dataset], items, validated=False)
        base = _preset_settings(spec.presets[job.dataset])
    except ConfigError as exc:
        return f"cannot be compared with this sweep's settings: {exc}"
    if have.preset != want.preset:
        return f"was trained on preset {have.preset!r}, this sweep asks for {want.preset!r}"
    have_d, want_d = have.to_dict(), want.to_dict()
    keys = {item.split("=", 1)[0] for item in items}
    keys |= {f"{section}.{name}" for section, values in have_d.items() if isinstance(values, dict)
             for name, value in values.items()
             if _differs(section, value, base[section].get(name))}
    insilico = _is_insilico(spec.methods[job.variant])
    for key in sorted(keys):
        section, _, name = key.partition(".")
        # an in-silico training never meets the hardware, and only DAT has DAT settings
        if (key in _UNCHECKED or not name or (insilico and section in ("errors", "system"))
                or (section == "dat" and want_d["train"]["method"] != "dat")):
            continue
        if _differs(section, want_d[section].get(name), have_d[section].get(name)):
            return (f"was trained with {key}={have_d[section].get(name)}, this sweep asks "
                    f"for {want_d[section].get(name)}")
    return None


def check_points(spec: SweepSpec, jobs: list[Job], epochs: int | None, root: Path) -> None:
    """Refuse to mix: every started or finished point must hold the sweep's current settings."""
    _preset_settings.cache_clear()  # a preset YAML may have changed since the last sweep
    stale = [(j, why) for j in jobs if (why := stale_setting(spec, j, epochs, root))]
    if stale:
        job, why = stale[0]
        raise SweepError(f"{job.run_dir} {why} ({len(stale)} point(s) differ); give these "
                         "settings their own --out, or move the old points away")


# where and how a point runs (settings that change nothing it computes): a resumed point takes
# them from the sweep run now, not from its stored config (a point interrupted on a GPU machine
# resumes on a CPU one)
_PLACEMENT = ("train.device", "train.threads", "train.eval_batch_size", "dataset.data_dir")
assert set(_PLACEMENT) <= _UNCHECKED


def placement_sets(spec: SweepSpec, job: Job, epochs: int | None, root: Path) -> list[str]:
    """``--set`` arguments for :data:`_PLACEMENT` as this sweep gives them, else as the
    point's preset has them."""
    given = dict(item.split("=", 1) for item in point_overrides(spec, job, epochs, root))
    preset = _preset_settings(spec.presets[job.dataset])
    args = []
    for key in _PLACEMENT:
        section, _, name = key.partition(".")
        if key in given:
            value = given[key]
        else:
            value = preset[section].get(name)
            value = value if isinstance(value, str) else json.dumps(value)  # None -> null
        args += ["--set", f"{key}={value}"]
    return args


def train_command(spec: SweepSpec, job: Job, epochs: int | None, root: Path) -> list[str]:
    base = [sys.executable, "-m", "photonic_dat", "train"]
    if checkpoint_exists(job.run_dir / "checkpoint.pt") and (job.run_dir / "config.yaml").exists():
        return [*base, "--resume", str(job.run_dir), "--quiet", "--no-plot",
                *placement_sets(spec, job, epochs, root)]
    args = []
    for item in point_overrides(spec, job, epochs, root):
        args += ["--set", item]
    return [*base, spec.presets[job.dataset], "--out", str(job.run_dir), "--quiet", "--no-plot",
            *args]


def group_dir(jobs: list[Job]) -> Path:
    """Where an ensemble of points (same setting, several seeds) keeps its checkpoint."""
    return jobs[0].run_dir.parent / ("ensemble-" + "+".join(j.run_dir.name for j in jobs))


def ensemble_command(spec: SweepSpec, jobs: list[Job], epochs: int | None,
                     root: Path) -> list[str]:
    """Write each member's config.yaml (a fresh ensemble) and return the train-ensemble call."""
    from .config import load_config

    group = group_dir(jobs)
    if not checkpoint_exists(group / "checkpoint.pt"):
        for job in jobs:
            cfg = load_config(spec.presets[job.dataset], point_overrides(spec, job, epochs, root))
            atomic_write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False),
                              job.run_dir / "config.yaml")
    return [sys.executable, "-m", "photonic_dat", "train-ensemble",
            *[str(j.run_dir) for j in jobs], "--group", str(group), "--quiet",
            *placement_sets(spec, jobs[0], epochs, root)]


LOCK_NAME = "sweep.lock"
NO_SOURCE = -1000  # _run_train's code for "the run this point starts from is missing"
STOPPED = -1002  # not started: the sweep was interrupted
_STOP = threading.Event()  # set once an interrupt reached the sweep or one of its trainings
_STOP_CODES = (130, -signal.SIGINT, -signal.SIGTERM)  # how a training that was stopped ends
_CHILDREN: set[subprocess.Popen] = set()  # the running training processes of this sweep
_CHILDREN_LOCK = threading.Lock()


def _start_child(cmd: list[str], log: Any,
                 pass_fds: tuple[int, ...]) -> subprocess.Popen | None:
    """Start a training process; None when the sweep is stopping (nothing is started)."""
    with _CHILDREN_LOCK:  # held across Popen: a stop either precedes the start or sees the child
        if _STOP.is_set():
            return None
        child = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, pass_fds=pass_fds)
        _CHILDREN.add(child)
    return child


def _stop_children() -> None:
    """Stop the sweep: no further point starts, and every running training gets SIGTERM (which
    it handles as Ctrl-C: it ends at its last checkpoint). The trainings are told directly, as
    an interrupt sent to the sweep process alone (``kill -INT``/``kill`` PID) does not reach
    them, and a process started in the background by a script ignores SIGINT."""
    _STOP.set()
    with _CHILDREN_LOCK:
        for child in _CHILDREN:
            if child.poll() is None:
                child.terminate()


def claim(run_dir: Path) -> int | None:
    """Lock the point (an exclusive ``flock`` on ``run_dir/sweep.lock``); returns the lock's
    file descriptor, or None when another process holds it. The lock is passed on to the
    training process, so the kernel keeps it until both the sweep and its trainer have exited,
    however they end; the file stays (git-ignored) and records the last holder for humans."""
    run_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(run_dir / LOCK_NAME, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, f"{socket.gethostname()} {os.getpid()}\n".encode())
    return fd


def release(fd: int) -> None:
    """Give up a lock taken by :func:`claim` (its trainer may still hold it until it exits)."""
    os.close(fd)


def _source_missing(spec: SweepSpec, job: Job, root: Path) -> int | None:
    """None when the run a point starts from is finished (or it starts from scratch); else
    ``NO_SOURCE``, or ``BUSY`` when another process is training it."""
    source = source_run(spec, job, root)
    if source is None or (source / "summary.json").exists():
        return None
    held = claim(source) if source.is_dir() else -1
    if held is None:
        return BUSY
    if held >= 0:
        release(held)
    return NO_SOURCE


BUSY = -1001  # internal: the point or its source is being trained by another process


def _run_train(spec: SweepSpec, job: Job, epochs: int | None,
               root: Path) -> tuple[Job, int | None]:
    """Train one point; the return code, or None when it was finished or is being trained by
    another sweep process in the meantime (several processes may work on one sweep), or
    ``NO_SOURCE`` when the run it starts from is missing."""
    return _run_group(spec, [job], epochs, root, ensemble=False)[0]


def _run_group(spec: SweepSpec, jobs: list[Job], epochs: int | None, root: Path,
               ensemble: bool = True) -> list[tuple[Job, int | None]]:
    """Train points (with ``ensemble``: the seeds of one setting, in one train-ensemble
    process); per point the return code as :func:`_run_train`."""
    results: list[tuple[Job, int | None]] = []
    ready: list[Job] = []
    locks: list[int] = []
    try:
        for job in jobs:
            missing = _source_missing(spec, job, root)
            if missing is not None:
                results.append((job, None if missing == BUSY else missing))
                continue
            fd = None if job.done else claim(job.run_dir)
            if fd is not None and job.done:  # finished between the check and the claim
                release(fd)
                fd = None
            if fd is None:
                results.append((job, None))
                continue
            ready.append(job)
            locks.append(fd)
        if not ready:
            return results
        if ensemble:
            log_path = group_dir(ready) / "train.log"
            try:
                cmd = ensemble_command(spec, ready, epochs, root)
            except (OSError, ValueError) as exc:  # a bad config: this group fails, not the sweep
                for job in ready:
                    with open(job.run_dir / "train.log", "a") as log:
                        log.write(f"cannot start the ensemble: {exc}\n")
                return results + [(job, 1) for job in ready]
        else:
            cmd = train_command(spec, ready[0], epochs, root)
            log_path = ready[0].run_dir / "train.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "a") as log:
            log.write(f"$ {' '.join(cmd)}\n")
            log.flush()
            child = _start_child(cmd, log, tuple(locks))
            if child is None:
                return results + [(job, STOPPED) for job in ready]
            try:
                rc = child.wait()
            finally:
                with _CHILDREN_LOCK:
                    _CHILDREN.discard(child)
        if rc != 0 and rc not in _STOP_CODES and ensemble:
            for job in ready:
                with open(job.run_dir / "train.log", "a") as log:
                    log.write(f"the ensemble training this point failed (exit {rc}): see "
                              f"{log_path}\n")
    finally:
        for fd in locks:
            release(fd)
    return results + [(job, rc) for job in ready]


def deploy_errors(spec: SweepSpec, job: Job) -> dict[str, float]:
    """The error settings a deployment point meets: the point's own, over any ``errors.*``
    values fixed by the spec's overrides or the method (e.g. a correlation length), exactly as
    the hardware-in-the-loop points of the same setting are trained."""
    fixed = {**spec.overrides, **spec.methods[job.variant]}
    out = {k.split(".", 1)[1]: float(v) for k, v in fixed.items() if k.startswith("errors.")}
    out.update(dict(job.errors))
    return out


def _run_deploy(spec: SweepSpec, job: Job) -> None:
    from .training.deploy import deploy

    row = deploy(job.source, [deploy_errors(spec, job)], draws=1,
                 first_error_seed=job.error_seed, progress=False)[0]
    row["variant"] = job.variant
    row["draw"] = job.draw
    job.run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(json.dumps(row, indent=2) + "\n", job.run_dir / "summary.json")


def _run_group_unless_stopped(spec: SweepSpec, jobs: list[Job], epochs: int | None, root: Path,
                              ensemble: bool) -> list[tuple[Job, int | None]]:
    """:func:`_run_group`, unless the sweep is stopping; a training that was stopped (Ctrl-C,
    SIGTERM, a time limit) stops the sweep: no further point starts and the running ones stop."""
    if _STOP.is_set():
        return [(job, STOPPED) for job in jobs]
    results = _run_group(spec, jobs, epochs, root, ensemble)
    if any(rc in _STOP_CODES for _, rc in results):
        _stop_children()
    return results


def run_sweep(spec: SweepSpec, root: Path, *, seeds: int | None = None, draws: int | None = None,
              epochs: int | None = None, jobs: int = 1, only: list[str] | None = None,
              progress: bool = True, ensemble: bool = False) -> dict[str, Any]:
    """Run every unfinished job; returns counts. Failed training jobs are reported, not fatal.
    With ``ensemble``, the seeds of each (dataset, method, setting, draw) train in one
    vectorised process (mesh networks only)."""
    if ensemble:
        from .config import load_config

        for ds in spec.datasets:
            if load_config(spec.presets[ds]).model.kind != "mesh":
                raise SweepError(f"--ensemble is for mesh networks; {spec.presets[ds]} is not one")
    all_jobs = plan(spec, root, seeds, draws, only)
    check_points(spec, all_jobs, epochs, root)
    todo = [j for j in all_jobs if not j.done]
    t0 = time.perf_counter()
    trains = [j for j in todo if j.kind == "train"]
    failed: list[Job] = []
    busy: list[Job] = []
    stopped: list[Job] = []
    _STOP.clear()
    bar = tqdm(total=len(todo), desc=f"{spec.name}", disable=not progress)
    # in-silico trainings first: they are the deployment sources and the init_from sources
    for phase in (True, False):
        batch = [j for j in trains if _is_insilico(spec.methods[j.variant]) == phase]
        groups: dict[tuple, list[Job]] = {}
        for j in batch:
            together = ensemble and _ensemble_capable({**spec.overrides, **spec.methods[j.variant]})
            key = (True, j.dataset, j.variant, j.errors, j.draw) if together else (False, j.run_dir)
            groups.setdefault(key, []).append(j)
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:  # key[0]: as one ensemble
            try:
                futures = [pool.submit(_run_group_unless_stopped, spec, g, epochs, root, key[0])
                           for key, g in groups.items()]
                for job, rc in (r for fut in as_completed(futures) for r in fut.result()):
                    if rc == STOPPED or rc in _STOP_CODES:  # not started, or stopped
                        stopped.append(job)
                    elif rc is None:  # another process has it (or finished it meanwhile)
                        busy.append(job)
                    elif rc == NO_SOURCE:
                        failed.append(job)
                        tqdm.write(f"failed: {job.run_dir}: the run it starts from, "
                                   f"{source_run(spec, job, root)}, is not finished (train its "
                                   "method first, e.g. --only direct_deploy)")
                    elif rc != 0 or not job.done:
                        failed.append(job)
                        tqdm.write(f"failed: {job.run_dir} (exit {rc}; see "
                                   f"{job.run_dir / 'train.log'})")
                    bar.update(1)
            except KeyboardInterrupt:
                # Ctrl-C, SIGTERM (a time limit, `kill`): no further point starts; the running
                # ones stop at their last checkpoint
                _STOP.set()
                pool.shutdown(wait=False, cancel_futures=True)
                _stop_children()
                bar.close()
                raise
        if stopped:
            bar.close()
            raise KeyboardInterrupt(f"{len(stopped)} point(s) stopped or not started")
    for job in (j for j in todo if j.kind == "deploy"):
        if job.done:  # deployed by another process meanwhile
            busy.append(job)
        elif job.source is not None and (job.source / "summary.json").exists():
            _run_deploy(spec, job)
        else:
            failed.append(job)
        bar.update(1)
    bar.close()
    for job in busy:
        if not job.done:
            tqdm.write(f"left to another process: {job.run_dir}")
    return {"jobs": len(all_jobs), "ran": len(todo) - len(failed) - len(busy),
            "failed": len(failed), "skipped": len(all_jobs) - len(todo) + len(busy),
            "wall_s": time.perf_counter() - t0}


def collect(spec: SweepSpec, root: Path, seeds: int | None = None, draws: int | None = None,
            only: list[str] | None = None) -> list[dict[str, Any]]:
    """One flat row per finished point (run-summary columns + variant, draw, error columns)."""
    from .summary import flatten

    rows = []
    for job in plan(spec, root, seeds, draws, only):
        if job.kind == "train" and not job.errors and _is_insilico(spec.methods[job.variant]):
            continue  # the in-silico training itself; its deployments are the points
        if not job.done:
            continue
        summary = json.loads((job.run_dir / "summary.json").read_text())
        summary.setdefault("variant", job.variant)
        summary.setdefault("draw", job.draw)
        summary["run_dir"] = str(job.run_dir)
        rows.append(flatten(summary))
    return rows
