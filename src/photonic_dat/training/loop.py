"""The shared training loop: epochs, physical validation, selection, checkpoints, summary.

Checkpoints (``checkpoint.pt``, checksummed, previous one kept) are written at the end of every
epoch and, with ``train.checkpoint_every = K``, every K iterations. They hold everything a run
depends on — model, method (optimisers, schedulers, SEPNs), RNG states (torch, numpy, Python),
the position in the epoch, running sums, the query counter, metrics and the selected state — so
that a run killed at any point and resumed ends identical to an uninterrupted one (on CPU).
"""

from __future__ import annotations

import copy
import csv
import json
import math
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from . import checkpoint, distributed
from .evaluate import accuracy, model_predictions, physical_predictions
from .methods import Method, NonFiniteError


class TrainingDiverged(RuntimeError):
    """A loss, measurement or parameter became NaN/Inf; the last good state was restored."""


def atomic_save(obj: Any, path: Path) -> None:
    """torch.save to a temporary file, fsync, then rename over ``path``."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as fh:
        torch.save(obj, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def atomic_write_text(text: str, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _rng_state() -> dict[str, Any]:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
            "python": random.getstate()}


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def write_metrics(rows: list[dict[str, Any]], run_dir: Path) -> None:
    """``run_dir/metrics.csv``, one row per epoch (atomically replaced)."""
    if not rows:
        return
    keys = list(dict.fromkeys(k for row in rows for k in row))
    path = run_dir / "metrics.csv"
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)


def batch_of(split, order: torch.Tensor, it: int, batch_size: int):
    """Images and labels of iteration ``it`` of an epoch in ``order`` (this rank's share)."""
    idx = order[it * batch_size : (it + 1) * batch_size][distributed.rank() :: distributed.world_size()]
    images, labels = split
    return images[idx], labels[idx]


_ITERATIONS_RUN = 0


def _maybe_kill_for_tests() -> None:
    """Test hook: SIGKILL this process after N iterations (PHOTONIC_DAT_KILL_AFTER=N)."""
    global _ITERATIONS_RUN
    _ITERATIONS_RUN += 1
    limit = os.environ.get("PHOTONIC_DAT_KILL_AFTER")
    if limit and _ITERATIONS_RUN >= int(limit):
        os.kill(os.getpid(), 9)


class Trainer:
    """Runs a :class:`Method` over epochs and writes the run directory.

    Args:
        method: the training method (owns model, system, optimisers).
        data: dataset splits (``train``, ``val``, ``test``: (images, labels)).
        run_dir: output directory (config, metrics.csv, checkpoint.pt, summary.json).
        summary_base: fields copied into summary.json (dataset, preset, errors, seeds...).
        progress: show progress (bars on a terminal, one line per epoch).
    """

    def __init__(self, method: Method, data, run_dir: Path, summary_base: dict[str, Any],
                 progress: bool = True, device: str = "cpu") -> None:
        self.method, self.data, self.run_dir = method, data, Path(run_dir)
        self.summary_base, self.progress, self.device = summary_base, progress, device
        self.cfg = method.cfg
        self.metrics: list[dict[str, Any]] = []
        self.epoch, self.it = 0, 0  # position: next iteration to run
        self.sums: dict[str, float] = {}
        self.best: dict[str, Any] | None = None
        self.eval_queries = 0
        self.wall_s = 0.0
        self._good: dict[str, Any] | None = None  # last good state, for the NaN guard
        self.main = distributed.is_main()

    # -- evaluation ----------------------------------------------------------------------
    def _model_acc(self, split, sepn_weight: float = 0.0) -> float:
        images, labels = split
        m = self.method
        pred = model_predictions(m.model, images, self.cfg.train.eval_batch_size,
                                 sepns=m.sepns, sepn_weight=sepn_weight, device=self.device,
                                 errors=m.alignment)
        return accuracy(pred, labels)

    def _physical_acc(self, split) -> float:
        images, labels = split
        system = self.method.system
        if system is None:
            return float("nan")
        before = system.queries
        pred = physical_predictions(self.method.model, system, images,
                                    self.cfg.train.eval_batch_size, device=self.device)
        self.eval_queries += system.queries - before
        system.queries = before  # evaluation is reported apart from training queries
        return accuracy(pred, labels)

    # -- checkpoints ---------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        m = self.method
        system_state = None
        if m.system is not None and hasattr(m.system, "state_dict"):
            system_state = m.system.state_dict()
        return {
            "epoch": self.epoch, "it": self.it, "sums": dict(self.sums),
            "model": copy.deepcopy(m.model.state_dict()),
            "method": copy.deepcopy(m.state_dict()),
            "best": self.best,
            "metrics": list(self.metrics),
            "queries": m.system.queries if m.system is not None else 0,
            "system": system_state,
            "eval_queries": self.eval_queries,
            "wall_s": self.wall_s,
            "rng": _rng_state(),
        }

    def _restore(self, state: dict[str, Any]) -> None:
        m = self.method
        m.model.load_state_dict(state["model"])
        m.load_state_dict(state["method"])
        self.best, self.metrics = state["best"], list(state["metrics"])
        if m.system is not None:
            m.system.queries = state["queries"]
            if state.get("system") is not None and hasattr(m.system, "load_state_dict"):
                m.system.load_state_dict(state["system"])
        self.eval_queries, self.wall_s = state["eval_queries"], state["wall_s"]
        self.epoch, self.it, self.sums = state["epoch"], state["it"], dict(state["sums"])
        rng = state["rng"]
        _set_rng_state(rng if isinstance(rng, dict) else {**_rng_state(), "torch": rng})

    def save_checkpoint(self) -> None:
        self._good = self._state()
        if self.main:
            checkpoint.save(self._good, self.run_dir / "checkpoint.pt")

    def load_checkpoint(self) -> None:
        state = checkpoint.load(self.run_dir / "checkpoint.pt")
        if "ensemble_group" in state:
            raise checkpoint.CheckpointError(
                f"{self.run_dir} was trained as a member of an ensemble: resume it with "
                f"`photonic-dat train-ensemble ... --group {state['ensemble_group']}`")
        self._restore(state)
        self._good = self._state()

    # -- the loop ------------------------------------------------------------------------
    def _write_metrics(self) -> None:
        if self.main:
            write_metrics(self.metrics, self.run_dir)

    STEPS_FIELDS = ("epoch", "iteration", "loss", "loss_sim", "loss_sep", "train_acc")

    def _log_step(self, stats: dict[str, float]) -> None:
        """Append this iteration's statistics to ``steps.csv`` (``train.log_every``). After a
        resume the iterations since the last checkpoint are logged again: readers keep the
        last row of each (epoch, iteration) (:func:`read_steps`)."""
        if not self.main:
            return
        path = self.run_dir / "steps.csv"
        new = not path.exists()
        row = {"epoch": self.epoch + 1, "iteration": self.it, **stats}
        with open(path, "a", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=self.STEPS_FIELDS, extrasaction="ignore")
            if new:
                w.writeheader()
            w.writerow(row)

    def _nonfinite_parameter(self) -> str | None:
        m = self.method
        named = list(m.model.named_parameters())
        if m.sepns is not None:
            named += [(f"sepns.{n}", p) for n, p in m.sepns.named_parameters()]
        for name, p in named:
            if not torch.isfinite(p).all():
                return name
        return None

    def _diverged(self, what: str) -> None:
        where = f"epoch {self.epoch + 1}, iteration {self.it + 1}"
        if self._good is not None:
            self._restore(self._good)
        raise TrainingDiverged(
            f"{what} at {where}; the last good state was restored (checkpoint.pt): "
            "lower train.lr (or dat.sepn_lr) and resume with --resume"
        )

    def _epoch_permutation(self, n: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.cfg.train.seed * 100_003 + self.epoch)
        return torch.randperm(n, generator=g)

    def _train_size(self) -> int:
        return self.data.train[0].shape[0]

    def _batch(self, order: Any, it: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The training images and labels of iteration ``it`` (``order``: this epoch's
        :meth:`_epoch_permutation`); each data-parallel rank takes its share."""
        return batch_of(self.data.train, order, it, self.cfg.train.batch_size)

    def _epoch_row(self, n_iter: int) -> dict[str, Any]:
        """The start of an epoch's metrics row: the epoch and the mean training statistics."""
        return {"epoch": self.epoch + 1, **{k: v / n_iter for k, v in self.sums.items()}}

    def _evaluate_epoch(self, t0: float) -> None:
        """Validate after an epoch: append the metrics row and update the selected state
        (``t0``: when the epoch's timing started; validation counts into ``wall_s``)."""
        m = self.method
        m.model.eval()
        row = self._epoch_row(math.ceil(self._train_size() / self.cfg.train.batch_size))
        row["model_val_acc"] = self._model_acc(self.data.val)
        if m.sepns is not None:
            row["sepn_model_val_acc"] = self._model_acc(self.data.val, 1.0)
        row["physical_val_acc"] = self._physical_acc(self.data.val)
        row["queries"] = distributed.sum_int(m.system.queries) if m.system is not None else 0
        self.wall_s += time.perf_counter() - t0
        row["wall_s"] = round(self.wall_s, 2)
        key = row["physical_val_acc"] if m.uses_system else row["model_val_acc"]
        if self.data.val[1].numel() == 0:
            key = self.epoch  # no validation split: select the last epoch
        rollback = self.cfg.train.rollback if m.uses_system else 0.0
        if self.best is None or key > self.best["key"]:
            self.best = {"key": key, "epoch": self.epoch + 1,
                         "model": copy.deepcopy(m.model.state_dict()),
                         "sepns": copy.deepcopy(m.sepns.state_dict()) if m.sepns else None}
            if rollback > 0:  # the whole state, to roll back to
                self.best["method"] = copy.deepcopy(m.state_dict())
        elif (rollback > 0 and "method" in self.best and key < self.best["key"] - rollback
              and self.epoch + 1 < self.cfg.train.epochs):  # the last epoch stays: "final"
            self._roll_back(row)
        self.metrics.append(row)
        if self.progress and self.main:
            msg = "  ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                            for k, v in row.items())
            tqdm.write(f"[{m.name}] {msg}", file=sys.stderr)

    def _roll_back(self, row: dict[str, Any]) -> None:
        """``train.rollback``: the physical validation accuracy fell more than that below the
        best epoch's: continue from the best epoch's network, SEPNs and optimisers (their step
        schedules too, from the best epoch's position), with every learning rate halved, again
        at each further rollback to the same epoch. The measurements spent since stay counted."""
        m = self.method
        m.model.load_state_dict(self.best["model"])
        m.load_state_dict(self.best["method"])
        m.scale_lr(0.5)
        # a fresh snapshot (the optimisers now share the old one's tensors): halved again next
        self.best = {**self.best, "method": copy.deepcopy(m.state_dict())}
        row["rolled_back_to"] = self.best["epoch"]
        if self.progress and self.main:
            tqdm.write(f"[{m.name}] physical validation accuracy {row['physical_val_acc']:.4f} is "
                       f"more than train.rollback={self.cfg.train.rollback:g} below epoch "
                       f"{self.best['epoch']}'s {self.best['key']:.4f}: rolled back to it, "
                       "learning rates halved", file=sys.stderr)

    def fit(self) -> dict[str, Any]:
        m, t = self.method, self.cfg.train
        n = self._train_size()
        n_iter = math.ceil(n / t.batch_size)
        bars = bool(self.progress) and sys.stderr.isatty() and self.main
        every = t.checkpoint_every
        if self._good is None:
            self._good = self._state()
        while self.epoch < t.epochs:
            t0 = time.perf_counter()
            order = self._epoch_permutation(n)
            bar = tqdm(total=n_iter, initial=self.it, leave=False, disable=not bars,
                       desc=f"{m.name} epoch {self.epoch + 1}/{t.epochs}", dynamic_ncols=True)
            m.model.train()
            while self.it < n_iter:
                images, labels = self._batch(order, self.it)
                try:
                    stats = m.step(images.to(self.device), labels.to(self.device), self.epoch)
                except NonFiniteError as exc:
                    self._diverged(str(exc))
                bad = [k for k, v in stats.items() if not math.isfinite(v)]
                if bad:
                    self._diverged(f"{bad[0]} became {stats[bad[0]]}")
                param = self._nonfinite_parameter()
                if param is not None:
                    self._diverged(f"parameter {param} became non-finite")
                for k, v in stats.items():
                    self.sums[k] = self.sums.get(k, 0.0) + v
                self.it += 1
                if t.log_every and self.it % t.log_every == 0:
                    self._log_step(stats)
                bar.update(1)
                if self.it % 10 == 0:
                    bar.set_postfix({k: f"{v:.3f}" for k, v in stats.items()})
                if every and self.it % every == 0 and self.it < n_iter:
                    self.wall_s += time.perf_counter() - t0
                    t0 = time.perf_counter()
                    self.save_checkpoint()
                _maybe_kill_for_tests()
            bar.close()
            m.end_epoch(self.epoch)
            self._evaluate_epoch(t0)
            self.epoch, self.it, self.sums = self.epoch + 1, 0, {}
            self._write_metrics()
            self.save_checkpoint()
        return self.finish()

    def finish(self) -> dict[str, Any]:
        m = self.method
        final = {
            "model_test_acc_final": self._model_acc(self.data.test),
            "physical_test_acc_final": self._physical_acc(self.data.test),
        }
        if self.best["epoch"] == self.epoch:  # the last epoch was selected: the same network
            selected = {"model_test_acc": final["model_test_acc_final"],
                        "physical_test_acc": final["physical_test_acc_final"]}
        else:
            final_state = copy.deepcopy(m.model.state_dict())
            m.model.load_state_dict(self.best["model"])
            selected = {
                "model_test_acc": self._model_acc(self.data.test),
                "physical_test_acc": self._physical_acc(self.data.test),
            }
            m.model.load_state_dict(final_state)
        summary = {
            **self.summary_base,
            **m.describe(),
            **({"fitted_shifts": m.fitted_shifts()} if self.cfg.train.fit_shifts else {}),
            "epochs": self.cfg.train.epochs,
            "queries": distributed.sum_int(m.system.queries) if m.system is not None else 0,
            "eval_queries": self.eval_queries,
            **selected,
            **final,
            "selected_epoch": self.best["epoch"],
            "selection": "physical validation accuracy" if m.uses_system
            else "model validation accuracy",
            "wall_s": round(self.wall_s, 2),
            "processes": distributed.world_size(),
        }
        if self.main:
            atomic_save({"model": self.best["model"], "sepns": self.best["sepns"],
                         "epoch": self.best["epoch"], "fitted_shifts": m.fitted_shifts()},
                        self.run_dir / "selected.pt")
            atomic_write_text(json.dumps(summary, indent=2) + "\n", self.run_dir / "summary.json")
        return summary


def read_steps(run_dir: str | Path) -> list[dict[str, float]]:
    """The rows of a run's ``steps.csv``, one per (epoch, iteration), the last one written
    winning (iterations repeated after a resume), in training order."""
    rows: dict[tuple[int, int], dict[str, float]] = {}
    with open(Path(run_dir) / "steps.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            rows[(int(r["epoch"]), int(r["iteration"]))] = {
                k: float(v) for k, v in r.items() if v not in (None, "")}
    return [rows[k] for k in sorted(rows)]
