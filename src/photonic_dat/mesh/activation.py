"""Electro-optic activation between meshes (Williamson et al. 2019, as used by the DAT paper)."""

from __future__ import annotations

import math

import torch
from torch import nn


class ElectroOpticActivation(nn.Module):
    """f(z) = sqrt(1-alpha) cos(g|z|^2/2 + phi_b/2) exp(-i(g|z|^2/2 + phi_b/2)) z.

    Args:
        alpha: fraction of the power tapped to the photodetector.
        g: gain of the phase response (rad per unit intensity).
        phi_b: bias phase (rad).
    """

    def __init__(self, alpha: float = 0.1, g: float = 0.05 * math.pi, phi_b: float = math.pi):
        super().__init__()
        self.alpha, self.g, self.phi_b = alpha, g, phi_b

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        phase = 0.5 * self.g * (z.real**2 + z.imag**2) + 0.5 * self.phi_b
        return math.sqrt(1 - self.alpha) * torch.cos(phase) * torch.polar(torch.ones_like(phase), -phase) * z
