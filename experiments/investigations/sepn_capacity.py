"""How well each SEPN variant learns the hardware, at fixed physical parameters (issue 6: why
DAT trails the oracle).

Starting from a trained in-silico network on simulated erroneous hardware, only the SEPNs are
trained (DAT's similarity step; the physical parameters do not move), for each variant. Every
``--eval-every`` iterations: the similarity loss on held-out test batches and the gradient
fidelity (cosine of the SEPN model's task gradient to the hardware's own, and of the ideal
model's, i.e. PAT's, for reference; :mod:`photonic_dat.training.fidelity`). CSV + figure.

    PYTHONPATH=src python experiments/investigations/sepn_capacity.py --preset dpnn-cpu \
      --init-from results/dpnn/sweeps/dpnn-joint/mnist/direct_deploy/train-s0 \
      --set errors.shift_std=0.5 --set errors.distance_std=0.02 --set errors.fab_phase_std=0.3 \
      --set errors.fab_corr_length=2 --variant paper= --variant modulated=dat.sepn_modulation=true \
      --variant "wide=dat.sepn_features=[8,16,32]" \
      --out results/dpnn/sepn_capacity
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import torch

from photonic_dat.config import load_config
from photonic_dat.models.factory import build_model
from photonic_dat.training.fidelity import gradient_fidelity
from photonic_dat.training.run import METHOD_CLASSES, build_system, load_data


def run_variant(args, name: str, extra: list[str]) -> list[dict]:
    cfg = load_config(args.preset, [*args.set, "train.method=dat",
                                    "dat.internal_states=unitary", "dat.warmup_epochs=1",
                                    f"train.seed={args.seed}", f"system.error_seed={args.seed}",
                                    *extra])
    data = load_data(cfg)
    model = build_model(cfg.model, seed=cfg.train.seed)
    start = torch.load(Path(args.init_from) / "selected.pt", weights_only=False)
    model.load_state_dict(start["model"])
    system = build_system(cfg, model)
    torch.manual_seed(cfg.train.seed)
    dat = METHOD_CLASSES["dat"](model, system, cfg)
    for group in dat.opt.param_groups:  # the physical parameters stand still
        group["lr"] = 0.0
    images, labels = data.train
    test_x, test_y = data.test
    b = cfg.train.batch_size
    held = [(test_x[i * b:(i + 1) * b], test_y[i * b:(i + 1) * b])
            for i in range(args.eval_batches)]
    rows, t0 = [], time.perf_counter()
    for it in range(args.iters + 1):
        if it % args.eval_every == 0:
            with torch.no_grad():
                sim = 0.0
                for x, _ in held:
                    enc = model.encode(x)
                    meas = system.measure(enc, internal=True)
                    trace = model(enc, sepns=dat.sepns, sepn_weight=1.0)
                    sim += float(dat._similarity_loss(trace, meas, True))
            fid = gradient_fidelity(model, system, cfg, held, dat.sepns)
            rows.append({"variant": name, "iteration": it, "sim_loss": sim / len(held),
                         "cos_sepn": fid["sepn"], "cos_ideal": fid["ideal"],
                         "sepn_norm_ratio": fid["sepn_norm_ratio"],
                         "seconds": round(time.perf_counter() - t0, 1)})
            print(rows[-1], flush=True)
        if it < args.iters:
            sl = slice((it * b) % (images.shape[0] - b), (it * b) % (images.shape[0] - b) + b)
            dat.step(images[sl], labels[sl], epoch=0)  # warm-up epoch: the SEPNs learn
    return rows


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, c) = plt.subplots(1, 2, figsize=(9, 3.4))
    for name in dict.fromkeys(r["variant"] for r in rows):
        rs = [r for r in rows if r["variant"] == name]
        it = [r["iteration"] for r in rs]
        a.plot(it, [r["sim_loss"] for r in rs], marker="o", ms=3, label=name)
        c.plot(it, [r["cos_sepn"] for r in rs], marker="o", ms=3, label=name)
    ideal = [r["cos_ideal"] for r in rows if r["iteration"] == 0][0]
    c.axhline(ideal, color="k", ls=":", label="ideal model (PAT)")
    a.set(xlabel="SEPN iterations (physical parameters fixed)", ylabel="similarity loss (test)",
          yscale="log")
    c.set(xlabel="SEPN iterations (physical parameters fixed)",
          ylabel="cosine to the hardware gradient", ylim=(min(0, ideal - 0.05), 1))
    a.legend(fontsize=8)
    c.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=130)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="dpnn-cpu")
    parser.add_argument("--init-from", required=True)
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--variant", action="append", required=True,
                        help="NAME=key=value;key=value (empty after NAME= for the preset's SEPN)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--iters", type=int, default=300)
    parser.add_argument("--eval-every", type=int, default=50)
    parser.add_argument("--eval-batches", type=int, default=4)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    csv_path = args.out.with_suffix(".csv")
    names = [spec.partition("=")[0] for spec in args.variant]
    rows = []  # variants measured before and not named now are kept
    if csv_path.exists():
        with csv_path.open() as f:
            rows = [{k: v if k == "variant" else float(v) for k, v in r.items()}
                    for r in csv.DictReader(f) if r["variant"] not in names]
    for spec in args.variant:
        name, _, rest = spec.partition("=")
        rows += run_variant(args, name, [s for s in rest.split(";") if s])
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with csv_path.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    plot(rows, args.out.with_suffix(".png"))


if __name__ == "__main__":
    main()
