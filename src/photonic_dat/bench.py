"""Performance benchmarks: each result is a time *and* a ratio to a reference measured in the same run.

Run with ``photonic-dat bench`` or ``make bench``. Every benchmark times several runs after a
warm-up and reports median, min and max; one JSON line per result goes to ``results/bench/``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch


def timeit(fn: Callable[[], Any], repeats: int = 5, warmup: int = 2) -> dict[str, float]:
    """Median / min / max wall time (s) of ``fn`` over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times)}


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "malloc_env": {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")},
    }


def _mpnn_setup(method: str, internal: str = "none", features=(4, 8, 16), batch: int = 500):
    from .config import from_dict
    from .models.factory import build_model
    from .system import SimulatedSystem
    from .training.run import METHOD_CLASSES

    cfg = from_dict({
        "errors": {"phase_std": 0.08},
        "train": {"method": method, "batch_size": batch},
        "dat": {"internal_states": internal, "sepn_features": list(features), "warmup_epochs": 0},
    })
    model = build_model(cfg.model, seed=0)
    system = SimulatedSystem(model, cfg.error_spec(), error_seed=0)
    m = METHOD_CLASSES[method](model, system, cfg)
    g = torch.Generator().manual_seed(0)
    images = torch.rand(batch, 28, 28, generator=g)
    labels = torch.randint(0, 10, (batch,), generator=g)
    return m, images, labels


def bench_mpnn(repeats: int = 5, batch: int = 500, n_eval: int = 10_000) -> list[dict[str, Any]]:
    """Seconds per training iteration (3 x 64 modes, batch 500) vs a matmul-chain floor."""
    from .training.evaluate import physical_predictions

    n = 64
    g = torch.Generator().manual_seed(0)
    mats = [torch.randn(n, n, dtype=torch.complex64, generator=g).requires_grad_() for _ in range(3)]
    x = torch.randn(batch, n, dtype=torch.complex64, generator=g)

    def floor():
        y = x
        for m in mats:
            y = y @ m
        (y.abs() ** 2).sum().backward()

    ref = timeit(floor, repeats)
    out = [{"bench": "mpnn_iteration", "case": "reference: 3 batched 64x64 matmuls fwd+bwd",
            **ref, "ratio": 1.0}]
    cases = [("insilico", "insilico", "none", (4, 8, 16)), ("pat", "pat", "none", (4, 8, 16)),
             ("dat w/o IS (4k)", "dat", "none", (4, 6, 8)),
             ("dat w/ IS (10k)", "dat", "unitary", (4, 8, 16)),
             ("dat separable (10k)", "dat", "separable", (4, 8, 16))]
    for label, method, internal, feats in cases:
        m, images, labels = _mpnn_setup(method, internal, feats, batch)
        t = timeit(lambda m=m, images=images, labels=labels: m.step(images, labels, epoch=1),
                   repeats)
        out.append({"bench": "mpnn_iteration", "case": label, **t,
                    "ratio": t["median_s"] / ref["median_s"]})
    m, _, _ = _mpnn_setup("insilico", batch=batch)
    test_images = torch.rand(n_eval, 28, 28, generator=g)
    t = timeit(lambda: physical_predictions(m.model, m.system, test_images, 2500),
               max(2, repeats // 2), 1)
    out.append({"bench": "mpnn_iteration", "case": f"physical evaluation of {n_eval} samples", **t,
                "ratio": t["median_s"] / ref["median_s"]})
    by = {r["case"]: r["median_s"] for r in out}
    out.append({"bench": "sepn_overhead", "case": "mpnn: dat w/ IS / pat",
                "ratio": by["dat w/ IS (10k)"] / by["pat"]})
    return out


def bench_mesh(repeats: int = 5, sizes: tuple[int, ...] = (64, 256)) -> list[dict[str, Any]]:
    """Building a Clements unitary (fwd, fwd+bwd) vs applying it to a batch of 500."""
    from .mesh import UnitaryMesh

    out = []
    for n in sizes:
        mesh = UnitaryMesh(n, init="uniform", generator=torch.Generator().manual_seed(0))
        x = torch.randn(500, n, dtype=torch.complex64)
        u = mesh.unitary().detach()
        apply = timeit(lambda u=u, x=x: x @ u.T, repeats)
        with torch.no_grad():
            build = timeit(mesh.unitary, repeats)

        def build_bwd(mesh=mesh):
            mesh.zero_grad()
            (mesh.unitary().abs() ** 2)[0].sum().backward()

        both = timeit(build_bwd, repeats)
        base = {"bench": "mesh", "modes": n}
        out.append({**base, "case": f"apply U (batch 500), {n} modes", **apply, "ratio": 1.0})
        out.append({**base, "case": f"build U forward, {n} modes", **build,
                    "ratio": build["median_s"] / apply["median_s"]})
        out.append({**base, "case": f"build U forward+backward, {n} modes", **both,
                    "ratio": both["median_s"] / apply["median_s"]})
    return out


BENCHES: dict[str, Callable[..., list[dict[str, Any]]]] = {"mpnn": bench_mpnn, "mesh": bench_mesh}


def run(names: list[str] | None = None, out_dir: str | Path = "results/bench",
        repeats: int = 5) -> list[dict[str, Any]]:
    """Run benchmarks, print a table, append JSON lines to ``out_dir/<name>.jsonl``."""
    names = names or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        raise ValueError(f"unknown benchmark {unknown[0]!r}; available: {', '.join(BENCHES)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    info = machine()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    results = []
    for name in names:
        rows = BENCHES[name](repeats)
        with open(out_dir / f"{name}.jsonl", "a") as fh:
            for r in rows:
                fh.write(json.dumps({**r, "time": stamp, "machine": info}) + "\n")
        for r in rows:
            med = f"{r['median_s'] * 1e3:9.2f} ms" if "median_s" in r else " " * 12
            rng = (f"[{r['min_s'] * 1e3:.2f}, {r['max_s'] * 1e3:.2f}]" if "min_s" in r else "")
            print(f"{r['bench']:15s} {r['case']:45s} {med} {rng:22s} x{r['ratio']:.2f}")
        results.extend(rows)
    return results
