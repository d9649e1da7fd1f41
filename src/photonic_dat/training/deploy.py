"""Direct deployment: evaluate a trained run on simulated systems with any error spec."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ..config import RunConfig, from_dict
from ..models.factory import build_model
from ..system import SimulatedSystem
from . import checkpoint
from .evaluate import accuracy, physical_predictions
from .run import load_data, read_summary


def load_run(run_dir: str | Path):
    """(config, model at the selected epoch, model at the final epoch) of a finished run.

    A finished run without its last checkpoint (one that came back from a GPU loan without
    it, experiments/gpu) still loads when its last epoch was selected: then the selected
    network is the final one."""
    import yaml

    run_dir = Path(run_dir)
    for name in ("config.yaml", "selected.pt"):
        if not (run_dir / name).exists():
            raise FileNotFoundError(
                f"{run_dir} is not a finished run directory ({name} missing); "
                "run `photonic-dat train` first"
            )
    cfg = from_dict(yaml.safe_load((run_dir / "config.yaml").read_text()))
    selected = build_model(cfg.model, seed=cfg.train.seed)
    weights = checkpoint.load_weights(run_dir / "selected.pt")["model"]
    selected.load_state_dict(weights)
    final = build_model(cfg.model, seed=cfg.train.seed)
    if checkpoint.exists(run_dir / "checkpoint.pt"):
        weights = checkpoint.load(run_dir / "checkpoint.pt")["model"]
    elif not _last_epoch_selected(run_dir):
        raise FileNotFoundError(
            f"{run_dir} has no checkpoint.pt, and its final network (an epoch after the "
            "selected one) is in no other file"
        )
    final.load_state_dict(weights)
    return cfg, selected, final


def _last_epoch_selected(run_dir: Path) -> bool:
    if not (run_dir / "summary.json").exists():
        return False
    s = read_summary(run_dir)
    return s.get("selected_epoch") == s.get("epochs")


def expand_sweep(base: dict[str, float], sweeps: dict[str, list[float]]) -> list[dict[str, float]]:
    """Each swept key varied alone (others at ``base``); with no sweep, just ``base``."""
    if not sweeps:
        return [dict(base)]
    out = []
    for key, values in sweeps.items():
        for v in values:
            out.append({**base, key: v})
    return out


def deploy(run_dir: str | Path, error_sets: list[dict[str, float]], draws: int = 1,
           first_error_seed: int = 0, progress: bool = True,
           device: str = "cpu") -> list[dict[str, Any]]:
    """Physical test accuracy of a run's selected and final networks on each (errors, draw),
    simulated on ``device`` (wherever the run was trained)."""
    cfg, selected, final = load_run(run_dir)
    selected, final = selected.to(device), final.to(device)
    summary = read_summary(run_dir)
    data = load_data(cfg)
    images, labels = data.test
    rows = []
    jobs = list(itertools.product(error_sets, range(draws)))
    for errors, d in tqdm(jobs, desc="deploy", disable=not progress, leave=False):
        spec_cfg: RunConfig = from_dict({**cfg.to_dict(), "errors": errors})
        spec = spec_cfg.error_spec()
        seed = first_error_seed + d
        accs = {}
        for name, model in (("physical_test_acc", selected), ("physical_test_acc_final", final)):
            system = SimulatedSystem(model, spec, error_seed=seed)
            pred = physical_predictions(model, system, images, cfg.train.eval_batch_size,
                                        device=device)
            accs[name] = accuracy(pred, labels)
        rows.append({
            "method": summary["method"], "dataset": summary["dataset"],
            "preset": summary["preset"], "seed": summary["seed"], "error_seed": seed,
            "epochs": summary["epochs"], "queries": summary["queries"],
            "model_test_acc": summary["model_test_acc"], **accs,
            "selected_epoch": summary["selected_epoch"], "wall_s": summary["wall_s"],
            "internal_states": summary["internal_states"], "sepn": summary["sepn"],
            "errors": spec.to_dict(), "deployed_from": str(run_dir),
        })
    return rows
