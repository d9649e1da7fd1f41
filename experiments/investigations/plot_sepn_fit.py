"""Training curves of the SEPN-fit study (issue 4) at MNIST phase std 0.10: what limits DAT.

Physical validation accuracy per epoch (mean over 3 seeds, band = min..max) of every variant
started from the in-silico network: the oracle, DAT with exact SEPNs, with intensity-equivalent
SEPNs (exact intensities, other internal phases), the current linear-SEPN DAT, the l2/weight-decay
variants, coherent detection and PAT. Writes ``curves.png``/``.pdf`` and ``curves.csv`` (selected
and final physical test accuracy per variant) into ``--out``.

    PYTHONPATH=src python experiments/investigations/plot_sepn_fit.py \
        --out results/investigations/sepn-fit
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
from pathlib import Path

from photonic_dat.viz import pyplot, save_figure

RUNS = Path("results/investigations/runs")
SWEEP = Path("results/investigations/sweeps/mpnn-sepn-fit/mnist")



def seeds(pattern: str) -> list[Path]:
    """The three seeds' run directories of a ``{s}`` pattern."""
    return [Path(pattern.format(s=s)) for s in range(3)]


#: label -> run directories (3 seeds), in legend order
VARIANTS = {
    "oracle (the hardware's own gradient)": seeds(f"{RUNS}/finetune-ps0.1-oracle-10ep-s{{s}}"),
    "DAT, exact SEPN": seeds(f"{RUNS}/exact-sepn-dat-phase0.1-s{{s}}"),
    "DAT, intensity-equivalent SEPN (0.5 rad)": seeds(
        f"{RUNS}/equivalent0.5-sepn-dat-phase0.1-s{{s}}"),
    "DAT, intensity-equivalent SEPN (3 rad)": seeds(f"{RUNS}/equivalent3-sepn-dat-phase0.1-s{{s}}"),
    "DAT linear SEPN, mse, lr 1e-4 (dat_is_linear_ft)": seeds(
        f"{SWEEP}/dat_is_linear_ft/phase0.1/s{{s}}-d0"),
    "l2, lr 1e-3 (dat_is_linear_ft_l2_nowd)": seeds(
        f"{SWEEP}/dat_is_linear_ft_l2_nowd/phase0.1/s{{s}}-d0"),
    "l2, lr 1e-3, weight decay 3 (dat_is_linear_ft_l2_wd3)": seeds(
        f"{SWEEP}/dat_is_linear_ft_l2_wd3/phase0.1/s{{s}}-d0"),
    "the same, coherent detection (..._wd3_field)": seeds(
        f"{SWEEP}/dat_is_linear_ft_l2_wd3_field/phase0.1/s{{s}}-d0"),
    "DAT, mesh-parameter SEPN (dat_is_mesh_ft)": seeds(f"{SWEEP}/dat_is_mesh_ft/phase0.1/s{{s}}-d0"),
    "PAT": seeds(f"{RUNS}/finetune-ps0.1-pat-10ep-s{{s}}"),
}


def curve(run: Path) -> list[float]:
    with (run / "metrics.csv").open() as f:
        return [float(r["physical_val_acc"]) for r in csv.DictReader(f)]


def mean_std(values: list[float]) -> str:
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    plt = pyplot()
    fig, (ax, zoom) = plt.subplots(1, 2, figsize=(13, 5))
    rows = []
    for label, runs in VARIANTS.items():
        missing = [str(r) for r in runs if not (r / "summary.json").exists()]
        if missing:
            raise SystemExit(f"{label}: unfinished runs {missing}")
        curves = [curve(r) for r in runs]
        epochs = range(1, min(map(len, curves)) + 1)
        per_epoch = list(zip(*[c[: len(epochs)] for c in curves], strict=True))
        for a in (ax, zoom):
            line, = a.plot(epochs, [statistics.mean(v) for v in per_epoch], marker="o", ms=3,
                           label=label)
            a.fill_between(epochs, [min(v) for v in per_epoch], [max(v) for v in per_epoch],
                           color=line.get_color(), alpha=0.12)
        summaries = [json.loads((r / "summary.json").read_text()) for r in runs]
        rows.append({"variant": label,
                     "selected": mean_std([s["physical_test_acc"] for s in summaries]),
                     "final": mean_std([s["physical_test_acc_final"] for s in summaries]),
                     "runs": " ".join(str(r) for r in runs)})
    ax.set(xlabel="epoch (from the in-silico network)", ylabel="physical validation accuracy",
           title="all variants (band: min..max over 3 seeds)", ylim=(0.3, 1.0))
    zoom.set(xlabel="epoch (from the in-silico network)", title="zoom", ylim=(0.84, 0.97))
    for a in (ax, zoom):
        a.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("MNIST, phase error std 0.10, 10 epochs from the in-silico network: "
                 "what limits DAT")
    args.out.mkdir(parents=True, exist_ok=True)
    save_figure(fig, args.out / "curves.png")
    with (args.out / "curves.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for r in rows:
        print(f"{r['variant']}: selected {r['selected']}, final {r['final']}")


if __name__ == "__main__":
    main()
