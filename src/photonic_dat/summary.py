"""Run summaries as table rows: one CSV row per run, error stds flattened into columns."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: leading columns of every results CSV (the run-summary contract of DESIGN.md)
SUMMARY_COLUMNS = [
    "method", "dataset", "preset", "seed", "error_seed", "epochs", "queries",
    "model_test_acc", "physical_test_acc", "physical_test_acc_final", "selected_epoch",
    "wall_s", "internal_states", "sepn",
]


def flatten(summary: dict[str, Any]) -> dict[str, Any]:
    """A summary dict -> a flat row (``errors`` spread into its own columns)."""
    row = {k: v for k, v in summary.items() if k != "errors"}
    for key, value in (summary.get("errors") or {}).items():
        row[key] = value
    return row


def write_rows(rows: Iterable[dict[str, Any]], path: str | Path) -> Path:
    """Write rows to CSV (contract columns first, then the rest in first-seen order), atomically."""
    rows = list(rows)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = [k for r in rows for k in r if k not in SUMMARY_COLUMNS]
    keys = [k for k in SUMMARY_COLUMNS if any(k in r for r in rows)] + list(dict.fromkeys(extra))
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: _fmt(r.get(k, "")) for k in keys})
    os.replace(tmp, path)
    return path


def _fmt(v: Any) -> Any:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, dict):
        return ";".join(f"{k}={val}" for k, val in v.items())
    if isinstance(v, (list, tuple)):  # e.g. fitted_shifts: "dx,dy;dx,dy;..."
        return ";".join(",".join(str(_fmt(x)) for x in item) if isinstance(item, (list, tuple))
                        else str(_fmt(item)) for item in v)
    return v


def read_rows(path: str | Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))
