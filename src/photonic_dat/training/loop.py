"""The shared training loop: epochs, physical validation, selection, checkpoints, summary."""

from __future__ import annotations

import copy
import csv
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from .evaluate import accuracy, model_predictions, physical_predictions
from .methods import Method


class TrainingDiverged(RuntimeError):
    """A loss or parameter became NaN/Inf."""


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


class Trainer:
    """Runs a :class:`Method` over epochs and writes the run directory.

    Args:
        method: the training method (owns model, system, optimisers).
        data: dataset splits (``train``, ``val``, ``test``: (images, labels)).
        run_dir: output directory (config, metrics.csv, checkpoint.pt, summary.json).
        summary_base: fields copied into summary.json (dataset, preset, errors, seeds...).
        progress: show progress bars.
    """

    def __init__(self, method: Method, data, run_dir: Path, summary_base: dict[str, Any],
                 progress: bool = True, device: str = "cpu") -> None:
        self.method, self.data, self.run_dir = method, data, Path(run_dir)
        self.summary_base, self.progress, self.device = summary_base, progress, device
        self.cfg = method.cfg
        self.metrics: list[dict[str, Any]] = []
        self.start_epoch = 0
        self.best: dict[str, Any] | None = None
        self.eval_queries = 0
        self.wall_s = 0.0

    # -- evaluation ----------------------------------------------------------------------
    def _model_acc(self, split, sepn_weight: float = 0.0) -> float:
        images, labels = split
        m = self.method
        pred = model_predictions(m.model, images, self.cfg.train.eval_batch_size,
                                 sepns=m.sepns, sepn_weight=sepn_weight, device=self.device)
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
    def _state(self, epoch: int) -> dict[str, Any]:
        m = self.method
        return {
            "epoch": epoch,
            "model": m.model.state_dict(),
            "method": m.state_dict(),
            "best": self.best,
            "metrics": self.metrics,
            "queries": m.system.queries if m.system is not None else 0,
            "eval_queries": self.eval_queries,
            "wall_s": self.wall_s,
            "rng": torch.get_rng_state(),
        }

    def save_checkpoint(self, epoch: int) -> None:
        atomic_save(self._state(epoch), self.run_dir / "checkpoint.pt")

    def load_checkpoint(self) -> None:
        state = torch.load(self.run_dir / "checkpoint.pt", weights_only=False)
        m = self.method
        m.model.load_state_dict(state["model"])
        m.load_state_dict(state["method"])
        self.best, self.metrics = state["best"], state["metrics"]
        if m.system is not None:
            m.system.queries = state["queries"]
        self.eval_queries, self.wall_s = state["eval_queries"], state["wall_s"]
        torch.set_rng_state(state["rng"])
        self.start_epoch = state["epoch"] + 1

    # -- the loop ------------------------------------------------------------------------
    def _write_metrics(self) -> None:
        if not self.metrics:
            return
        keys = list(dict.fromkeys(k for row in self.metrics for k in row))
        path = self.run_dir / "metrics.csv"
        tmp = path.with_suffix(".csv.tmp")
        with open(tmp, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=keys)
            w.writeheader()
            w.writerows(self.metrics)
        os.replace(tmp, path)

    def _check_finite(self, stats: dict[str, float], epoch: int, it: int) -> None:
        for key, value in stats.items():
            if not math.isfinite(value):
                raise TrainingDiverged(
                    f"{key} became {value} at epoch {epoch + 1}, iteration {it + 1}; "
                    "lower train.lr (or dat.sepn_lr) and resume from the last checkpoint"
                )

    def fit(self) -> dict[str, Any]:
        m, t = self.method, self.cfg.train
        images, labels = self.data.train
        n = images.shape[0]
        n_iter = math.ceil(n / t.batch_size)
        bars = bool(self.progress) and sys.stderr.isatty()
        for epoch in range(self.start_epoch, t.epochs):
            t0 = time.perf_counter()
            g = torch.Generator().manual_seed(t.seed * 100_003 + epoch)
            perm = torch.randperm(n, generator=g)
            sums: dict[str, float] = {}
            bar = tqdm(range(n_iter), desc=f"{m.name} epoch {epoch + 1}/{t.epochs}",
                       leave=False, disable=not bars, dynamic_ncols=True)
            m.model.train()
            for it in bar:
                idx = perm[it * t.batch_size : (it + 1) * t.batch_size]
                stats = m.step(images[idx].to(self.device), labels[idx].to(self.device), epoch)
                self._check_finite(stats, epoch, it)
                for k, v in stats.items():
                    sums[k] = sums.get(k, 0.0) + v
                if it % 10 == 0:
                    bar.set_postfix({k: f"{v:.3f}" for k, v in stats.items()})
            m.end_epoch(epoch)
            m.model.eval()
            row: dict[str, Any] = {"epoch": epoch + 1}
            row.update({k: v / n_iter for k, v in sums.items()})
            row["model_val_acc"] = self._model_acc(self.data.val)
            if m.sepns is not None:
                row["sepn_model_val_acc"] = self._model_acc(self.data.val, 1.0)
            row["physical_val_acc"] = self._physical_acc(self.data.val)
            row["queries"] = m.system.queries if m.system is not None else 0
            self.wall_s += time.perf_counter() - t0
            row["wall_s"] = round(self.wall_s, 2)
            key = row["physical_val_acc"] if m.uses_system else row["model_val_acc"]
            if self.data.val[1].numel() == 0:
                key = epoch  # no validation split: select the last epoch
            if self.best is None or key > self.best["key"]:
                self.best = {"key": key, "epoch": epoch + 1,
                             "model": copy.deepcopy(m.model.state_dict()),
                             "sepns": copy.deepcopy(m.sepns.state_dict()) if m.sepns else None}
            self.metrics.append(row)
            self._write_metrics()
            self.save_checkpoint(epoch)
            if self.progress:
                msg = "  ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                                for k, v in row.items())
                tqdm.write(f"[{m.name}] {msg}", file=sys.stderr)
        return self.finish()

    def finish(self) -> dict[str, Any]:
        m = self.method
        final = {
            "model_test_acc_final": self._model_acc(self.data.test),
            "physical_test_acc_final": self._physical_acc(self.data.test),
        }
        final_state = copy.deepcopy(m.model.state_dict())
        m.model.load_state_dict(self.best["model"])
        selected = {
            "model_test_acc": self._model_acc(self.data.test),
            "physical_test_acc": self._physical_acc(self.data.test),
        }
        torch.save({"model": self.best["model"], "sepns": self.best["sepns"],
                    "epoch": self.best["epoch"]}, self.run_dir / "selected.pt")
        m.model.load_state_dict(final_state)
        summary = {
            **self.summary_base,
            **m.describe(),
            "epochs": self.cfg.train.epochs,
            "queries": m.system.queries if m.system is not None else 0,
            "eval_queries": self.eval_queries,
            **selected,
            **final,
            "selected_epoch": self.best["epoch"],
            "selection": "physical validation accuracy" if m.uses_system
            else "model validation accuracy",
            "wall_s": round(self.wall_s, 2),
        }
        atomic_write_text(json.dumps(summary, indent=2) + "\n", self.run_dir / "summary.json")
        return summary
