"""State fusion: measured amplitude, model phase, gradient straight through."""

from __future__ import annotations

import torch


class _StateFusion(torch.autograd.Function):
    """Forward: |E_measured| exp(i angle(E_model)); backward: identity to ``E_model``."""

    @staticmethod
    def forward(ctx, model_field: torch.Tensor, measured_intensity: torch.Tensor) -> torch.Tensor:
        if measured_intensity.is_complex():  # a coherently detected field: the whole state
            return measured_intensity.to(model_field.dtype).clone()
        amplitude = measured_intensity.clamp(min=0).sqrt().to(model_field.real.dtype)
        return torch.polar(amplitude, torch.angle(model_field))

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        return grad_output, None


def fuse(model_field: torch.Tensor, measured_intensity: torch.Tensor) -> torch.Tensor:
    """Fuse a model field (complex) with a measured intensity (real, same shape).

    A complex measurement (coherent detection, a simulation study) replaces the whole state:
    measured amplitude and phase, gradient still through the model.

    The returned value is the physical state as far as detectors can tell (its intensity equals
    the measurement), with the phase the model predicts; the gradient w.r.t. ``model_field`` is
    the identity, so backpropagation runs through the model evaluated at near-physical states.
    The measurement receives no gradient.
    """
    if measured_intensity.shape != model_field.shape:
        raise ValueError(
            f"measured intensity shape {tuple(measured_intensity.shape)} does not match the "
            f"model field {tuple(model_field.shape)}"
        )
    return _StateFusion.apply(model_field, measured_intensity.detach())
