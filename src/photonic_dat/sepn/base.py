"""Shape handling shared by the SEPN networks (complex boundary, stacked interior)."""

from __future__ import annotations

import torch
from torch import nn

from .layers import from_stacked, to_stacked


class SEPNBase(nn.Module):
    """Base class of a systematic error prediction network (one complex field in, one out).

    ``forward`` accepts a complex field of shape (B, H, W) or (B, 1, H, W) and returns the
    same shape. A real floating input is treated as a field with zero imaginary part. The
    computation itself is :meth:`forward_stacked`, on the real stacked layout (B, 2, H, W)
    ``= (Re, Im)``, so the complex <-> real conversion happens only here, once per call.

    ``compute_dtype`` (default None: the input's precision) runs the convolutions under
    ``torch.autocast`` in a lower precision, e.g. ``torch.bfloat16``: the parameters, their
    gradients and the returned field stay float32. On CPUs with AVX512-BF16 (and on GPUs) this
    roughly halves the SEPN's cost; elsewhere it can be slower.

    On CPU, maps of at least ``CHANNELS_LAST_MIN_PIXELS`` pixels run in the channels-last format:
    oneDNN's convolutions with the few channels of a SEPN are 2-3x faster that way on CPU at
    64 x 64 (forward + backward, measured in ``benchmarks``), while the small MPNN maps (8 x 8)
    gain nothing. The layout changes no value, only the order of the numbers in memory.
    """

    compute_dtype: torch.dtype | None = None
    CHANNELS_LAST_MIN_PIXELS = 32 * 32

    def forward_stacked(self, s: torch.Tensor) -> torch.Tensor:
        """Stacked (B, 2, H, W) -> stacked (B, 2, H, W)."""
        raise NotImplementedError

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Complex (B, H, W) or (B, 1, H, W) -> complex of the same shape."""
        if z.dim() == 3:
            squeeze = True
            z = z.unsqueeze(1)
        elif z.dim() == 4 and z.shape[1] == 1:
            squeeze = False
        else:
            raise ValueError(
                f"{type(self).__name__} expects a field of shape (B, H, W) or (B, 1, H, W), "
                f"got {tuple(z.shape)}"
            )
        if not z.is_complex():
            z = torch.complex(z, torch.zeros_like(z))
        s = to_stacked(z)
        if s.device.type == "cpu" and s.shape[-2] * s.shape[-1] >= self.CHANNELS_LAST_MIN_PIXELS:
            s = s.contiguous(memory_format=torch.channels_last)
        if self.compute_dtype is None or self.compute_dtype == s.dtype:
            out = from_stacked(self.forward_stacked(s))
        else:
            with torch.autocast(s.device.type, dtype=self.compute_dtype):
                stacked = self.forward_stacked(s)
            out = from_stacked(stacked.to(s.dtype))
        return out.squeeze(1) if squeeze else out

    def num_parameters_complex(self) -> int:
        """Number of complex parameters (real parameter count / 2)."""
        return sum(p.numel() for p in self.parameters()) // 2
