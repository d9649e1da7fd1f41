"""Complex-valued convolution layers, computed as single real convolutions.

Stacked layout
--------------
A complex activation ``z`` of shape (B, C, H, W) is represented inside the networks as the real
tensor ``s`` of shape (B, 2C, H, W) with the real and imaginary part of each complex channel
side by side: channel ``2c`` holds ``z[:, c].real`` and channel ``2c + 1`` holds
``z[:, c].imag`` (:func:`to_stacked` / :func:`from_stacked`).

In this layout the complex convolution ``y = W * z`` with ``W = Wr + i Wi`` is one real
convolution whose weight is made of 2 x 2 blocks, one per (output, input) channel pair::

    [yr_o]   [Wr_oc  -Wi_oc] [zr_c]
    [yi_o] = [Wi_oc   Wr_oc] [zi_c]      (summed over input channels c)

so a complex conv costs one (twice as wide) real conv instead of four real convs, the complex
ReLU (ReLU of real and imaginary parts separately) is a plain ReLU, and the channel
concatenation of two complex maps is a plain ``torch.cat`` (:func:`cat_stacked`). The
interleaved order matters for speed: with all real parts first and all imaginary parts after,
a concatenation has to split both inputs, and the backward of those slices zero-fills
full-size gradients (a quarter of a U-Net's CPU time at 64 x 64, ``benchmarks``). The
parameters are stored as ``weight_real``/``weight_imag`` (and ``bias_real``/``bias_imag``) and
the block weight is assembled in every forward, so the parameter count is that of the complex
layer (2 real numbers per complex weight) and the block structure is exact.

Every layer derives from :class:`StackedComplexModule` and has two entry points:

* ``forward(z)``: the complex API, complex (B, C, H, W) -> complex (B, C', H', W');
* ``forward_stacked(s)``: the real stacked API, (B, 2C, H, W) -> (B, 2C', H', W').

Networks (:mod:`.unet`, :mod:`.resnet`) convert to the stacked layout once at the input,
chain ``forward_stacked`` calls, and convert back once at the output.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ComplexConv2d",
    "ComplexConvTranspose2d",
    "ComplexReLU",
    "ComplexSequential",
    "StackedComplexModule",
    "cat_stacked",
    "conv_relu_block",
    "from_stacked",
    "match_spatial",
    "to_stacked",
]


def to_stacked(z: torch.Tensor) -> torch.Tensor:
    """Complex (B, C, ...) -> real stacked (B, 2C, ...): channel 2c = ``z[:, c].real``,
    channel 2c + 1 = ``z[:, c].imag``."""
    if not z.is_complex():
        raise TypeError(f"to_stacked expects a complex tensor, got {z.dtype}")
    return torch.stack([z.real, z.imag], dim=2).flatten(1, 2)


def from_stacked(s: torch.Tensor) -> torch.Tensor:
    """Real stacked (B, 2C, ...) -> complex (B, C, ...); inverse of :func:`to_stacked`."""
    if s.is_complex():
        raise TypeError("from_stacked expects a real stacked tensor, got a complex one")
    if s.shape[1] % 2:
        raise ValueError(f"stacked tensor needs an even channel count, got {s.shape[1]}")
    pairs = s.unflatten(1, (s.shape[1] // 2, 2))
    return torch.complex(pairs[:, :, 0], pairs[:, :, 1])


def cat_stacked(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """Channel concatenation of complex maps given in the stacked layout: a plain concatenation,
    since each complex channel is a contiguous (real, imaginary) pair.

    ``cat_stacked([to_stacked(a), to_stacked(b)]) == to_stacked(torch.cat([a, b], 1))``.
    """
    return torch.cat(list(tensors), dim=1)


def match_spatial(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Crop or zero-pad the last two dims of ``x`` at the bottom/right to ``size`` (H, W).

    Used by the U-Net decoder: pixel ``i`` of a down-sampled map sits at pixel ``2i`` of the
    finer map (stride-2 conv with padding k//2), and the transposed conv puts it back there, so
    the upsampled map is aligned with the skip connection at the top-left corner and only its
    bottom/right edge can differ (one extra row/column for odd sizes).
    """
    dh = int(size[0]) - x.shape[-2]
    dw = int(size[1]) - x.shape[-1]
    if dh == 0 and dw == 0:
        return x
    # F.pad with negative amounts crops.
    return F.pad(x, (0, dw, 0, dh))


def _block_weight(wr: torch.Tensor, wi: torch.Tensor, transposed: bool) -> torch.Tensor:
    """Real weight of a complex conv in the stacked layout, from ``Wr``, ``Wi`` of shape
    (A, C, k, k): 2 x 2 blocks ``[[Wr, -Wi], [Wi, Wr]]`` (conv: A = out, C = in) or their
    transpose ``[[Wr, Wi], [-Wi, Wr]]`` (transposed conv: A = in, C = out), interleaved to
    (2A, 2C, k, k)."""
    s = 1.0 if transposed else -1.0
    rows = (torch.stack([wr, s * wi], dim=2), torch.stack([-s * wi, wr], dim=2))  # (A, C, 2, k, k)
    return torch.stack(rows, dim=1).flatten(0, 1).flatten(1, 2)  # (A, 2, C, 2, k, k) -> (2A, 2C)


def _complex_init_std(fan_in: float, gain: float) -> float:
    """Std of each of the real/imag parts so that Var(Wr + i Wi) = gain / fan_in."""
    return math.sqrt(gain / (2.0 * fan_in))


class StackedComplexModule(nn.Module):
    """Base class: a complex layer computed on the real stacked layout.

    Subclasses implement :meth:`forward_stacked`; :meth:`forward` is the complex wrapper.
    """

    def forward_stacked(self, s: torch.Tensor) -> torch.Tensor:
        """Apply the layer to a real stacked tensor (B, 2C, H, W)."""
        raise NotImplementedError

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Apply the layer to a complex tensor (B, C, H, W) and return a complex tensor."""
        if not z.is_complex():
            raise TypeError(
                f"{type(self).__name__} expects a complex input, got {z.dtype}; "
                "use forward_stacked for the real stacked layout"
            )
        return from_stacked(self.forward_stacked(to_stacked(z)))


class _ComplexConvBase(StackedComplexModule):
    """Parameters and initialisation shared by the complex conv and transposed conv."""

    weight_real: nn.Parameter
    weight_imag: nn.Parameter
    bias_real: nn.Parameter | None
    bias_imag: nn.Parameter | None

    def __init__(
        self, weight_shape: tuple[int, ...], out_channels: int, bias: bool, gain: float
    ) -> None:
        super().__init__()
        self.gain = gain
        self.weight_real = nn.Parameter(torch.empty(weight_shape))
        self.weight_imag = nn.Parameter(torch.empty(weight_shape))
        if bias:
            self.bias_real = nn.Parameter(torch.empty(out_channels))
            self.bias_imag = nn.Parameter(torch.empty(out_channels))
        else:
            self.register_parameter("bias_real", None)
            self.register_parameter("bias_imag", None)

    def _fan_in(self) -> float:
        raise NotImplementedError

    def reset_parameters(self) -> None:
        """Complex He init: Var(W) = gain / fan_in (gain 2 compensates the complex ReLU,
        which halves the power of a circular complex signal); zero bias."""
        std = _complex_init_std(self._fan_in(), self.gain)
        with torch.no_grad():
            self.weight_real.normal_(0.0, std)
            self.weight_imag.normal_(0.0, std)
            if self.bias_real is not None and self.bias_imag is not None:
                self.bias_real.zero_()
                self.bias_imag.zero_()

    def zero_(self) -> None:
        """Set all weights and biases to zero (the layer then outputs exactly zero)."""
        with torch.no_grad():
            for p in self.parameters():
                p.zero_()

    @property
    def complex_weight(self) -> torch.Tensor:
        """The complex weight ``Wr + i Wi`` (a differentiable view for inspection/tests)."""
        return torch.complex(self.weight_real, self.weight_imag)

    @property
    def complex_bias(self) -> torch.Tensor | None:
        """The complex bias ``br + i bi``, or None."""
        if self.bias_real is None or self.bias_imag is None:
            return None
        return torch.complex(self.bias_real, self.bias_imag)

    def _stacked_bias(self) -> torch.Tensor | None:
        if self.bias_real is None or self.bias_imag is None:
            return None
        return torch.stack([self.bias_real, self.bias_imag], dim=1).flatten()


class ComplexConv2d(_ComplexConvBase):
    """Complex 2-D convolution ``y = (Wr + i Wi) * z + (br + i bi)``.

    Computed as one real ``conv2d`` on the stacked layout with 2 x 2 blocks
    ``[[Wr, -Wi], [Wi, Wr]]`` (see the module docstring).

    Args:
        in_channels, out_channels: complex channel counts.
        kernel_size: square kernel size k.
        stride: convolution stride.
        padding: zero padding; None (default) means ``k // 2`` ("same" for stride 1 and odd k).
        bias: learn a complex bias.
        gain: initialisation gain, Var(Wr + i Wi) = gain / (in_channels * k * k).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        padding: int | None = None,
        bias: bool = True,
        gain: float = 2.0,
    ) -> None:
        shape = (out_channels, in_channels, kernel_size, kernel_size)
        super().__init__(shape, out_channels, bias, gain)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = kernel_size // 2 if padding is None else padding
        self.reset_parameters()

    def _fan_in(self) -> float:
        return float(self.in_channels * self.kernel_size**2)

    def stacked_weight(self) -> torch.Tensor:
        """Real block weight (2*out, 2*in, k, k): block (o, c) = ``[[Wr, -Wi], [Wi, Wr]]``."""
        return _block_weight(self.weight_real, self.weight_imag, transposed=False)

    def forward_stacked(self, s: torch.Tensor) -> torch.Tensor:
        """Stacked (B, 2*in, H, W) -> stacked (B, 2*out, H', W')."""
        return F.conv2d(
            s, self.stacked_weight(), self._stacked_bias(), stride=self.stride, padding=self.padding
        )

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, bias={self.bias_real is not None}"
        )


class ComplexConvTranspose2d(_ComplexConvBase):
    """Complex 2-D transposed convolution (the adjoint-shaped conv, *without* conjugation).

    ``y = conv_transpose2d(z, Wr + i Wi) + (br + i bi)`` with the weight in PyTorch's
    transposed layout (in_channels, out_channels, k, k). Computed as one real
    ``conv_transpose2d`` on the stacked layout with 2 x 2 blocks ``[[Wr, Wi], [-Wi, Wr]]``
    (rows: input [zr, zi], columns: output [yr, yi]).

    With the defaults (k=3, stride 2, padding 1, output_padding 1) the output is exactly twice
    the input size: 2x2 -> 4x4 -> 8x8.

    Args:
        in_channels, out_channels: complex channel counts.
        kernel_size: square kernel size k.
        stride: upsampling stride.
        padding: implicit padding, as in ``nn.ConvTranspose2d``.
        output_padding: extra size added on the bottom/right, as in ``nn.ConvTranspose2d``.
        bias: learn a complex bias.
        gain: initialisation gain, Var(Wr + i Wi) = gain / (in_channels * k * k / stride**2)
            (the average number of taps feeding one output pixel).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 2,
        padding: int = 1,
        output_padding: int = 1,
        bias: bool = True,
        gain: float = 2.0,
    ) -> None:
        shape = (in_channels, out_channels, kernel_size, kernel_size)
        super().__init__(shape, out_channels, bias, gain)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.output_padding = output_padding
        self.reset_parameters()

    def _fan_in(self) -> float:
        return max(1.0, self.in_channels * self.kernel_size**2 / self.stride**2)

    def stacked_weight(self) -> torch.Tensor:
        """Real block weight (2*in, 2*out, k, k): block (c, o) = ``[[Wr, Wi], [-Wi, Wr]]``
        (rows: input [zr, zi], columns: output [yr, yi])."""
        return _block_weight(self.weight_real, self.weight_imag, transposed=True)

    def forward_stacked(self, s: torch.Tensor) -> torch.Tensor:
        """Stacked (B, 2*in, H, W) -> stacked (B, 2*out, H', W')."""
        return F.conv_transpose2d(
            s,
            self.stacked_weight(),
            self._stacked_bias(),
            stride=self.stride,
            padding=self.padding,
            output_padding=self.output_padding,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, "
            f"output_padding={self.output_padding}, bias={self.bias_real is not None}"
        )


class ComplexReLU(StackedComplexModule):
    """``ReLU(Re z) + i ReLU(Im z)``; in the stacked layout simply a ReLU."""

    def forward_stacked(self, s: torch.Tensor) -> torch.Tensor:
        """ReLU of the stacked tensor (real and imaginary channels alike)."""
        return F.relu(s)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Complex input -> complex output, ReLU on real and imaginary parts separately."""
        if not z.is_complex():
            raise TypeError(f"ComplexReLU expects a complex input, got {z.dtype}")
        return torch.complex(F.relu(z.real), F.relu(z.imag))


class ComplexSequential(StackedComplexModule):
    """A chain of :class:`StackedComplexModule` layers, run in the stacked layout."""

    def __init__(self, *layers: StackedComplexModule) -> None:
        super().__init__()
        for layer in layers:
            if not isinstance(layer, StackedComplexModule):
                raise TypeError(f"ComplexSequential takes StackedComplexModule, got {type(layer)}")
        self.layers = nn.ModuleList(layers)

    def forward_stacked(self, s: torch.Tensor) -> torch.Tensor:
        """Apply the layers in order to a stacked tensor."""
        for layer in self.layers:
            s = layer.forward_stacked(s)  # type: ignore[operator]
        return s

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, idx: int) -> nn.Module:
        return self.layers[idx]


def conv_relu_block(
    in_channels: int, out_channels: int, n_convs: int, kernel_size: int = 3
) -> ComplexSequential:
    """``n_convs`` stride-1 complex convs (in -> out -> ... -> out), each followed by a ReLU."""
    if n_convs < 1:
        raise ValueError(f"a conv block needs at least one conv, got {n_convs}")
    layers: list[StackedComplexModule] = []
    for i in range(n_convs):
        c_in = in_channels if i == 0 else out_channels
        layers += [ComplexConv2d(c_in, out_channels, kernel_size), ComplexReLU()]
    return ComplexSequential(*layers)
