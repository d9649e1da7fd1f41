from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from photonic_dat.optics import Grid


def test_properties():
    g = Grid(200, 0.4e-3, 0.75e-3)
    assert g.size == pytest.approx(80e-3)
    assert g.k == pytest.approx(2 * math.pi / 0.75e-3)
    assert g.nyquist == pytest.approx(1250.0)


@pytest.mark.parametrize("n", [2, 7, 8])
def test_coords_centred(n):
    g = Grid(n, 0.5e-3, 1e-3)
    x = g.coords()
    assert x.shape == (n,) and x.dtype == torch.float64
    torch.testing.assert_close(x, -x.flip(0), rtol=0, atol=1e-18)
    torch.testing.assert_close(x.diff(), torch.full((n - 1,), 0.5e-3, dtype=torch.float64))
    assert x[0].item() == pytest.approx(-(n - 1) / 2 * 0.5e-3)
    xx, yy = g.meshgrid()
    assert torch.equal(xx[3 % n], x) and torch.equal(yy[:, 1], x)


def test_frequencies():
    g = Grid(10, 0.4e-3, 0.75e-3)
    f = g.frequencies(25)
    assert f.shape == (25,)
    assert f[1].item() == pytest.approx(g.frequency_step(25)) == pytest.approx(1 / (25 * 0.4e-3))
    assert f[0].item() == 0.0 and f.max().item() < g.nyquist
    fx, fy = g.frequency_grid(16)
    assert fx.shape == (16, 16) and torch.equal(fx[0], g.frequencies(16))
    assert torch.equal(fy[:, 0], g.frequencies(16))


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(n=1, pitch=1e-3, wavelength=1e-3), "Grid.n"),
        (dict(n=8.0, pitch=1e-3, wavelength=1e-3), "Grid.n"),
        (dict(n=True, pitch=1e-3, wavelength=1e-3), "Grid.n"),
        (dict(n=8, pitch=0.0, wavelength=1e-3), "Grid.pitch"),
        (dict(n=8, pitch=-1e-3, wavelength=1e-3), "Grid.pitch"),
        (dict(n=8, pitch=1e-3, wavelength=float("inf")), "Grid.wavelength"),
        (dict(n=8, pitch=1e-3, wavelength="1"), "Grid.wavelength"),
    ],
)
def test_validation(kwargs, field):
    with pytest.raises(ValueError, match=field) as info:
        Grid(**kwargs)
    assert "\n" not in str(info.value)


def test_frozen():
    g = Grid(8, 1e-3, 1e-3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.n = 9  # type: ignore[misc]
    assert g == Grid(8, 1e-3, 1e-3) and hash(g) == hash(Grid(8, 1e-3, 1e-3))
