"""Autograd through masks, propagation and detectors matches finite differences (float64)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from photonic_dat.optics import AngularSpectrum, Grid, PhaseMask, ten_region_layout

N = 32
GRID = Grid(N, 0.4e-3, 0.75e-3)  # D2NN pitch and wavelength, 10 mm between layers


def build(coupling: float) -> tuple[nn.Sequential, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    prop = AngularSpectrum(GRID, 10e-3)
    model = nn.Sequential(
        PhaseMask(N, "uniform", coupling, generator=gen),
        prop,
        PhaseMask(N, "uniform", coupling, generator=gen),
        prop,
    ).double()
    field = torch.randn(2, N, N, dtype=torch.complex128, generator=gen)
    return model, field


@pytest.mark.parametrize("coupling", [0.0, 0.4])
def test_phase_gradient_matches_finite_differences(coupling):
    model, field = build(coupling)
    layout = ten_region_layout(N)
    assert model[1].transfer_function().dtype == torch.complex128

    def loss() -> torch.Tensor:
        energies = layout.energies(model(field).abs() ** 2)  # (2, 10)
        return energies[:, 3].sum() / energies.sum()  # fraction of light on detector 3

    loss().backward()
    gen = torch.Generator().manual_seed(1)
    eps = 1e-6
    for layer in (model[0], model[2]):
        grad = layer.phase.grad.clone()
        assert grad.abs().max() > 0
        for idx in torch.randint(0, N, (4, 2), generator=gen).tolist():
            i, j = idx
            with torch.no_grad():
                layer.phase[i, j] += eps
                up = loss().item()
                layer.phase[i, j] -= 2 * eps
                down = loss().item()
                layer.phase[i, j] += eps
            fd = (up - down) / (2 * eps)
            assert grad[i, j].item() == pytest.approx(fd, rel=1e-5, abs=1e-9)


def test_gradcheck_small_grid():
    g = Grid(8, 0.4e-3, 0.75e-3)
    prop = AngularSpectrum(g, 1e-3, dtype=torch.complex128)
    phase = torch.rand(8, 8, dtype=torch.float64, requires_grad=True)
    field = torch.randn(8, 8, dtype=torch.complex128, requires_grad=True)

    def f(phase, field):
        return prop(field * torch.polar(torch.ones_like(phase), phase)).abs() ** 2

    assert torch.autograd.gradcheck(f, (phase, field))
