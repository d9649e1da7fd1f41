"""A dense complex-linear SEPN for small planes (an option beyond the paper's SEPNs).

For an interferometric layer the systematic error is *linear in the field*: a mesh with errors
implements ``U' = U + dU`` instead of ``U``, so at its output plane ``U' x = y + dU U^H y``
with ``y = U x`` the ideal output, i.e. the error is ``D y`` for the fixed matrix
``D = dU U^H`` (N x N, complex). A convolutional SEPN applies the same local function at every
pixel of the 8 x 8 "image" of the 64 modes, so it cannot represent a general ``D`` (the modes
are not an image); a learnable dense ``D`` represents the error of the current phases
*exactly*. It changes as the phases train and is refitted at every similarity step, as any SEPN.
For N = 64 it has 4,096 complex (8,192 real) parameters, the size of the paper's 10k U-Net, and
costs one N x N matrix product per plane.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["LINEAR_MAX_PIXELS", "LinearSEPN", "apply_plane_matrix"]

#: planes up to this many pixels (a dense P x P matrix grows as P^2)
LINEAR_MAX_PIXELS = 1024


def apply_plane_matrix(owner: nn.Module, z: torch.Tensor, shape: tuple[int, ...],
                       matrix: torch.Tensor) -> torch.Tensor:
    """``matrix @ z`` on every flattened plane of ``z`` (..., H, W); ``shape`` = (H, W) the
    SEPN ``owner`` was built for (a one-line error names it otherwise)."""
    if tuple(z.shape[-2:]) != tuple(shape):
        raise ValueError(f"{type(owner).__name__} was built for planes of {tuple(shape)} "
                         f"pixels, got a field of shape {tuple(z.shape)}")
    flat = z.reshape(*z.shape[:-2], -1)
    return (flat @ matrix.to(z.dtype).transpose(0, 1)).reshape(z.shape)


class LinearSEPN(nn.Module):
    """``SEPN(x) = D x`` on the flattened plane, ``D`` a learnable complex (P, P) matrix.

    Args:
        shape: the plane's spatial shape (H, W); P = H * W.
        zero_output: start with ``D = 0`` (the model starts as the ideal one); otherwise small
            random entries (std 0.01 / sqrt(P) per real component).

    ``D`` is stored as a real (2, P, P) parameter ``[Re; Im]``.
    """

    def __init__(self, shape: Sequence[int], zero_output: bool = True) -> None:
        super().__init__()
        self.shape = tuple(int(s) for s in shape)
        pixels = math.prod(self.shape)
        if pixels > LINEAR_MAX_PIXELS:
            raise ValueError(f"a linear SEPN is for planes of at most {LINEAR_MAX_PIXELS} pixels "
                             f"(a dense matrix per plane), got {self.shape}")
        init = torch.zeros(2, pixels, pixels)
        if not zero_output:
            init.normal_(0.0, 0.01 / math.sqrt(pixels))
        self.matrix = nn.Parameter(init)

    def correction_matrix(self) -> torch.Tensor:
        """The complex matrix ``D`` (P, P), acting on column vectors of the flattened plane."""
        return torch.complex(self.matrix[0], self.matrix[1])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return apply_plane_matrix(self, z, self.shape, self.correction_matrix())

    def extra_repr(self) -> str:
        return f"shape={self.shape}"
