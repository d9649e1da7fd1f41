"""Train several runs of a small network in one vectorised process (the ensemble axis).

The runs (members) share every setting but their training seed, error seed and starting
point; each gets an ordinary run directory (config, metrics, selected state and summary in the
format of a standalone run), so sweeps, reports and deployment read them like any other run.
The process's own state (the checkpoint, per-iteration statistics averaged over the members)
lives in a *group* directory; an interrupted ensemble resumes from it.

Member k sees exactly the data of a standalone run with its seed (its validation split, its
epoch order) and the hardware drawn with its error seed; its SEPNs are initialised as the
standalone run's. Read noise, when simulated, comes from one generator for all members.
See :mod:`photonic_dat.models.ensemble` for the network side.
"""

from __future__ import annotations

import copy
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import torch
import yaml
from tqdm.auto import tqdm

from ..config import ConfigError, RunConfig, usable_device
from ..models.ensemble import (
    Member,
    member_module_state,
    member_state,
    stack_networks,
    stack_states,
)
from ..models.factory import build_model
from . import checkpoint
from .evaluate import accuracy, model_predictions, physical_predictions
from .loop import (
    Trainer,
    TrainingDiverged,
    atomic_save,
    atomic_write_text,
    batch_of,
    write_metrics,
)
from .run import METHOD_CLASSES, build_system, load_data, summary_base

#: the settings in which the members of an ensemble may differ
MEMBER_KEYS = (("train", "seed"), ("system", "error_seed"), ("train", "init_from"))


def check_members(cfgs: list[RunConfig]) -> None:
    """One-line errors unless the configs differ only in seeds and starting points."""
    if not cfgs:
        raise ConfigError("an ensemble needs at least one member")
    if cfgs[0].model.kind != "mesh":
        raise ConfigError(f"ensembles are for mesh networks (model.kind=mesh), got "
                          f"model.kind={cfgs[0].model.kind}")

    def shared(cfg: RunConfig) -> dict[str, Any]:
        d = cfg.to_dict()
        for section, key in MEMBER_KEYS:
            d.get(section, {}).pop(key, None)
        return d

    if cfgs[0].train.rollback > 0:
        raise ConfigError("train.rollback restores a single run's best epoch: train these "
                          "points one at a time, not as an ensemble")
    ref = shared(cfgs[0])
    for k, cfg in enumerate(cfgs[1:], start=1):
        own = shared(cfg)
        if own != ref:
            diff = sorted(f"{s}.{n}" for s in ref for n in ref[s]
                          if isinstance(ref[s], dict) and own[s].get(n) != ref[s][n])
            raise ConfigError(f"ensemble member {k} differs from member 0 in "
                              f"{', '.join(diff) or 'its settings'}; members may differ only in "
                              "train.seed, system.error_seed and train.init_from")
    seeds = [(c.train.seed, c.system.error_seed) for c in cfgs]
    if len(set(seeds)) != len(seeds):
        raise ConfigError("two ensemble members have the same (train.seed, system.error_seed)")


class EnsembleTrainer(Trainer):
    """The shared loop (:class:`~photonic_dat.training.loop.Trainer`) over member-major
    batches, with validation, selection and summaries per member."""

    def __init__(self, method, datas, group_dir: Path, run_dirs: list[Path],
                 cfgs: list[RunConfig], progress: bool = True, device: str = "cpu") -> None:
        super().__init__(method, datas[0], group_dir, {}, progress=progress, device=device)
        self.datas, self.run_dirs, self.cfgs = datas, [Path(d) for d in run_dirs], cfgs
        sizes = {d.train[0].shape[0] for d in datas}
        val = {d.val[0].shape[0] for d in datas}
        if len(sizes) != 1 or len(val) != 1:
            raise ConfigError("ensemble members need training and validation splits of equal "
                              f"size (got {sorted(sizes)} and {sorted(val)})")
        self.metrics = [[] for _ in datas]

    @property
    def size(self) -> int:
        return len(self.datas)

    # -- data ------------------------------------------------------------------------------
    def _epoch_permutation(self, n: int) -> list[torch.Tensor]:
        """Each member's own epoch order (that of its standalone run)."""
        orders = []
        for cfg in self.cfgs:
            g = torch.Generator().manual_seed(cfg.train.seed * 100_003 + self.epoch)
            orders.append(torch.randperm(n, generator=g))
        return orders

    def _batch(self, order, it):
        b = self.cfg.train.batch_size
        parts = [batch_of(d.train, o, it, b) for d, o in zip(self.datas, order, strict=True)]
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])

    # -- evaluation ------------------------------------------------------------------------
    def _split(self, name: str):
        return [getattr(d, name)[0] for d in self.datas], [getattr(d, name)[1] for d in self.datas]

    def _accuracies(self, pred: torch.Tensor, labels: list[torch.Tensor]) -> list[float]:
        return [accuracy(pred[k], labels[k]) for k in range(self.size)]

    def _model_accs(self, name: str, sepn_weight: float = 0.0) -> list[float]:
        images, labels = self._split(name)
        m = self.method
        pred = model_predictions(m.model, images, self.cfg.train.eval_batch_size,
                                 sepns=m.sepns, sepn_weight=sepn_weight, device=self.device)
        return self._accuracies(pred, labels)

    def _physical_accs(self, name: str) -> list[float]:
        images, labels = self._split(name)
        system = self.method.system
        before = system.queries
        pred = physical_predictions(self.method.model, system, images,
                                    self.cfg.train.eval_batch_size, device=self.device)
        self.eval_queries += (system.queries - before) // self.size
        system.queries = before
        return self._accuracies(pred, labels)

    def _member_states(self, k: int) -> dict[str, Any]:
        m = self.method
        return {"model": member_state(m.model.state_dict(), k),
                "sepns": member_module_state(m.sepns.state_dict(), k) if m.sepns else None}

    def _evaluate_epoch(self, t0: float) -> None:
        m = self.method
        m.model.eval()
        n_iter = math.ceil(self._train_size() / self.cfg.train.batch_size)
        model_acc = self._model_accs("val")
        sepn_acc = self._model_accs("val", 1.0) if m.sepns is not None else None
        physical = self._physical_accs("val")
        self.wall_s += time.perf_counter() - t0
        queries = m.system.queries // self.size
        # a new list: the last good state (NaN guard) keeps the previous one
        self.best = [None] * self.size if self.best is None else list(self.best)
        # training statistics are means over all members: named so in every member's metrics
        train_stats = {f"ensemble_{key}" if key != "epoch" else key: value
                       for key, value in self._epoch_row(n_iter).items()}
        for k in range(self.size):
            row = dict(train_stats)
            row["model_val_acc"] = model_acc[k]
            if sepn_acc is not None:
                row["sepn_model_val_acc"] = sepn_acc[k]
            row.update(physical_val_acc=physical[k], queries=queries,
                       wall_s=round(self.wall_s / self.size, 2),
                       ensemble_wall_s=round(self.wall_s, 2))
            key = physical[k] if m.uses_system else model_acc[k]
            if self.datas[k].val[1].numel() == 0:
                key = self.epoch
            if self.best[k] is None or key > self.best[k]["key"]:
                self.best[k] = {"key": key, "epoch": self.epoch + 1, **self._member_states(k)}
            self.metrics[k].append(row)
        if self.progress and self.main:
            accs = " ".join(f"{a:.4f}" for a in (physical if m.uses_system else model_acc))
            tqdm.write(f"[{m.name} x{self.size}] epoch {self.epoch + 1}: validation accuracy "
                       f"per member {accs}", file=sys.stderr)

    def _write_metrics(self) -> None:
        for rows, run_dir in zip(self.metrics, self.run_dirs, strict=True):
            write_metrics(rows, run_dir)

    def _diverged(self, what: str) -> None:
        try:
            super()._diverged(what)
        except TrainingDiverged as exc:  # point at the ensemble's own way to resume
            raise TrainingDiverged(
                f"{str(exc).split('; the last good state')[0]} in the ensemble (a loss averages all "
                f"{self.size} members, so one diverging member stops all); the last good state "
                f"was restored in {self.run_dir}/checkpoint.pt: lower train.lr (or dat.sepn_lr) "
                "in the members' config.yaml and rerun train-ensemble (it resumes)") from None

    def _state(self) -> dict[str, Any]:
        state = super()._state()
        state["metrics"] = [list(rows) for rows in self.metrics]
        return state

    def _restore(self, state: dict[str, Any]) -> None:
        super()._restore(state)
        self.metrics = [list(rows) for rows in state["metrics"]]

    # -- the end -----------------------------------------------------------------------------
    def finish(self) -> list[dict[str, Any]]:
        m = self.method
        final_model = self._model_accs("test")
        final_physical = self._physical_accs("test")
        final_state = copy.deepcopy(m.model.state_dict())
        if all(b["epoch"] == self.epoch for b in self.best):  # selected = final network
            sel_model, sel_physical = final_model, final_physical
        else:
            m.model.load_state_dict(stack_states([b["model"] for b in self.best]))
            sel_model = self._model_accs("test")
            sel_physical = self._physical_accs("test")
            m.model.load_state_dict(final_state)
        summaries = []
        for k, (cfg, run_dir) in enumerate(zip(self.cfgs, self.run_dirs, strict=True)):
            best = self.best[k]
            summaries.append({
                **summary_base(cfg), **m.describe(),
                "epochs": cfg.train.epochs,
                "queries": m.system.queries // self.size,
                "eval_queries": self.eval_queries,
                "model_test_acc": sel_model[k], "physical_test_acc": sel_physical[k],
                "model_test_acc_final": final_model[k],
                "physical_test_acc_final": final_physical[k],
                "selected_epoch": best["epoch"],
                "selection": "physical validation accuracy" if m.uses_system
                else "model validation accuracy",
                "wall_s": round(self.wall_s / self.size, 2),
                "processes": 1,
                "ensemble": {"members": self.size, "group": str(self.run_dir),
                             "wall_s": round(self.wall_s, 2)},
            })
            # the final network in the place of a standalone run's last checkpoint (deployment
            # and export read its "model"); the ensemble resumes from the group's checkpoint
            final = {"model": member_state(final_state, k), "epoch": self.epoch,
                     "sepns": member_module_state(m.sepns.state_dict(), k) if m.sepns else None,
                     "ensemble_group": str(self.run_dir)}
            checkpoint.save(final, run_dir / "checkpoint.pt")
            atomic_save({"model": best["model"], "sepns": best["sepns"], "epoch": best["epoch"]},
                        run_dir / "selected.pt")
        # summaries last, all together: a point counts as done only when every member's files
        # are written
        for summary, run_dir in zip(summaries, self.run_dirs, strict=True):
            atomic_write_text(json.dumps(summary, indent=2) + "\n", run_dir / "summary.json")
            summary["run_dir"] = str(run_dir)
        return summaries


def train_ensemble(cfgs: list[RunConfig], run_dirs: list[str | Path], group_dir: str | Path,
                   *, resume: bool = False, progress: bool = True) -> list[dict[str, Any]]:
    """Train the runs ``cfgs`` (one per member, written to ``run_dirs``) in one process;
    returns their summaries. ``group_dir`` holds the ensemble's checkpoint."""
    check_members(cfgs)
    if len(run_dirs) != len(cfgs):
        raise ConfigError(f"{len(cfgs)} ensemble members need {len(cfgs)} run directories")
    cfg = cfgs[0]
    device = usable_device(cfg.train.device)
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    group_dir, run_dirs = Path(group_dir), [Path(d) for d in run_dirs]
    for d, c in zip([group_dir, *run_dirs], [cfg, *cfgs], strict=True):
        d.mkdir(parents=True, exist_ok=True)
        atomic_write_text(yaml.safe_dump(c.to_dict(), sort_keys=False), d / "config.yaml")
    datas = [load_data(c) for c in cfgs]
    networks = []
    for c in cfgs:
        net = build_model(c.model, seed=c.train.seed)
        if c.train.init_from:
            start = checkpoint.load_weights(Path(c.train.init_from) / "selected.pt")
            net.load_state_dict(start["model"])
        networks.append(net.to(device))
    members = [Member(c.train.seed, c.system.error_seed) for c in cfgs]
    model = stack_networks(networks, members)
    system = build_system(cfg, model)
    torch.manual_seed(cfg.train.seed)
    method = METHOD_CLASSES[cfg.train.method](model, system, cfg)
    trainer = EnsembleTrainer(method, datas, group_dir, run_dirs, cfgs, progress=progress,
                              device=device)
    if resume and checkpoint.exists(group_dir / "checkpoint.pt"):
        trainer.load_checkpoint()
    return trainer.fit()
