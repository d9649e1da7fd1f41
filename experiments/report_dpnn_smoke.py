"""Collect the DPNN joint-error smoke runs into results/dpnn/joint_smoke.csv and a short report."""

from __future__ import annotations

import json
from pathlib import Path

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
    }
    for name, label in variants.items():
        path = OUT / "runs" / f"joint-{name}-mnist-s0" / "summary.json"
        if path.exists():
            rows.append({**flatten(json.loads(path.read_text())), "variant": label})
    write_rows(rows, OUT / "joint_smoke.csv")
    free = next(float(r["physical_test_acc"]) for r in rows if r["variant"] == "error_free")
    lines = ["# DPNN joint-error smoke test (dpnn-cpu, MNIST)", "",
             "Command: `bash experiments/dpnn_joint_smoke.sh`", "",
             "| variant | physical test acc (selected) | final epoch | loss vs error-free |",
             "|---|---|---|---|"]
    for r in rows:
        acc = float(r["physical_test_acc"])
        lines.append(f"| {r['variant']} | {acc:.4f} | {float(r['physical_test_acc_final']):.4f} "
                     f"| {free - acc:+.4f} |")
    (OUT / "JOINT_SMOKE.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
