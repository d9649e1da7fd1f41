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


def timeit_pair(a: Callable[[], Any], b: Callable[[], Any], repeats: int = 5,
                warmup: int = 1) -> tuple[dict[str, float], dict[str, float]]:
    """:func:`timeit` of ``a`` and ``b``, run alternately (a, b, a, b, ...)."""
    stats: tuple[list[float], list[float]] = ([], [])
    for i in range(warmup + repeats):
        for fn, times in ((a, stats[0]), (b, stats[1])):
            t0 = time.perf_counter()
            fn()
            if i >= warmup:
                times.append(time.perf_counter() - t0)
    return tuple({"median_s": statistics.median(t), "min_s": min(t), "max_s": max(t)}
                 for t in stats)


def _allocator() -> str:
    from .allocator import describe

    return describe()


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        # the widest vector unit torch's CPU kernels use here (e.g. AVX2, AVX512); the same
        # dpnn-cpu PAT and DAT runs took 2.8-2.9x longer on an AVX2-only 2-core VM than on the
        # AVX-512 one (results/bench/README.md), so a line must say which machine it came from
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "malloc_env": {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")},
        "allocator": _allocator(),
    }


def _method_setup(cfg) -> tuple[Any, torch.Tensor, torch.Tensor]:
    """The training method of ``cfg`` on a simulated system (error seed 0) and a random batch."""
    from .models.factory import build_model
    from .system import SimulatedSystem
    from .training.run import METHOD_CLASSES

    model = build_model(cfg.model, seed=0)
    system = SimulatedSystem(model, cfg.error_spec(), error_seed=0)
    m = METHOD_CLASSES[cfg.train.method](model, system, cfg)
    g = torch.Generator().manual_seed(0)
    images = torch.rand(cfg.train.batch_size, 28, 28, generator=g)
    labels = torch.randint(0, 10, (cfg.train.batch_size,), generator=g)
    return m, images, labels


FAST_DAT = {"fuse_internal": False, "shared_forward": True}  # output fusion, one forward
BF16 = {"sepn_dtype": "bfloat16"}


def _mpnn_setup(method: str, internal: str = "none", features=(4, 8, 16), batch: int = 500,
                dat: dict | None = None):
    from .config import from_dict

    cfg = from_dict({
        "errors": {"phase_std": 0.08},
        "train": {"method": method, "batch_size": batch},
        "dat": {"internal_states": internal, "sepn_features": list(features), "warmup_epochs": 0,
                **(dat or {})},
    })
    return _method_setup(cfg)


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
    cases = [("insilico", "insilico", "none", (4, 8, 16), None),
             ("pat", "pat", "none", (4, 8, 16), None),
             ("dat w/o IS (4k)", "dat", "none", (4, 6, 8), None),
             ("dat w/ IS (10k)", "dat", "unitary", (4, 8, 16), None),
             ("dat w/ IS (10k), output fusion, shared forward", "dat", "unitary", (4, 8, 16),
              FAST_DAT),
             ("dat w/ IS (10k), output fusion, shared forward, bf16 SEPN", "dat", "unitary",
              (4, 8, 16), {**FAST_DAT, **BF16}),
             ("dat separable (10k)", "dat", "separable", (4, 8, 16), None),
             ("dat w/ IS (linear SEPN)", "dat", "unitary", (4, 8, 16), {"sepn": "linear"})]
    for label, method, internal, feats, dat in cases:
        m, images, labels = _mpnn_setup(method, internal, feats, batch, dat)
        t = timeit(lambda m=m, images=images, labels=labels: m.step(images, labels, epoch=1),
                   repeats)
        out.append({"bench": "mpnn_iteration", "case": label, **t,
                    "ratio": t["median_s"] / ref["median_s"]})
    # the SEPNs alone: what any DAT iteration must add to PAT (forward + backward of 3 U-Nets)
    from .sepn import build_sepn

    nets = [build_sepn("unet", (4, 8, 16)) for _ in range(3)]
    z = torch.randn(batch, 8, 8, dtype=torch.complex64, generator=g)

    def sepns_only():
        loss = sum((net(z).abs() ** 2).sum() for net in nets)
        loss.backward()

    t = timeit(sepns_only, repeats)
    out.append({"bench": "mpnn_iteration", "case": "3 SEPNs (10k) fwd+bwd alone", **t,
                "ratio": t["median_s"] / ref["median_s"]})
    m, _, _ = _mpnn_setup("insilico", batch=batch)
    test_images = torch.rand(n_eval, 28, 28, generator=g)
    t = timeit(lambda: physical_predictions(m.model, m.system, test_images, 2500),
               max(2, repeats // 2), 1)
    out.append({"bench": "mpnn_iteration", "case": f"physical evaluation of {n_eval} samples", **t,
                "ratio": t["median_s"] / ref["median_s"]})
    by = {r["case"]: r["median_s"] for r in out}
    out.append({"bench": "sepn_overhead", "case": "mpnn: 3 SEPNs fwd+bwd alone / pat",
                "ratio": by["3 SEPNs (10k) fwd+bwd alone"] / by["pat"]})
    for label in [c[0] for c in cases if c[0].startswith("dat w/ IS")]:
        out.append({"bench": "sepn_overhead", "case": f"mpnn: {label} / pat",
                    "ratio": by[label] / by["pat"]})
    return out


def bench_ensemble(repeats: int = 5, members: int = 3, batch: int = 500,
                   methods: tuple[str, ...] = ("insilico", "pat", "dat", "dat-linear"),
                   ) -> list[dict[str, Any]]:
    """One training iteration of an ensemble of E mpnn-mnist runs vs E standalone iterations
    (the reference, measured in the same run): ratio < 1 is what the ensemble axis saves.
    ``dat``: DAT w/ IS with the paper's U-Net SEPN; ``dat-linear``: with the linear SEPN."""
    from .config import from_dict
    from .models.ensemble import Member, stack_networks
    from .models.factory import build_model
    from .system import SimulatedSystem
    from .training.run import METHOD_CLASSES

    out = []
    g = torch.Generator().manual_seed(0)
    images = torch.rand(members * batch, 28, 28, generator=g)
    labels = torch.randint(0, 10, (members * batch,), generator=g)
    for method in methods:
        sepn = "linear" if method == "dat-linear" else "unet"
        cfg = from_dict({"errors": {"phase_std": 0.08},
                         "train": {"method": method.split("-")[0], "batch_size": batch},
                         "dat": {"internal_states": "unitary", "warmup_epochs": 0,
                                 "sepn": sepn}})
        singles = [_method_setup(cfg)[0] for _ in range(members)]

        def standalone(singles=singles):
            for k, m in enumerate(singles):
                m.step(images[k * batch:(k + 1) * batch], labels[k * batch:(k + 1) * batch], 1)

        nets = [build_model(cfg.model, seed=k) for k in range(members)]
        model = stack_networks(nets, [Member(k, k) for k in range(members)])
        system = SimulatedSystem(model, cfg.error_spec(), error_seed=list(range(members)))
        ens = METHOD_CLASSES[cfg.train.method](model, system, cfg)
        # interleaved, so that load from other processes hits both alike
        ref, t = timeit_pair(standalone, lambda ens=ens: ens.step(images, labels, 1), repeats)
        label = f"mpnn-mnist {method}, batch {batch}"
        out.append({"bench": "ensemble", "case": f"{label}: {members} standalone iterations",
                    **ref, "ratio": 1.0})
        out.append({"bench": "ensemble", "case": f"{label}: one ensemble iteration of {members}",
                    **t, "ratio": t["median_s"] / ref["median_s"]})
    return out


def bench_mesh(repeats: int = 5, sizes: tuple[int, ...] = (64, 256)) -> list[dict[str, Any]]:
    """Building a Clements unitary (fwd, fwd+bwd) vs applying it to a batch of 500."""
    from .mesh import UnitaryMesh
    from .mesh.mesh import COLUMN_APPLY_MODES

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

        def layer_bwd(mesh=mesh, x=x):
            mesh.zero_grad()
            (mesh(x).abs() ** 2)[:, 0].sum().backward()

        layer = timeit(layer_bwd, repeats)
        base = {"bench": "mesh", "modes": n}
        out.append({**base, "case": f"apply U (batch 500), {n} modes", **apply, "ratio": 1.0})
        out.append({**base, "case": f"build U forward, {n} modes", **build,
                    "ratio": build["median_s"] / apply["median_s"]})
        out.append({**base, "case": f"build U forward+backward, {n} modes", **both,
                    "ratio": both["median_s"] / apply["median_s"]})
        route = "columns" if n >= COLUMN_APPLY_MODES else "unitary"
        out.append({**base, "case": f"mesh layer fwd+bwd, batch 500, {n} modes ({route})",
                    **layer, "ratio": layer["median_s"] / apply["median_s"]})
    return out


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _peak_rss_mb() -> float:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def peak_memory_mb(fn: Callable[[], Any]) -> float:
    """Peak resident memory (MiB) of the process while running ``fn`` (Linux; nan elsewhere)."""
    if not _reset_peak_rss():
        return float("nan")
    fn()
    return _peak_rss_mb()


def bench_dpnn(repeats: int = 5,
               cases: tuple[tuple[int, int], ...] = ((100, 64), (200, 64), (400, 16)),
               layers: int = 5) -> list[dict[str, Any]]:
    """Diffractive network forward+backward vs a bare FFT reference, same run, same sizes."""
    from .models.diffractive import DiffractivePNN

    out = []
    for n, batch in cases:
        model = DiffractivePNN(n=n, layers=layers, pitch=4e-4, wavelength=7.5e-4, distance=0.03,
                               init="uniform", seed=0)
        g = torch.Generator().manual_seed(0)
        images = torch.rand(batch, 28, 28, generator=g)
        x = model.encode(images)
        phases = [torch.rand(n, n, generator=g).mul(6.28).requires_grad_() for _ in range(layers)]
        h = model._propagator(0, None).transfer_function().detach().clone()
        m = h.shape[-1]

        def reference(x=x, phases=phases, h=h, m=m, n=n):
            field = x
            for k in range(layers + 1):
                if k > 0:
                    field = field * torch.polar(torch.ones_like(phases[k - 1]), phases[k - 1])
                field = torch.fft.ifft2(torch.fft.fft2(field, s=(m, m)) * h)[..., :n, :n]
            (field.abs() ** 2).sum().backward()

        def ours(model=model, x=x):
            model.zero_grad()
            model(x).scores.sum().backward()

        ref = timeit(reference, repeats, 1)
        t = timeit(ours, repeats, 1)
        with torch.no_grad():
            err_field = model(x).planes[-1]
            field = x
            for k in range(layers + 1):
                if k > 0:
                    field = model.after_plane(k - 1, field, None)
                field = torch.fft.ifft2(torch.fft.fft2(field, s=(m, m)) * h)[..., :n, :n]
            rel = float((err_field - field).abs().norm() / field.abs().norm())
        base = {"bench": "dpnn", "n": n, "batch": batch, "layers": layers}
        out.append({**base, "case": f"reference FFT chain N={n} batch {batch}", **ref,
                    "ratio": 1.0, "peak_rss_mb": peak_memory_mb(reference)})
        out.append({**base, "case": f"DiffractivePNN fwd+bwd N={n} batch {batch}", **t,
                    "ratio": t["median_s"] / ref["median_s"], "rel_field_error": rel,
                    "peak_rss_mb": peak_memory_mb(ours)})
    return out


def bench_sepn_overhead(repeats: int = 3) -> list[dict[str, Any]]:
    """DAT / PAT iteration time on the dpnn-cpu preset (the MPNN ratio is in ``mpnn``)."""
    from .config import load_config

    fast = [f"dat.{k}={str(v).lower()}" for k, v in FAST_DAT.items()]
    every_plane = ["dat.fuse_internal=true", "dat.shared_forward=false"]
    cases = {"pat": ("pat", []), "dat w/ IS, fusion at every plane": ("dat", every_plane),
             "dat w/ IS, output fusion, shared forward": ("dat", fast),
             "dat w/ IS, output fusion, shared forward, bf16 SEPN": ("dat", [*fast,
                                                                        "dat.sepn_dtype=bfloat16"]),
             "dat w/ IS, output fusion, shared forward, SEPN (2, 4, 8)": ("dat", [
                 *fast, "dat.sepn_features=[2,4,8]"])}
    times = {}
    for label, (method, extra) in cases.items():
        cfg = load_config("dpnn-cpu", [f"train.method={method}", "dat.internal_states=unitary",
                                       "dat.warmup_epochs=0", "errors.shift_std=0.5", *extra])
        m, images, labels = _method_setup(cfg)
        times[label] = timeit(lambda m=m, i=images, lb=labels: m.step(i, lb, 1), repeats, 1)
    return [{"bench": "sepn_overhead", "case": f"dpnn-cpu {label} iteration", **t,
             "ratio": t["median_s"] / times["pat"]["median_s"]} for label, t in times.items()]


def bench_memory(repeats: int = 1, preset: str = "dpnn-paper", batch: int = 32,
                 shape: tuple[int, int] | None = None) -> list[dict[str, Any]]:
    """Peak resident memory and time of one PAT and one DAT w/ IS iteration on ``preset``.

    ``shape`` = (n, layers) shrinks the network (tests). The peak is the process's high-water
    mark during the iteration (``VmHWM`` after a reset), so it includes the ~0.3-0.5 GB of the
    Python process and torch itself.
    """
    from .config import load_config

    sets = [f"train.batch_size={batch}", "dat.internal_states=unitary", "dat.warmup_epochs=0",
            "errors.shift_std=0.5"]
    if shape is not None:
        sets += [f"model.n={shape[0]}", f"model.layers={shape[1]}"]
    out = []
    for method in ("pat", "dat"):
        cfg = load_config(preset, [f"train.method={method}", *sets])
        m, images, labels = _method_setup(cfg)

        def step(m=m, i=images, lb=labels):
            m.step(i, lb, 1)

        t = timeit(step, max(1, repeats), 1)
        label = "pat" if method == "pat" else "dat w/ IS"
        out.append({"bench": "memory", "case": f"{preset} {label} iteration, batch {batch}",
                    "n": cfg.model.n, "layers": cfg.model.layers, **t,
                    "peak_rss_mb": peak_memory_mb(step)})
    pat, dat = out
    pat["ratio"] = 1.0
    dat["ratio"] = dat["median_s"] / pat["median_s"]
    return out


def step_flops(m, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """FLOPs of one training step of method ``m``, counted by ``torch.utils.flop_counter``:
    ``conv`` (forward + backward convolutions, i.e. the SEPNs) and ``total`` (FFTs are not
    counted by PyTorch's counter)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        m.step(images, labels, 1)
    counts = {str(k): v for k, v in counter.get_flop_counts()["Global"].items()}
    return {"conv": float(sum(v for k, v in counts.items() if "convolution" in k)),
            "total": float(counter.get_total_flops())}


def sgemm_rate(n: int = 1024, repeats: int = 5) -> float:
    """FLOP/s of a float32 n x n matmul on this process's threads (the machine's practical peak)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    t = timeit(lambda: a @ b, repeats, 2)["min_s"]
    return 2.0 * n**3 / t


def bench_sepn_floor(repeats: int = 3) -> list[dict[str, Any]]:
    """Lower bound of DAT / PAT from arithmetic alone: PAT's time plus the SEPN convolutions'
    FLOPs at the machine's matmul rate, over PAT's time. An implementation cannot beat it
    without changing the SEPN (size, batch) or the machine."""
    from .config import load_config

    rate = sgemm_rate()
    out: list[dict[str, Any]] = [{"bench": "sepn_floor", "case": "float32 matmul rate (GFLOP/s)",
                                  "gflops_per_s": rate / 1e9, "ratio": 1.0}]
    mpnn, dpnn = "errors.phase_std=0.08", "errors.shift_std=0.5"
    cases = {"mpnn-mnist DAT w/ IS (10k SEPNs), batch 500": ("mpnn-mnist", mpnn, []),
             "dpnn-cpu DAT w/ IS, SEPN (4, 8, 16)": ("dpnn-cpu", dpnn, []),
             "dpnn-cpu DAT w/ IS, SEPN (2, 4, 8)": ("dpnn-cpu", dpnn,
                                                   ["dat.sepn_features=[2,4,8]"])}
    for label, (preset, error, extra) in cases.items():
        base = ["dat.internal_states=unitary", "dat.warmup_epochs=0", error]
        pat, images, labels = _method_setup(load_config(preset, ["train.method=pat", *base]))
        t_pat = timeit(lambda m=pat, i=images, lb=labels: m.step(i, lb, 1), repeats, 1)
        dat, images, labels = _method_setup(load_config(preset, ["train.method=dat", *base,
                                                                 *extra]))
        flops = step_flops(dat, images, labels)
        floor = (t_pat["median_s"] + flops["conv"] / rate) / t_pat["median_s"]
        out.append({"bench": "sepn_floor", "case": label, "sepn_gflop": flops["conv"] / 1e9,
                    "pat_s": t_pat["median_s"], "ratio": floor})
    return out


BENCHES: dict[str, Callable[..., list[dict[str, Any]]]] = {
    "mpnn": bench_mpnn, "mesh": bench_mesh, "dpnn": bench_dpnn, "sepn": bench_sepn_overhead,
    "floor": bench_sepn_floor, "memory": bench_memory, "ensemble": bench_ensemble,
}


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
            mem = f"  peak {r['peak_rss_mb']:.0f} MiB" if "peak_rss_mb" in r else ""
            print(f"{r['bench']:15s} {r['case']:45s} {med} {rng:22s} x{r['ratio']:.2f}{mem}")
        results.extend(rows)
    return results
