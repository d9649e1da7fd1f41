from __future__ import annotations

import math

import pytest
import torch

from photonic_dat.optics import Aperture, Grid, PhaseMask


def test_zero_mask_is_identity():
    mask = PhaseMask(8)
    u = torch.randn(3, 8, 8, dtype=torch.complex64)
    torch.testing.assert_close(mask(u), u)
    assert isinstance(mask.phase, torch.nn.Parameter) and mask.phase.shape == (8, 8)


def test_uniform_init_and_phase_factor():
    mask = PhaseMask(16, init="uniform", generator=torch.Generator().manual_seed(0))
    ph = mask.phase.detach()
    assert 0 <= ph.min() and ph.max() < 2 * math.pi and ph.std() > 1.0
    u = torch.ones(16, 16, dtype=torch.complex64)
    torch.testing.assert_close(mask(u), torch.polar(torch.ones_like(ph), ph))
    again = PhaseMask(16, init="uniform", generator=torch.Generator().manual_seed(0))
    assert torch.equal(again.phase, mask.phase)


def test_amplitude_coupling():
    mask = PhaseMask(2, amplitude_coupling=0.3).double()
    with torch.no_grad():
        mask.phase.copy_(torch.tensor([[0.0, math.pi], [math.pi / 2, 2 * math.pi]]))
    t = mask.transmission()
    assert t.dtype == torch.complex128
    expected = torch.tensor([[1.0, 0.7], [0.85, 1.0]], dtype=torch.float64)
    torch.testing.assert_close(t.abs(), expected)
    torch.testing.assert_close(t.angle().cos(), mask.phase.detach().cos())


@pytest.mark.parametrize(
    "kwargs, word",
    [(dict(n=0), "n"), (dict(n=4, init="ones"), "init"), (dict(n=4, amplitude_coupling=1.5), "c")],
)
def test_mask_validation(kwargs, word):
    with pytest.raises(ValueError, match="PhaseMask"):
        PhaseMask(**kwargs)


def test_mask_shape_check():
    with pytest.raises(ValueError, match="expects a field"):
        PhaseMask(8)(torch.zeros(7, 8, dtype=torch.complex64))


def test_square_and_circular_apertures():
    g = Grid(16, 1e-3, 1e-3)
    square = Aperture(g, "square", 4e-3)  # centres at +-0.5, +-1.5 mm: 4 x 4 pixels
    assert square.mask.sum().item() == 16
    assert torch.equal(square.mask[6:10, 6:10], torch.ones(4, 4))
    circle = Aperture(g, "circle", 8e-3)
    x, y = g.meshgrid(dtype=torch.float32)
    assert torch.equal(circle.mask, (x**2 + y**2 <= 16e-6).float())
    u = torch.randn(2, 16, 16, dtype=torch.complex64)
    torch.testing.assert_close(circle(u), u * circle.mask)
    assert "mask" not in circle.state_dict()
    assert circle.double().mask.dtype == torch.float64


@pytest.mark.parametrize(
    "shape, size, word",
    [("hexagon", 1e-3, "shape"), ("square", 0.0, "size"), ("circle", 1e-5, "no pixel")],
)
def test_aperture_validation(shape, size, word):
    g = Grid(16, 1e-3, 1e-3)
    with pytest.raises(ValueError, match=word):
        Aperture(g, shape, size)  # type: ignore[arg-type]
