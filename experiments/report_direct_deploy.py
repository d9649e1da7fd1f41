"""Merge the direct-deployment CSVs and compare them with the paper (issue 2 evidence).

Reads results/mpnn/deploy/*.csv (written by experiments/mpnn_direct_deploy.sh) and writes
results/mpnn/direct_deploy.csv (one row per trained network x error setting x draw),
results/mpnn/direct_deploy.png/.pdf and results/mpnn/DIRECT_DEPLOY.md.
"""

from __future__ import annotations

from pathlib import Path

from photonic_dat.report import aggregate, paper_lookup, plot_degradation
from photonic_dat.summary import read_rows, write_rows

OUT = Path("results/mpnn")


def main() -> None:
    rows = []
    for path in sorted((OUT / "deploy").glob("*.csv")):
        rows.extend(read_rows(path))
    if not rows:
        raise SystemExit("no deployment CSVs under results/mpnn/deploy; run mpnn_direct_deploy.sh")
    write_rows(rows, OUT / "direct_deploy.csv")
    agg = aggregate(rows, ("dataset", "bs_std", "phase_std"))
    paper = paper_lookup("direct_deploy")
    plot_degradation(agg, paper, OUT / "direct_deploy.png",
                     "Direct deployment of the in-silico MPNN (50 epochs)")
    seeds = sorted({r["seed"] for r in rows})
    draws = sorted({r["error_seed"] for r in rows})
    lines = [
        "# Direct deployment of the in-silico MPNN",
        "",
        "Command: `bash experiments/mpnn_direct_deploy.sh` (trains `mpnn-mnist` and `mpnn-fmnist`,"
        " 50 epochs, batch 500, Adam 1e-3, StepLR(10, 0.5); epoch selected on model validation"
        " accuracy, 5,000 validation images carved from the training set; then `photonic-dat"
        " evaluate` on simulated systems).",
        "",
        f"Training seeds: {', '.join(seeds)}; error draws per setting: {len(draws)} "
        f"(error seeds {', '.join(draws)}). Mean ± std over seeds x draws "
        f"(n per point in the table). Physical test accuracy on the 10,000 test images.",
        "",
        "| dataset | BS std | PS std | ours: physical acc | n | paper | ours - paper |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in agg:
        key = (r["dataset"], r["bs_std"], r["phase_std"])
        p = paper.get(key)
        diff = f"{r['physical_test_acc_mean'] - p:+.3f}" if p is not None else ""
        lines.append(
            f"| {r['dataset']} | {r['bs_std']:g} | {r['phase_std']:g} | "
            f"{r['physical_test_acc_mean']:.3f} ± {r['physical_test_acc_std']:.3f} | {r['n']} | "
            f"{'' if p is None else f'{p:.3f}'} | {diff} |"
        )
    lines += ["", "![direct deployment](direct_deploy.png)", ""]
    (OUT / "DIRECT_DEPLOY.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
