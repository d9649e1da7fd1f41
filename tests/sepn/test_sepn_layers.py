"""Complex conv layers vs explicit complex formulas."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from photonic_dat.sepn.layers import (
    ComplexConv2d,
    ComplexConvTranspose2d,
    ComplexReLU,
    ComplexSequential,
    cat_stacked,
    conv_relu_block,
    from_stacked,
    match_spatial,
    to_stacked,
)

ATOL = 1e-5


def _randc(*shape: int, dtype: torch.dtype = torch.complex64) -> torch.Tensor:
    return torch.randn(*shape, dtype=dtype)


def _randomise_bias(layer: torch.nn.Module) -> None:
    with torch.no_grad():
        layer.bias_real.normal_()
        layer.bias_imag.normal_()


def _four_conv(op, x: torch.Tensor, layer, **kw) -> torch.Tensor:
    """The textbook complex conv from four real convs, plus the complex bias."""
    wr, wi = layer.weight_real, layer.weight_imag
    xr, xi = x.real, x.imag
    yr = op(xr, wr, layer.bias_real, **kw) - op(xi, wi, None, **kw)
    yi = op(xi, wr, layer.bias_imag, **kw) + op(xr, wi, None, **kw)
    return torch.complex(yr, yi)


@pytest.mark.parametrize(
    ("k", "stride", "padding", "size"),
    [(3, 1, None, 8), (3, 2, 1, 8), (3, 2, 1, 7), (5, 1, None, 9), (1, 1, None, 4), (3, 1, 0, 6)],
)
def test_conv2d_matches_complex_formula(k: int, stride: int, padding: int | None, size: int):
    torch.manual_seed(0)
    layer = ComplexConv2d(3, 5, k, stride=stride, padding=padding)
    _randomise_bias(layer)
    x = _randc(4, 3, size, size)
    pad = k // 2 if padding is None else padding
    y = layer(x)
    ref4 = _four_conv(F.conv2d, x, layer, stride=stride, padding=pad)
    assert y.dtype == torch.complex64
    torch.testing.assert_close(y, ref4, atol=ATOL, rtol=ATOL)
    # PyTorch supports complex conv2d on CPU: compare with it directly too.
    refc = F.conv2d(x, layer.complex_weight, layer.complex_bias, stride=stride, padding=pad)
    torch.testing.assert_close(y, refc, atol=ATOL, rtol=ATOL)
    # Stacked API is the same computation.
    torch.testing.assert_close(from_stacked(layer.forward_stacked(to_stacked(x))), y)


@pytest.mark.parametrize(("size", "out_size"), [(2, 4), (4, 8), (7, 14), (13, 26)])
def test_conv_transpose_matches_complex_formula(size: int, out_size: int):
    torch.manual_seed(1)
    layer = ComplexConvTranspose2d(4, 3)
    _randomise_bias(layer)
    x = _randc(2, 4, size, size)
    kw = dict(stride=2, padding=1, output_padding=1)
    y = layer(x)
    assert y.shape == (2, 3, out_size, out_size)
    torch.testing.assert_close(
        y, _four_conv(F.conv_transpose2d, x, layer, **kw), atol=ATOL, rtol=ATOL
    )
    refc = F.conv_transpose2d(x, layer.complex_weight, layer.complex_bias, **kw)
    torch.testing.assert_close(y, refc, atol=ATOL, rtol=ATOL)


def test_single_real_conv_in_forward(monkeypatch: pytest.MonkeyPatch):
    """The performance design: one real conv call per complex conv."""
    calls = {"conv2d": 0, "conv_transpose2d": 0}
    orig_c, orig_t = F.conv2d, F.conv_transpose2d

    def c(*a, **k):
        calls["conv2d"] += 1
        return orig_c(*a, **k)

    def t(*a, **k):
        calls["conv_transpose2d"] += 1
        return orig_t(*a, **k)

    monkeypatch.setattr(F, "conv2d", c)
    monkeypatch.setattr(F, "conv_transpose2d", t)
    ComplexConv2d(2, 3)(_randc(1, 2, 5, 5))
    ComplexConvTranspose2d(2, 3)(_randc(1, 2, 5, 5))
    assert calls == {"conv2d": 1, "conv_transpose2d": 1}


def test_parameter_layout_and_count():
    conv = ComplexConv2d(3, 5, 3)
    real_conv = torch.nn.Conv2d(3, 5, 3)
    n_real = sum(p.numel() for p in real_conv.parameters())
    assert sum(p.numel() for p in conv.parameters()) == 2 * n_real
    names = {n for n, _ in conv.named_parameters()}
    assert names == {"weight_real", "weight_imag", "bias_real", "bias_imag"}
    assert tuple(conv.stacked_weight().shape) == (10, 6, 3, 3)
    nobias = ComplexConv2d(3, 5, 3, bias=False)
    assert sum(p.numel() for p in nobias.parameters()) == 2 * 5 * 3 * 9
    x = _randc(1, 3, 4, 4)
    torch.testing.assert_close(nobias(x), F.conv2d(x, nobias.complex_weight, padding=1))
    tconv = ComplexConvTranspose2d(6, 2)
    assert tuple(tconv.weight_real.shape) == (6, 2, 3, 3)
    assert tuple(tconv.stacked_weight().shape) == (12, 4, 3, 3)


def test_init_variance():
    torch.manual_seed(0)
    conv = ComplexConv2d(16, 64, 3)
    var = conv.complex_weight.abs().pow(2).mean().item()
    assert var == pytest.approx(2.0 / (16 * 9), rel=0.1)
    assert torch.all(conv.bias_real == 0) and torch.all(conv.bias_imag == 0)


def test_complex_relu():
    z = torch.tensor([[1 + 2j, -1 + 2j, 1 - 2j, -1 - 2j, 0 + 0j]], dtype=torch.complex64)
    expected = torch.tensor([[1 + 2j, 2j, 1 + 0j, 0j, 0j]], dtype=torch.complex64)
    out = ComplexReLU()(z.view(1, 1, 1, 5))
    torch.testing.assert_close(out, expected.view(1, 1, 1, 5))
    torch.testing.assert_close(from_stacked(ComplexReLU().forward_stacked(to_stacked(z))), expected)


def test_stacked_helpers():
    a, b = _randc(2, 3, 4, 4), _randc(2, 2, 4, 4)
    s = to_stacked(a)
    assert s.dtype == torch.float32 and s.shape == (2, 6, 4, 4)
    torch.testing.assert_close(s[:, 0::2], a.real)
    torch.testing.assert_close(s[:, 1::2], a.imag)
    torch.testing.assert_close(from_stacked(s), a)
    torch.testing.assert_close(
        cat_stacked([to_stacked(a), to_stacked(b)]), to_stacked(torch.cat([a, b], 1))
    )
    x = torch.arange(25.0).view(1, 1, 5, 5)
    torch.testing.assert_close(match_spatial(x, (4, 3)), x[..., :4, :3])
    padded = match_spatial(x, (6, 5))
    assert padded.shape == (1, 1, 6, 5) and torch.all(padded[..., 5, :] == 0)
    assert match_spatial(x, (5, 5)) is x


def test_type_errors():
    with pytest.raises(TypeError):
        ComplexConv2d(1, 1)(torch.randn(1, 1, 3, 3))
    with pytest.raises(TypeError):
        to_stacked(torch.randn(1, 1))
    with pytest.raises(ValueError):
        from_stacked(torch.randn(1, 3, 2, 2))
    with pytest.raises(TypeError):
        ComplexSequential(torch.nn.ReLU())  # type: ignore[arg-type]


def test_sequential_block_matches_complex_chain():
    torch.manual_seed(2)
    block = conv_relu_block(2, 3, 3)
    assert len(block) == 6
    x = _randc(2, 2, 6, 6)
    z = x
    for layer in block.layers:
        z = layer(z)  # complex API, layer by layer
    torch.testing.assert_close(block(x), z, atol=ATOL, rtol=ATOL)


def test_gradcheck_double():
    torch.manual_seed(3)
    conv = ComplexConv2d(2, 2, 3).double()
    _randomise_bias(conv)
    x = _randc(1, 2, 4, 4, dtype=torch.complex128).requires_grad_(True)
    params = (conv.weight_real, conv.weight_imag, conv.bias_real, conv.bias_imag)

    def f(x: torch.Tensor, *_: torch.Tensor) -> torch.Tensor:
        return conv(x)

    assert torch.autograd.gradcheck(f, (x, *params), eps=1e-6, atol=1e-5)
    tconv = ComplexConvTranspose2d(2, 1).double()
    xt = _randc(1, 2, 3, 3, dtype=torch.complex128).requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda x, *_: tconv(x), (xt, tconv.weight_real, tconv.weight_imag), eps=1e-6, atol=1e-5
    )
