"""From a validated config to a finished run directory."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch
import yaml

from ..config import RunConfig, usable_device
from ..data import load_dataset
from ..models.ensemble import error_seeds
from ..models.factory import build_model
from ..system import SimulatedSystem
from . import checkpoint, distributed
from .dat import DAT
from .loop import Trainer, atomic_write_text
from .methods import InSilico, Method
from .noise_aware import NoiseAware
from .oracle import Oracle
from .pat import PAT

METHOD_CLASSES: dict[str, type[Method]] = {
    "insilico": InSilico, "noise_aware": NoiseAware, "pat": PAT, "dat": DAT, "oracle": Oracle,
}


def default_run_dir(cfg: RunConfig, root: str | Path = "runs") -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{cfg.preset}-{cfg.train.method}-s{cfg.train.seed}-{stamp}"


def load_data(cfg: RunConfig):
    d = cfg.dataset
    return load_dataset(d.name, data_dir=d.data_dir, val_size=d.val_size, seed=cfg.train.seed,
                        train_subset=d.train_subset, test_subset=d.test_subset)


def summary_base(cfg: RunConfig) -> dict[str, Any]:
    return {
        "dataset": cfg.dataset.name,
        "preset": cfg.preset,
        "errors": cfg.error_spec().to_dict(),
        "seed": cfg.train.seed,
        "error_seed": cfg.system.error_seed,
        "read_noise": cfg.system.read_noise,
    }


def build_system(cfg: RunConfig, model) -> SimulatedSystem:
    return SimulatedSystem(model, cfg.error_spec(), error_seed=error_seeds(model, cfg),
                           read_noise=cfg.system.read_noise, noise_seed=cfg.train.seed + 99,
                           internal_detection=cfg.system.internal_detection)


def train(cfg: RunConfig, run_dir: str | Path | None = None, *, resume: bool = False,
          progress: bool = True, data=None) -> dict[str, Any]:
    """Train according to ``cfg``; returns the run summary (also written to summary.json)."""
    device = usable_device(cfg.train.device)
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    distributed.init_from_env(device)
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(cfg)
    run_dir.mkdir(parents=True, exist_ok=True)
    if distributed.is_main():  # on resume too: --set overrides change the resolved config
        atomic_write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False), run_dir / "config.yaml")
    data = data if data is not None else load_data(cfg)
    model = build_model(cfg.model, seed=cfg.train.seed).to(device)
    if cfg.train.init_from:
        start = checkpoint.load_weights(Path(cfg.train.init_from) / "selected.pt")
        model.load_state_dict(start["model"])
    system = build_system(cfg, model)
    torch.manual_seed(cfg.train.seed)
    method = METHOD_CLASSES[cfg.train.method](model, system, cfg)
    trainer = Trainer(method, data, run_dir, summary_base(cfg), progress=progress, device=device)
    if resume and checkpoint.exists(run_dir / "checkpoint.pt"):
        trainer.load_checkpoint()
    summary = trainer.fit()
    summary["run_dir"] = str(run_dir)
    return summary


def read_summary(run_dir: str | Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / "summary.json").read_text())
