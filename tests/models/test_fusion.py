import torch

from photonic_dat.models import fuse


def test_fusion_value_is_measured_amplitude_with_model_phase():
    model_field = torch.tensor([1 + 1j, -2 + 0.5j, 0.3j], dtype=torch.complex64, requires_grad=True)
    measured = torch.tensor([4.0, 0.25, 1.0])
    out = fuse(model_field, measured)
    assert torch.allclose(out.abs(), measured.sqrt())
    assert torch.allclose(torch.angle(out), torch.angle(model_field.detach()), atol=1e-6)


def test_fusion_gradient_is_straight_through():
    model_field = torch.randn(5, dtype=torch.complex128, requires_grad=True)
    measured = torch.rand(5, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(5, dtype=torch.complex128)
    out = fuse(model_field, measured)
    loss = (out * weights).real.sum()
    loss.backward()
    # d Re(w * z) / d z (PyTorch's conjugate Wirtinger convention) = conj(w)
    assert torch.allclose(model_field.grad, weights.conj())
    assert measured.grad is None


def test_fusion_does_not_touch_its_inputs():
    model_field = torch.randn(4, dtype=torch.complex64)
    before = model_field.clone()
    fuse(model_field, torch.rand(4))
    assert torch.equal(model_field, before)


def test_fusion_with_a_measured_field_takes_its_phase_too():
    model_field = torch.randn(6, dtype=torch.complex64, requires_grad=True)
    measured = torch.randn(6, dtype=torch.complex64)
    weights = torch.randn(6, dtype=torch.complex64)
    out = fuse(model_field, measured)
    assert torch.equal(out.detach(), measured)
    (out * weights).real.sum().backward()
    torch.testing.assert_close(model_field.grad, weights.conj())
