"""Timing of one mask + angular-spectrum propagation, forward + backward (not a test).

Run: ``PYTHONPATH=src .venv/bin/python tests/optics/bench_propagation.py``

Compares ``AngularSpectrum`` (padding 2, pruned FFTs, buffer transfer function) with a bare
reference written inline: multiply by the mask, pad, fft2, multiply by H, ifft2, crop. Both
start from a trainable phase and end with ``|U|^2.sum().backward()``. Median of 5 after warm-up.
"""

from __future__ import annotations

import statistics
import time

import torch
import torch.nn.functional as F

from photonic_dat.optics import AngularSpectrum, Grid, PhaseMask


def _median_ms(fn, repeats: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def time_case(n: int, batch: int) -> tuple[int, float, float]:
    """(M, module ms, reference ms) for one N: phase mask, propagation, |U|^2.sum().backward()."""
    grid = Grid(n, 0.4e-3, 0.75e-3)
    prop = AngularSpectrum(grid, 30e-3, padding=2)
    mask = PhaseMask(n, init="uniform", generator=torch.Generator().manual_seed(0))
    field = torch.randn(batch, n, n, dtype=torch.complex64)
    h = prop.transfer_function().clone()
    phase = mask.phase.detach().clone().requires_grad_(True)
    m = prop.padded_size

    def module_step() -> None:
        mask.zero_grad(set_to_none=True)
        (prop(mask(field)).abs() ** 2).sum().backward()

    def reference_step() -> None:
        phase.grad = None
        u = field * torch.polar(torch.ones_like(phase), phase)
        u = F.pad(u, (0, m - n, 0, m - n))
        u = torch.fft.ifft2(torch.fft.fft2(u) * h)[..., :n, :n]
        (u.abs() ** 2).sum().backward()

    return m, _median_ms(module_step), _median_ms(reference_step)


def main(threads: int = 2, batch: int = 64) -> None:
    torch.set_num_threads(threads)
    print(f"torch {torch.__version__}, threads {threads}, batch {batch}, complex64")
    for n in (100, 200):
        m, t_mod, t_ref = time_case(n, batch)
        print(
            f"N={n} M={m}: AngularSpectrum {t_mod:7.1f} ms   bare reference {t_ref:7.1f} ms   "
            f"ratio {t_mod / t_ref:.2f}"
        )


if __name__ == "__main__":
    main()
