from __future__ import annotations

import pytest
import torch

from photonic_dat.optics import DetectorLayout, Grid, ten_region_layout


@pytest.mark.parametrize("n", [32, 64, 100, 200])
def test_ten_region_layout(n):
    layout = ten_region_layout(n)
    assert len(layout) == layout.num_regions == 10
    labels = layout.label_map()
    masks = layout.masks()
    # non-overlapping: the masks sum to at most 1, and the label map counts every pixel once
    assert masks.sum(0).max().item() == 1
    s = max(1, round(n / 10))
    for r, (x0, y0, x1, y1) in enumerate(layout.regions):
        assert 0 <= x0 < x1 <= n and 0 <= y0 < y1 <= n  # inside
        assert x1 - x0 == y1 - y0 == s
        assert (labels == r).sum().item() == s * s
    # rows of 3, 4, 3 centred on the plane (to within one pixel)
    rows = sorted({y0 for _, y0, _, _ in layout.regions})
    assert [sum(1 for reg in layout.regions if reg[1] == y) for y in rows] == [3, 4, 3]
    xs = torch.tensor([(x0 + x1) / 2 for x0, _, x1, _ in layout.regions])
    ys = torch.tensor([(y0 + y1) / 2 for _, y0, _, y1 in layout.regions])
    assert abs(xs.mean().item() - n / 2) <= 1 and abs(ys.mean().item() - n / 2) <= 1


def test_energies_equal_manual_sums():
    layout = ten_region_layout(50)
    intensity = torch.rand(3, 2, 50, 50, dtype=torch.float64)
    e = layout.energies(intensity)
    assert e.shape == (3, 2, 10) and e.dtype == torch.float64
    manual = torch.stack(
        [intensity[..., y0:y1, x0:x1].sum((-2, -1)) for x0, y0, x1, y1 in layout.regions], -1
    )
    torch.testing.assert_close(e, manual, rtol=1e-12, atol=0)
    torch.testing.assert_close(
        layout.energies(intensity[0, 0].float()), manual[0, 0].float(), rtol=1e-5, atol=0
    )


def test_energies_gradient_is_the_region_mask():
    layout = DetectorLayout(6, [(0, 0, 2, 3), (3, 3, 6, 6)])
    intensity = torch.rand(6, 6, dtype=torch.float64, requires_grad=True)
    (layout.energies(intensity) * torch.tensor([1.0, 2.0], dtype=torch.float64)).sum().backward()
    masks = layout.masks(torch.float64)
    torch.testing.assert_close(intensity.grad, masks[0] + 2 * masks[1])


def test_energies_input_checks():
    layout = ten_region_layout(20)
    with pytest.raises(ValueError, match="real intensity"):
        layout.energies(torch.zeros(20, 20, dtype=torch.complex64))
    with pytest.raises(ValueError, match="expects"):
        layout.energies(torch.zeros(20, 21))


def test_from_physical():
    g = Grid(10, 1e-3, 1e-3)  # centres at -4.5 .. 4.5 mm
    rects = [(-1e-3, -1e-3, 1e-3, 1e-3), (2e-3, -4.5e-3, 4.5e-3, -3e-3)]
    layout = DetectorLayout.from_physical(g, rects)
    assert layout.regions == ((4, 4, 6, 6), (7, 0, 10, 2))
    with pytest.raises(ValueError, match="outside"):
        DetectorLayout.from_physical(g, [(0.0, 0.0, 6e-3, 1e-3)])


@pytest.mark.parametrize(
    "regions, word",
    [
        ([(0, 0, 4, 4), (3, 3, 6, 6)], "overlap"),
        ([(0, 0, 4, 4), (8, 8, 11, 10)], "outside"),
        ([(-1, 0, 2, 2)], "outside"),
        ([(2, 2, 2, 4)], "empty"),
        ([], "at least one"),
        ([(0, 0, 1)], "4 integers"),
        ([(0, 0, 1.5, 2)], "4 integers"),
    ],
)
def test_invalid_layouts(regions, word):
    with pytest.raises(ValueError, match=word) as info:
        DetectorLayout(10, regions)
    assert "\n" not in str(info.value)


def test_touching_regions_are_allowed_and_layout_is_hashable():
    layout = DetectorLayout(4, [(0, 0, 2, 2), (2, 0, 4, 2)])
    assert layout == DetectorLayout(4, ((0, 0, 2, 2), (2, 0, 4, 2)))
    assert hash(layout) == hash(DetectorLayout(4, [(0, 0, 2, 2), (2, 0, 4, 2)]))


def test_ten_region_layout_limits():
    assert len(ten_region_layout(7)) == 10  # 1 px regions, 1 px gaps
    assert ten_region_layout(64, region_size=10).regions[3] == (0, 27, 10, 37)  # gap 10 -> 8
    with pytest.raises(ValueError, match="do not fit"):
        ten_region_layout(6)
    with pytest.raises(ValueError, match="do not fit"):
        ten_region_layout(40, region_size=10)
