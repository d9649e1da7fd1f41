"""DAT on the single errors of dpnn-individual beside the other methods, at equal and full budget.

Reads ``results/dpnn/individual.csv`` (``photonic-dat reproduce dpnn-individual --report-only
--out results/dpnn/sweeps --report-dir results/dpnn``) and each PAT run's ``metrics.csv``, and
prints a Markdown table: physical test accuracy of direct deployment, noise-aware training,
PAT (3 epochs, 165k queries) and DAT (1 epoch without warm-up, 55k queries), plus the physical
*validation* accuracy of PAT and of both DAT methods after their first epoch (55k queries each:
the equal-budget comparison; PAT's test accuracy after one epoch is not recorded).

    python experiments/report_dpnn_individual_dat.py > results/dpnn/individual_dat.md

With ``--into results/dpnn/REPORT.md`` it also replaces the report's copy of the table (the one
whose header starts like the printed one) with a readable version: error names instead of
config keys, each error named once, and the best of the hardware-in-the-loop methods (PAT,
DAT w/o IS, DAT w/ IS) in bold.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

from photonic_dat.summary import read_rows

CSV = Path("results/dpnn/individual.csv")
ERRORS = ("shift_std", "distance_std", "fab_phase_std", "rotation_std", "response_gamma",
          "quant_levels", "gain_std")
METHODS = ("direct_deploy", "noise_aware", "pat", "dat_no_is", "dat_is")
IN_THE_LOOP = ("pat", "dat_no_is", "dat_is")
LABELS = {"shift_std": "lateral shift (px)", "distance_std": "gap distance error",
          "fab_phase_std": "fabrication phase (rad)", "rotation_std": "rotation (deg)",
          "response_gamma": "response distortion gamma", "quant_levels": "phase levels",
          "gain_std": "detector gain std"}
HEADER = ("| error | magnitude | direct | noise-aware | PAT (165k) | DAT w/o IS (55k) "
          "| DAT w/ IS (55k) | PAT / DAT w/o IS / DAT w/ IS validation after 55k |")


@functools.cache  # both tables of one call read the same runs
def first_epoch_val(run_dir: str) -> str:
    path = Path(run_dir) / "metrics.csv"
    epochs = read_rows(path) if path.exists() else []
    return f"{float(epochs[0]['physical_val_acc']):.3f}" if epochs else ""


def settings() -> dict[tuple[str, str], dict[str, dict[str, str]]]:
    """The CSV's single-error rows: (error key, magnitude) -> method -> row."""
    by_setting: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
    if not CSV.exists():
        sys.exit(f"error: {CSV} not found; run `photonic-dat reproduce dpnn-individual "
                 "--report-only --out results/dpnn/sweeps --report-dir results/dpnn` first")
    for row in read_rows(CSV):
        nonzero = [(k, row[k]) for k in ERRORS if float(row[k] or 0) != 0]
        if len(nonzero) == 1:
            by_setting.setdefault(nonzero[0], {})[row["variant"]] = row
    return by_setting


def table(by_setting: dict[tuple[str, str], dict[str, dict[str, str]]],
          readable: bool = False) -> list[str]:
    """The Markdown table, one row per setting where DAT ran; ``readable``: the report's form."""
    lines = [HEADER, "|---|---|---|---|---|---|---|---|"]
    named = set()
    for (key, value), runs in by_setting.items():
        if "dat_is" not in runs and "dat_no_is" not in runs:
            continue
        acc = {m: f"{float(runs[m]['physical_test_acc']):.3f}" for m in METHODS if m in runs}
        cells = {m: acc.get(m, "-") for m in METHODS}
        val = [first_epoch_val(runs[m]["run_dir"]) if m in runs else "-" for m in IN_THE_LOOP]
        error = key
        if readable:
            best = max(acc[m] for m in IN_THE_LOOP if m in acc)
            cells.update({m: f"**{acc[m]}**" for m in IN_THE_LOOP if acc.get(m) == best})
            error = "" if key in named else LABELS[key]
            named.add(key)
        lines.append(f"| {error} | {value} | " + " | ".join(cells[m] for m in METHODS)
                     + f" | {' / '.join(val)} |")
    return lines


def replace_table(report: Path, lines: list[str]) -> None:
    """Put ``lines`` in place of the table under ``HEADER``'s first cells in ``report``."""
    text = report.read_text().splitlines()
    start = next((i for i, line in enumerate(text) if line.startswith(HEADER[:60])), None)
    if start is None:
        sys.exit(f"error: {report} has no table starting {HEADER[:60]!r}")
    end = start
    while end < len(text) and text[end].startswith("|"):
        end += 1
    text[start:end] = lines
    report.write_text("\n".join(text) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--into", type=Path, help="also rewrite this report's copy of the table")
    args = parser.parse_args()
    by_setting = settings()
    print("\n".join(table(by_setting)))
    if args.into:
        replace_table(args.into, table(by_setting, readable=True))


if __name__ == "__main__":
    main()
