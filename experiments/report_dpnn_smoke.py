"""Collect the DPNN joint-error smoke runs into results/dpnn/joint_smoke.csv and a short report."""

from __future__ import annotations

import json
from pathlib import Path

from photonic_dat.report import plot_query_budget, queries_to_fraction
from photonic_dat.summary import flatten, read_rows, write_rows

OUT = Path("results/dpnn")


def main() -> None:
    rows = []
    for name, label in (("error-free-mnist-s0", "error_free"),
                        ("joint-direct-mnist-s0", "direct_deploy")):
        for r in read_rows(OUT / "deploy" / f"{name}.csv"):
            rows.append({**r, "variant": label})
    variants = {  # run name -> variant label
        "pat": "pat",
        "dat-mseplane": "dat_is_10k_v0",  # session 1: per-pixel-mean plane loss, random SEPNs
        "dat": "dat_is_10k",  # l2 plane loss, zero-initialised SEPNs, fusion at every plane
        "dat-outfuse": "dat_is_10k_output_fusion",  # as dat_is_10k, fusion at the output only
        # experiments/dpnn_dat_budget.sh: larger hardware budgets
        "dat-outfuse16": "dat_is_10k_output_fusion_16ep",  # the above continued to 16 epochs
        "pat-full": "pat_full",  # 55k images x 3 epochs, lr 0.01
        "dat-full": "dat_is_10k_full",  # 55k x 3, lr 0.01, the preset's DAT settings
        "dat-small": "dat_is_small_sepn_full",  # dat-full with SEPN features (2, 4, 8)
        "dat-nowarm": "dat_is_10k_full_nowarm",  # dat-full without the warm-up epoch
        "dat-nowarm6": "dat_is_10k_full_nowarm_6ep",  # the above continued to 6 epochs
        "dat-nowarm-decay": "dat_is_10k_full_nowarm_decay",  # lr halved after every epoch
    }
    for name, label in variants.items():
        path = OUT / "runs" / f"joint-{name}-mnist-s0" / "summary.json"
        if path.exists():
            rows.append({**flatten(json.loads(path.read_text())), "variant": label})
    write_rows(rows, OUT / "joint_smoke.csv")
    free = next(float(r["physical_test_acc"]) for r in rows if r["variant"] == "error_free")
    lines = ["# DPNN joint-error smoke test (dpnn-cpu, MNIST)", "",
             "Commands: `bash experiments/dpnn_joint_smoke.sh`, then "
             "`bash experiments/dpnn_dat_budget.sh` and "
             "`.venv/bin/python experiments/report_dpnn_smoke.py`", "",
             "| variant | physical test acc (selected) | final epoch | loss vs error-free |",
             "|---|---|---|---|"]
    for r in rows:
        acc = float(r["physical_test_acc"])
        lines.append(f"| {r['variant']} | {acc:.4f} | {float(r['physical_test_acc_final']):.4f} "
                     f"| {free - acc:+.4f} |")
    # measurement budget: physical validation accuracy vs queries (issue 6)
    curves = {}
    for name, label in variants.items():
        path = OUT / "runs" / f"joint-{name}-mnist-s0" / "metrics.csv"
        if path.exists() and (path.parent / "summary.json").exists():
            curves[label] = read_rows(path)
    if curves:
        direct = next(float(r["physical_test_acc"]) for r in rows
                      if r["variant"] == "direct_deploy")
        plot_query_budget(curves, OUT / "query_budget.png", start=direct,
                          title="dpnn-cpu, joint error: accuracy vs physical queries "
                                "(0 queries: direct deployment, test)")
        lines += ["", "Measurement budget (`query_budget.png`): physical queries (training images "
                  "sent through the hardware; validation passes not counted) until the physical "
                  "validation accuracy first reaches 90 % of its final value.", "",
                  "| variant | final physical val acc | queries to 90 % of final |", "|---|---|---|"]
        for label, rows_ in curves.items():
            lines.append(f"| {label} | {float(rows_[-1]['physical_val_acc']):.4f} "
                         f"| {queries_to_fraction(rows_):,.0f} |")
        lines += ["", "![query budget](query_budget.png)"]
    (OUT / "JOINT_SMOKE.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
