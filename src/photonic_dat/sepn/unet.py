"""The paper's complex U-Net SEPN (Zheng et al., Nat. Mach. Intell. 2023, Methods).

Architecture, with features (F1, F2, F3), kernel k, and ``blocks = (n1, n2, n3)`` convs per
conv block (each conv followed by a complex ReLU)::

    x (1 ch, H x W) ─ ConvBlock1 (1 -> F1 -> ... -> F1) ──────────────────────── e1 (F1, H)
    x ─ DownConv1 (1 -> F1, stride 2) + ReLU ─ d1 (F1, H/2)
        d1 ─ ConvBlock2 (F1 -> F2 -> ... -> F2) ──────────────────────────────── e2 (F2, H/2)
        d1 ─ DownConv2 (F1 -> F2, stride 2) + ReLU ─ d2 (F2, H/4)
            d2 ─ ConvBlock3 (F2 -> F3 -> ... -> F3) ─ e3 (F3, H/4)
    UpConv1 (F3 -> F2, transposed, stride 2) + ReLU on e3 -> u1 (F2, H/2); cat(u1, e2)
    UpConv2 (2 F2 -> F1, transposed, stride 2) + ReLU -> u2 (F1, H); cat(u2, e1)
    OutConv (2 F1 -> 1), no activation.

Note that the down-sampling branch starts from the *input* (DownConv1 of x) and DownConv2 acts
on the down-sampled input d1, not on the conv-block outputs; the conv blocks only feed the
skip connections and the bottleneck.

Sizes: the down convs (k, stride 2, padding k//2) map H -> ceil(H/2); the transposed convs
(k, stride 2, padding k//2, output_padding 1) map h -> 2h. For 8x8: 8 -> 4 -> 2 -> 4 -> 8.
For sizes not divisible by 4 (e.g. 7, 25, 100 -> 50 -> 25 -> 50 -> 100 is fine, 25 -> 13 -> 7
-> 14 -> 26) the upsampled map can be one row/column larger than its skip connection; it is
cropped (or zero-padded, never needed with these settings) at the bottom/right to the skip's
size before concatenation (:func:`~photonic_dat.sepn.layers.match_spatial`), which keeps the
top-left alignment of the stride-2 grids.

All intermediate activations stay in the real stacked layout (see :mod:`.layers`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .base import SEPNBase
from .layers import (
    ComplexConv2d,
    ComplexConvTranspose2d,
    cat_stacked,
    conv_relu_block,
    match_spatial,
)

__all__ = ["ComplexUNet"]


class ComplexUNet(SEPNBase):
    """Complex-valued 3-level U-Net SEPN.

    Args:
        features: complex channel counts (F1, F2, F3) of the three resolution levels.
        kernel_size: odd kernel size of every conv and transposed conv.
        blocks: number of convs in ConvBlock1, ConvBlock2, ConvBlock3.
        zero_output: zero-initialise OutConv (weights and bias), so that the network outputs
            exactly zero at initialisation and ``x + w * SEPN(x)`` starts as the identity.

    Input/output: complex (B, H, W) or (B, 1, H, W), same shape out (see :class:`SEPNBase`).
    """

    def __init__(
        self,
        features: Sequence[int] = (4, 8, 16),
        kernel_size: int = 3,
        blocks: Sequence[int] = (3, 3, 3),
        zero_output: bool = False,
    ) -> None:
        super().__init__()
        if len(features) != 3 or len(blocks) != 3:
            raise ValueError(f"ComplexUNet needs 3 features and 3 blocks, got {features}, {blocks}")
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        f1, f2, f3 = (int(f) for f in features)
        k, p = kernel_size, kernel_size // 2
        self.features = (f1, f2, f3)
        self.kernel_size = k
        self.blocks = tuple(int(b) for b in blocks)
        self.zero_output = zero_output

        self.conv_block1 = conv_relu_block(1, f1, self.blocks[0], k)
        self.down_conv1 = ComplexConv2d(1, f1, k, stride=2, padding=p)
        self.conv_block2 = conv_relu_block(f1, f2, self.blocks[1], k)
        self.down_conv2 = ComplexConv2d(f1, f2, k, stride=2, padding=p)
        self.conv_block3 = conv_relu_block(f2, f3, self.blocks[2], k)
        self.up_conv1 = ComplexConvTranspose2d(f3, f2, k, stride=2, padding=p, output_padding=1)
        self.up_conv2 = ComplexConvTranspose2d(2 * f2, f1, k, stride=2, padding=p, output_padding=1)
        # The output conv is not followed by a ReLU: plain (Glorot-like) gain 1.
        self.out_conv = ComplexConv2d(2 * f1, 1, k, gain=1.0)
        if zero_output:
            self.out_conv.zero_()

    def forward_stacked(self, s: torch.Tensor) -> torch.Tensor:
        """Stacked (B, 2, H, W) -> stacked (B, 2, H, W)."""
        relu = torch.relu
        e1 = self.conv_block1.forward_stacked(s)
        d1 = relu(self.down_conv1.forward_stacked(s))
        e2 = self.conv_block2.forward_stacked(d1)
        d2 = relu(self.down_conv2.forward_stacked(d1))
        e3 = self.conv_block3.forward_stacked(d2)
        u1 = relu(self.up_conv1.forward_stacked(e3))
        u1 = cat_stacked([match_spatial(u1, e2.shape[-2:]), e2])
        u2 = relu(self.up_conv2.forward_stacked(u1))
        u2 = cat_stacked([match_spatial(u2, e1.shape[-2:]), e1])
        return self.out_conv.forward_stacked(u2)

    def extra_repr(self) -> str:
        return (
            f"features={self.features}, kernel_size={self.kernel_size}, blocks={self.blocks}, "
            f"zero_output={self.zero_output}"
        )
