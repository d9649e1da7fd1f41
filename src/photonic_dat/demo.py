"""`make demo`: direct deployment vs PAT vs DAT on MNIST under phase errors, in a few minutes."""

from __future__ import annotations

import json
import time
from pathlib import Path

from .config import load_config
from .summary import flatten, write_rows
from .training.run import load_data, train

DEMO_METHODS = (("insilico", "direct deployment"), ("pat", "PAT"), ("dat", "DAT w/ IS"))


def run_demo(out: Path = Path("runs/demo"), quick: bool = False) -> list[dict]:
    """Train the three methods on the `demo` preset and print/plot the comparison."""
    overrides = []
    if quick:
        overrides = ["dataset.train_subset=2000", "dataset.test_subset=500",
                     "dataset.val_size=500", "train.epochs=2", "dat.warmup_epochs=1"]
    base = load_config("demo", overrides)
    e = base.error_spec()
    print(
        f"photonic-dat demo: MPNN ({base.model.layers} x {base.model.modes}-mode meshes) on "
        f"{base.dataset.name}, subset of {base.dataset.train_subset} training / "
        f"{base.dataset.test_subset} test images, {base.train.epochs} epochs "
        f"(the paper: full set, 50 epochs); hidden errors: phase_std={e.phase_std}, "
        f"bs_std={e.bs_std} (error seed {base.system.error_seed})",
        flush=True,
    )
    data = load_data(base)
    rows, t0 = [], time.perf_counter()
    for method, label in DEMO_METHODS:
        cfg = load_config("demo", [*overrides, f"train.method={method}"])
        print(f"\n== {label} ==", flush=True)
        summary = train(cfg, out / method, data=data)
        summary["label"] = label
        rows.append(summary)
    print(f"\n{'method':20s} {'model acc':>10s} {'physical acc':>13s} {'queries':>9s}")
    for r in rows:
        print(f"{r['label']:20s} {r['model_test_acc']:10.3f} {r['physical_test_acc']:13.3f} "
              f"{r['queries']:9d}")
    print(f"(accuracies on {len(data.test[1])} test images; physical = the erroneous system; "
          f"{time.perf_counter() - t0:.0f} s in all)")
    write_rows([flatten(r) for r in rows], out / "demo.csv")
    (out / "demo.json").write_text(json.dumps(rows, indent=2))
    path = plot_demo(rows, out / "demo.png")
    print(f"table: {out / 'demo.csv'}  plot: {path}")
    return rows


def plot_demo(rows: list[dict], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [r["label"] for r in rows]
    phys = [r["physical_test_acc"] for r in rows]
    ideal = [r["model_test_acc"] for r in rows]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    xs = range(len(rows))
    ax.bar([x - 0.2 for x in xs], ideal, 0.4, label="numerical model", color="#9ecae1")
    ax.bar([x + 0.2 for x in xs], phys, 0.4, label="physical system", color="#08519c")
    for x, v in zip(xs, phys, strict=True):
        ax.text(x + 0.2, v + 0.01, f"{v:.3f}", ha="center", fontsize=8)
    ax.set_xticks(list(xs), labels)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("test accuracy")
    ax.set_title("MPNN on MNIST with hidden phase errors", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path
