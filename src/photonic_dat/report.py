"""Aggregate result rows, compare with the paper's published numbers, and plot.

Rows are the run-summary rows of results CSVs (see :mod:`photonic_dat.summary`). The paper's
numbers ship with the package (``paper/dat_mpnn_official_results.csv``).
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

#: our dataset names -> the paper's
PAPER_DATASET = {"mnist": "MNIST", "fashion-mnist": "FMNIST"}


def paper_rows() -> list[dict[str, Any]]:
    """The official results: dataset (ours), bs_std, phase_std, method, accuracies (floats)."""
    inverse = {v: k for k, v in PAPER_DATASET.items()}
    text = (resources.files("photonic_dat") / "paper" / "dat_mpnn_official_results.csv").read_text()
    out = []
    for r in csv.DictReader(text.splitlines()):
        out.append({
            "dataset": inverse[r["dataset"]],
            "bs_std": float(r["bs_error_std"]),
            "phase_std": float(r["phase_error_std"]),
            "method": r["method"],
            "model_test_acc": float(r["model_test_acc"]),
            "physical_test_acc": float(r["physical_test_acc"]),
        })
    return out


def paper_lookup(method: str) -> dict[tuple[str, float, float], float]:
    return {(r["dataset"], r["bs_std"], r["phase_std"]): r["physical_test_acc"]
            for r in paper_rows() if r["method"] == method}


def mean_std(values: list[float]) -> tuple[float, float]:
    n = len(values)
    if n == 0:
        return float("nan"), float("nan")
    mu = sum(values) / n
    sd = math.sqrt(sum((v - mu) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return mu, sd


def aggregate(rows: Iterable[dict[str, Any]], keys: tuple[str, ...],
              metrics: tuple[str, ...] = ("physical_test_acc", "physical_test_acc_final",
                                          "model_test_acc")) -> list[dict[str, Any]]:
    """Group rows by ``keys``; mean, std and count of each metric per group."""
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[tuple(_num(r[k]) for k in keys)].append(r)
    out = []
    for key in sorted(groups, key=lambda k: tuple(str(x) if isinstance(x, str) else f"{x:012.6f}"
                                                  for x in k)):
        rs = groups[key]
        row: dict[str, Any] = dict(zip(keys, key, strict=True))
        row["n"] = len(rs)
        for m in metrics:
            vals = [float(r[m]) for r in rs if r.get(m) not in (None, "")]
            row[f"{m}_mean"], row[f"{m}_std"] = mean_std(vals)
        out.append(row)
    return out


def _num(v: Any) -> Any:
    try:
        return float(v)
    except (TypeError, ValueError):
        return v


def plot_degradation(agg: list[dict[str, Any]], paper: dict[tuple[str, float, float], float],
                     path: Path, title: str) -> Path:
    """Accuracy vs error std, one panel per dataset x error type, ours (mean ± std) vs paper."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = sorted({r["dataset"] for r in agg})
    kinds = (("phase_std", "phase error std (rad)"), ("bs_std", "beam-splitter error std"))
    fig, axes = plt.subplots(len(datasets), 2, figsize=(8, 3.0 * len(datasets)), squeeze=False)
    for i, ds in enumerate(datasets):
        for j, (key, label) in enumerate(kinds):
            other = "bs_std" if key == "phase_std" else "phase_std"
            pts = sorted((r[key], r["physical_test_acc_mean"], r["physical_test_acc_std"])
                         for r in agg if r["dataset"] == ds and r[other] == 0)
            ax = axes[i][j]
            if pts:
                xs, ys, es = zip(*pts, strict=True)
                ax.errorbar(xs, ys, yerr=es, marker="o", capsize=3, label="ours (mean ± std)")
            ppts = sorted((k[2] if key == "phase_std" else k[1], v) for k, v in paper.items()
                          if k[0] == ds and (k[1] if key == "phase_std" else k[2]) == 0)
            if ppts:
                xs, ys = zip(*ppts, strict=True)
                ax.plot(xs, ys, "s--", color="gray", label="paper (1 run)")
            ax.set_xlabel(label)
            ax.set_ylabel("physical test accuracy")
            ax.set_title(f"{ds}", fontsize=10)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    fig.savefig(path.with_suffix(".pdf"))
    plt.close(fig)
    return path
