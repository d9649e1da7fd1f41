"""U-Net / ResNet SEPNs: shapes, parameter counts, reference forward, gradients, fitting."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from photonic_dat.sepn import (
    SEPN_KINDS,
    ComplexResNet,
    ComplexUNet,
    ModulatedSEPN,
    build_sepn,
    sepn_name,
)


def _randc(*shape: int, dtype: torch.dtype = torch.complex64) -> torch.Tensor:
    return torch.randn(*shape, dtype=dtype)


def _conv(layer, x: torch.Tensor) -> torch.Tensor:
    """Reference complex conv using PyTorch's native complex conv2d."""
    return F.conv2d(
        x, layer.complex_weight, layer.complex_bias, stride=layer.stride, padding=layer.padding
    )


def _tconv(layer, x: torch.Tensor) -> torch.Tensor:
    return F.conv_transpose2d(
        x,
        layer.complex_weight,
        layer.complex_bias,
        stride=layer.stride,
        padding=layer.padding,
        output_padding=layer.output_padding,
    )


def _crelu(x: torch.Tensor) -> torch.Tensor:
    return torch.complex(torch.relu(x.real), torch.relu(x.imag))


def _block(block, x: torch.Tensor) -> torch.Tensor:
    for layer in block.layers[::2]:
        x = _crelu(_conv(layer, x))
    return x


def _reference_unet(m: ComplexUNet, x: torch.Tensor) -> torch.Tensor:
    """The paper's U-Net written directly in complex arithmetic, x: (B, 1, H, W)."""
    e1 = _block(m.conv_block1, x)
    d1 = _crelu(_conv(m.down_conv1, x))
    e2 = _block(m.conv_block2, d1)
    d2 = _crelu(_conv(m.down_conv2, d1))
    e3 = _block(m.conv_block3, d2)
    u1 = _crelu(_tconv(m.up_conv1, e3))[..., : e2.shape[-2], : e2.shape[-1]]
    u2 = _crelu(_tconv(m.up_conv2, torch.cat([u1, e2], 1)))[..., : e1.shape[-2], : e1.shape[-1]]
    return _conv(m.out_conv, torch.cat([u2, e1], 1))


def _randomise_biases(m: torch.nn.Module) -> None:
    with torch.no_grad():
        for name, p in m.named_parameters():
            if "bias" in name:
                p.normal_(0.0, 0.1)


@pytest.mark.parametrize("size", [8, 28, 25, 7, 100])
def test_unet_shapes(size: int):
    torch.manual_seed(0)
    m = ComplexUNet()
    x = _randc(2, size, size)
    y = m(x)
    assert y.shape == (2, size, size) and y.dtype == torch.complex64
    y4 = m(x.unsqueeze(1))
    assert y4.shape == (2, 1, size, size)
    torch.testing.assert_close(y4.squeeze(1), y)
    assert torch.isfinite(torch.view_as_real(y)).all()


def test_unet_rectangular_and_real_input():
    m = ComplexUNet((4, 6, 8))
    assert m(_randc(1, 9, 14)).shape == (1, 9, 14)
    xr = torch.randn(3, 8, 8)
    torch.testing.assert_close(m(xr), m(xr.to(torch.complex64)))
    with pytest.raises(ValueError):
        m(_randc(1, 2, 8, 8))


@pytest.mark.parametrize("size", [8, 25])
def test_unet_matches_complex_reference(size: int):
    torch.manual_seed(1)
    m = ComplexUNet((4, 8, 16))
    _randomise_biases(m)
    x = _randc(3, 1, size, size)
    torch.testing.assert_close(m(x), _reference_unet(m, x), atol=1e-5, rtol=1e-4)


def test_unet_intermediate_sizes():
    """8x8 -> 4x4 -> 2x2 -> 4x4 -> 8x8 through the down/up convs."""
    m = ComplexUNet()
    s = torch.randn(1, 2, 8, 8)
    d1 = m.down_conv1.forward_stacked(s)
    d2 = m.down_conv2.forward_stacked(d1)
    u1 = m.up_conv1.forward_stacked(m.conv_block3.forward_stacked(d2))
    u2 = m.up_conv2.forward_stacked(torch.cat([u1, u1], 1))
    assert [t.shape[-1] for t in (d1, d2, u1, u2)] == [4, 2, 4, 8]
    assert [t.shape[1] for t in (d1, d2, u1, u2)] == [8, 16, 16, 8]  # stacked: 2 x complex


def test_parameter_counts():
    big, small = ComplexUNet((4, 8, 16)), ComplexUNet((4, 6, 8))
    assert big.num_parameters_complex() == 9757
    assert small.num_parameters_complex() == 4035
    assert 8000 <= big.num_parameters_complex() <= 12000
    assert 3000 <= small.num_parameters_complex() <= 5000
    for m in (big, small, ComplexResNet()):
        n_real = sum(p.numel() for p in m.parameters())
        assert n_real == 2 * m.num_parameters_complex()
    # ResNet(4, 4 convs): (1*4*9+4) + 3*(4*4*9+4) + (4*9+1) = 40 + 444 + 37
    assert ComplexResNet(4).num_parameters_complex() == 521


@pytest.mark.parametrize("model", [ComplexUNet, ComplexResNet])
def test_gradients_reach_all_parameters(model):
    torch.manual_seed(2)
    m = model()
    x = _randc(4, 8, 8)
    target = _randc(4, 8, 8)
    loss = (m(x) - target).abs().pow(2).mean()
    loss.backward()
    grads = {n: p.grad for n, p in m.named_parameters()}
    assert all(g is not None and torch.isfinite(g).all() for g in grads.values())
    nonzero = sum(bool(g.abs().sum() > 0) for g in grads.values())
    assert nonzero == len(grads)


def test_zero_output_and_double():
    torch.manual_seed(3)
    for m in (ComplexUNet(zero_output=True), ComplexResNet(zero_output=True)):
        x = _randc(2, 1, 8, 8)
        y = m(x)
        assert torch.equal(y, torch.zeros_like(y))
        # The output conv still receives gradient, so training can leave zero.
        y.real.sum().backward()
        assert m.out_conv.weight_real.grad.abs().sum() > 0
    m = ComplexUNet().double()
    assert m(_randc(1, 8, 8, dtype=torch.complex128)).dtype == torch.complex128


def test_resnet_shapes_and_reference():
    torch.manual_seed(4)
    m = ComplexResNet(features=3, blocks=2)
    _randomise_biases(m)
    x = _randc(2, 1, 25, 25)
    assert m(x).shape == (2, 1, 25, 25)
    assert m(x[:, 0]).shape == (2, 25, 25)
    ref = _conv(m.out_conv, _block(m.conv_block, x) + x)  # x broadcast over channels
    torch.testing.assert_close(m(x), ref, atol=1e-5, rtol=1e-4)


def test_factory_and_names():
    assert isinstance(build_sepn("unet", (4, 6, 8)), ComplexUNet)
    r = build_sepn("resnet", (4,))
    assert isinstance(r, ComplexResNet) and r.features == 4
    assert build_sepn("unet", (4, 8, 16), zero_output=True).zero_output
    assert sepn_name("unet", (4, 8, 16)) == "unet-4-8-16"
    assert sepn_name("resnet", (4,)) == "resnet-4"
    assert sepn_name("resnet", 4) == "resnet-4"
    with pytest.raises(ValueError, match="unet, resnet"):
        build_sepn("mlp", (4,))
    with pytest.raises(ValueError):
        build_sepn("unet", (4, 8))
    assert set(SEPN_KINDS) == {"unet", "resnet", "linear", "mesh"}


def test_unet_fits_residual_mapping():
    """The U-Net learns a fixed complex residual mapping on 8x8 fields."""
    torch.manual_seed(5)
    m = ComplexUNet((4, 8, 16))
    x = _randc(64, 8, 8)
    rot = complex(math.cos(0.3), math.sin(0.3))
    target = 0.1 * rot * x + 0.02 * torch.roll(x, 1, dims=-1)
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    with torch.no_grad():
        first = (m(x) - target).abs().pow(2).mean().item()
    for _ in range(200):
        opt.zero_grad()
        loss = (m(x) - target).abs().pow(2).mean()
        loss.backward()
        opt.step()
    with torch.no_grad():
        last = (m(x) - target).abs().pow(2).mean().item()
    print(f"fit: {first:.3e} -> {last:.3e}")
    assert last < first / 5, (first, last)


@pytest.mark.parametrize("kind,features", [("unet", (4, 8, 16)), ("resnet", (4,))])
def test_bfloat16_compute_keeps_float32_parameters_and_stays_close(kind, features):
    torch.manual_seed(0)
    exact = build_sepn(kind, features)
    low = build_sepn(kind, features, dtype="bfloat16")
    low.load_state_dict(exact.state_dict())
    z = torch.randn(16, 8, 8, dtype=torch.complex64)
    ref, out = exact(z), low(z)
    assert out.dtype == torch.complex64
    rel = float(((out - ref).abs().norm() / ref.abs().norm()).detach())
    assert 0 < rel < 3e-2  # bfloat16 has an 8-bit mantissa: close, but not equal
    out.abs().pow(2).sum().backward()
    ref.abs().pow(2).sum().backward()
    for p_low in low.parameters():
        assert p_low.dtype == torch.float32 and p_low.grad.dtype == torch.float32
    g_low = torch.cat([p.grad.flatten() for p in low.parameters()])
    g_ref = torch.cat([p.grad.flatten() for p in exact.parameters()])
    assert float((g_low - g_ref).norm() / g_ref.norm()) < 5e-2


def test_unknown_sepn_dtype_is_refused():
    with pytest.raises(ValueError, match="float32, bfloat16"):
        build_sepn("unet", (4, 8, 16), dtype="float16")


@pytest.mark.parametrize("kind,features", [("unet", (2, 4, 8)), ("resnet", (4,))])
def test_channels_last_layout_changes_no_value(kind, features, monkeypatch):
    """Large maps run channels-last (a speed choice): same outputs and gradients as NCHW."""
    torch.manual_seed(0)
    fast = build_sepn(kind, features)
    plain = build_sepn(kind, features)
    plain.load_state_dict(fast.state_dict())
    _randomise_biases(fast)
    plain.load_state_dict(fast.state_dict())
    monkeypatch.setattr(plain, "CHANNELS_LAST_MIN_PIXELS", 10**9)  # never channels-last
    z = torch.randn(3, 36, 32, dtype=torch.complex64, requires_grad=True)
    out_fast = fast(z)
    grad_fast = torch.autograd.grad(out_fast.abs().pow(2).sum(), [z, *fast.parameters()])
    out_plain = plain(z)
    grad_plain = torch.autograd.grad(out_plain.abs().pow(2).sum(), [z, *plain.parameters()])
    torch.testing.assert_close(out_fast, out_plain, rtol=1e-5, atol=1e-5)
    for a, b in zip(grad_fast, grad_plain, strict=True):
        # gradients of order 1e3 summed in another order: float32 rounding, scaled to each tensor
        # (a wrong layout gives errors of order 1)
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5 * float(b.abs().max()))
    assert out_fast.shape == z.shape


def test_modulated_sepn_starts_at_zero_and_learns_a_pixel_map():
    net = build_sepn("unet", (2, 2, 2), modulation_shape=(8, 8), zero_output=True)
    assert isinstance(net, ModulatedSEPN)
    z = _randc(3, 8, 8)
    assert torch.equal(net(z), torch.zeros_like(z))
    # a per-pixel gain is fitted by the map alone, which a convolution cannot express
    target = _randc(8, 8)
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(300):
        z = _randc(16, 8, 8)
        loss = (net(z) - target * z).abs().pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.testing.assert_close(net.modulation_map(), target, atol=0.05, rtol=0)
    assert sepn_name("unet", (2, 2, 2), modulation=True) == "unet-2-2-2+mod"
    with pytest.raises(ValueError, match="built for planes of"):
        net(_randc(2, 6, 6))
