"""DAT on the single errors of dpnn-individual beside the other methods, at equal and full budget.

Reads ``results/dpnn/individual.csv`` (``photonic-dat reproduce dpnn-individual --report-only
--out results/dpnn/sweeps --report-dir results/dpnn``) and each PAT run's ``metrics.csv``, and
prints a Markdown table: physical test accuracy of direct deployment, noise-aware training,
PAT (3 epochs, 165k queries) and DAT (1 epoch without warm-up, 55k queries), plus the physical
*validation* accuracy of PAT and of DAT after their first epoch (55k queries each: the equal-
budget comparison; PAT's test accuracy after one epoch is not recorded).

    python experiments/report_dpnn_individual_dat.py > results/dpnn/individual_dat.md
"""

from __future__ import annotations

from pathlib import Path

from photonic_dat.summary import read_rows

CSV = Path("results/dpnn/individual.csv")
ERRORS = ("shift_std", "distance_std", "fab_phase_std", "rotation_std", "response_gamma",
          "quant_levels", "gain_std")
METHODS = ("direct_deploy", "noise_aware", "pat", "dat_no_is", "dat_is")


def first_epoch_val(run_dir: str) -> str:
    path = Path(run_dir) / "metrics.csv"
    epochs = read_rows(path) if path.exists() else []
    return f"{float(epochs[0]['physical_val_acc']):.3f}" if epochs else ""


def main() -> None:
    by_setting: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
    for row in read_rows(CSV):
        nonzero = [(k, row[k]) for k in ERRORS if float(row[k] or 0) != 0]
        if len(nonzero) != 1:
            continue
        by_setting.setdefault(nonzero[0], {})[row["variant"]] = row
    print("| error | magnitude | direct | noise-aware | PAT (165k) | DAT w/o IS (55k) "
          "| DAT w/ IS (55k) | PAT / DAT w/ IS validation after 55k |")
    print("|---|---|---|---|---|---|---|---|")
    for (key, value), runs in by_setting.items():
        if "dat_is" not in runs and "dat_no_is" not in runs:
            continue
        cells = [f"{float(runs[m]['physical_test_acc']):.3f}" if m in runs else "-"
                 for m in METHODS]
        val = [first_epoch_val(runs[m]["run_dir"]) if m in runs else "-" for m in ("pat", "dat_is")]
        print(f"| {key} | {value} | " + " | ".join(cells) + f" | {val[0]} / {val[1]} |")


if __name__ == "__main__":
    main()
