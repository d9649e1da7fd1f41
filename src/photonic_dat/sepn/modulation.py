"""A per-pixel complex modulation added to a SEPN (an option beyond the paper's SEPNs).

A convolutional SEPN is translation-equivariant (up to its zero-padded borders): it applies the
same function of the neighbourhood at every pixel of a plane, so it cannot represent an error
that is a fixed pattern *in position*, such as a diffractive mask's fabrication phase error, a
shifted mask's phase difference ``phi(x - s) - phi(x)`` or a detector's pixel gains. Such an
error multiplies the field by a fixed complex map. Since the SEPN of plane k acts on the field
just before mask k, a learnable map ``D`` in ``SEPN(x) = net(x) + D * x`` makes
``x + SEPN(x) = (1 + D) x + net(x)``, and ``1 + D = exp(i delta_k)`` reproduces mask k's phase
error exactly.

``D`` starts at zero, so a zero-initialised net still starts as the ideal model.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["ModulatedSEPN"]


class ModulatedSEPN(nn.Module):
    """``SEPN(x) = net(x) + D * x`` with a learnable complex per-pixel map ``D`` (starts at 0).

    Args:
        net: the convolutional SEPN (complex (B, H, W) or (B, 1, H, W) in and out).
        shape: the plane's spatial shape (H, W) of ``D``.

    ``D`` is stored as a real (2, H, W) parameter ``[Re; Im]`` (plain Adam state, any dtype).
    """

    def __init__(self, net: nn.Module, shape: Sequence[int]) -> None:
        super().__init__()
        self.net = net
        self.modulation = nn.Parameter(torch.zeros(2, *(int(s) for s in shape)))

    def modulation_map(self) -> torch.Tensor:
        """The complex map ``D`` (H, W)."""
        return torch.complex(self.modulation[0], self.modulation[1])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if tuple(z.shape[-2:]) != tuple(self.modulation.shape[1:]):
            raise ValueError(f"ModulatedSEPN was built for planes of {tuple(self.modulation.shape[1:])}"
                             f" pixels, got a field of shape {tuple(z.shape)}")
        return self.net(z) + self.modulation_map().to(z.dtype) * z

    def extra_repr(self) -> str:
        return f"shape={tuple(self.modulation.shape[1:])}"
