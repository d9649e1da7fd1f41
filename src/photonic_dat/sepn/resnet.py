"""A small complex residual SEPN: one conv block with an input skip, then an output conv.

::

    x0 (1 ch) ─ [conv (1 -> F) + ReLU, conv (F -> F) + ReLU, ...] (``blocks`` convs) ─ + x0 ─ x1
    x1 (F ch) ─ OutConv (F -> 1), no activation

The residual add broadcasts the single input channel over the F channels
(``x1[:, c] = block(x0)[:, c] + x0[:, 0]``). All convs are stride 1 with "same" padding.
"""

from __future__ import annotations

import torch

from .base import SEPNBase
from .layers import ComplexConv2d, conv_relu_block

__all__ = ["ComplexResNet"]


class ComplexResNet(SEPNBase):
    """Complex residual SEPN.

    Args:
        features: complex channel count F of the conv block.
        blocks: number of convs (each followed by a complex ReLU) in the block.
        kernel_size: odd kernel size.
        zero_output: zero-initialise OutConv so the network outputs exactly zero at init.

    Input/output: complex (B, H, W) or (B, 1, H, W), same shape out (see :class:`SEPNBase`).
    """

    def __init__(
        self, features: int = 4, blocks: int = 4, kernel_size: int = 3, zero_output: bool = False
    ) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        self.features = int(features)
        self.blocks = int(blocks)
        self.kernel_size = kernel_size
        self.zero_output = zero_output
        self.conv_block = conv_relu_block(1, self.features, self.blocks, kernel_size)
        self.out_conv = ComplexConv2d(self.features, 1, kernel_size, gain=1.0)
        if zero_output:
            self.out_conv.zero_()

    def forward_stacked(self, s: torch.Tensor) -> torch.Tensor:
        """Stacked (B, 2, H, W) -> stacked (B, 2, H, W)."""
        h = self.conv_block.forward_stacked(s)
        # Broadcast the input over channels in the stacked layout: (Re x0, Im x0) F times.
        return self.out_conv.forward_stacked(h + s.repeat(1, self.features, 1, 1))

    def extra_repr(self) -> str:
        return (
            f"features={self.features}, blocks={self.blocks}, kernel_size={self.kernel_size}, "
            f"zero_output={self.zero_output}"
        )
