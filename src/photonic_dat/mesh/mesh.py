"""Universal unitary meshes of MZIs, built column by column and vectorised.

The transfer matrix of a mesh is ``U = C_{L-1} ... C_1 C_0 diag(exp(i gamma))``: an input phase
screen ``gamma`` followed by the columns ``C_c`` (each a block-diagonal of 2x2 MZI matrices,
identity on the modes it does not touch). All column matrices are written at once by one
scatter, and multiplied by a balanced tree of batched matmuls (log2(L) levels), so one forward
costs a few batched 64x64 products instead of L sequential in-place updates. The tree costs
O(L N^3); for wide meshes (N >= ``COLUMN_APPLY_MODES``) the forward instead applies the L
columns to the fields directly, O(L B N) with a few vector operations per column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .layout import MeshLayout, make_layout
from .mzi import mzi_entries


@dataclass
class MZIPerturbation:
    """Deviations of a physical mesh from its ideal model (one fixed draw).

    All tensors have one entry per MZI in layout order, except ``gamma_offset`` (per mode).

    Attributes:
        eps1, eps2: split-ratio errors of the first and second beam splitter of each MZI.
        theta_offset, phi_offset: additive phase errors of the internal / external shifter (rad).
        gamma_offset: additive phase error of the input phase screen (rad), per mode.
        crosstalk: thermal crosstalk coefficient kappa: each shifter also receives kappa times
            the programmed phase of its neighbours in the same column (top mode +-2).
        transmission: amplitude transmission of each MZI (insertion loss), in (0, 1].
    """

    eps1: torch.Tensor | None = None
    eps2: torch.Tensor | None = None
    theta_offset: torch.Tensor | None = None
    phi_offset: torch.Tensor | None = None
    gamma_offset: torch.Tensor | None = None
    crosstalk: float = 0.0
    transmission: torch.Tensor | None = None


#: from this many modes on, forward() applies columns to the fields instead of building U
COLUMN_APPLY_MODES = 128


def tree_product(mats: torch.Tensor) -> torch.Tensor:
    """``mats[L-1] @ ... @ mats[1] @ mats[0]`` for a stack (L, N, N), by pairwise batched matmuls."""
    while mats.shape[0] > 1:
        n = mats.shape[0]
        paired = mats[1 : n - n % 2 : 2] @ mats[0 : n - n % 2 : 2]
        mats = torch.cat([paired, mats[n - 1 :]]) if n % 2 else paired
    return mats[0]


class UnitaryMesh(nn.Module):
    """An N-mode MZI mesh with trainable ``theta``, ``phi`` (per MZI) and ``gamma`` (per mode).

    Args:
        modes: number of waveguides N.
        layout: ``"clements"`` (rectangular) or ``"reck"`` (triangular).
        init: ``"haar"`` (phases of a Haar-random unitary, via the decomposition) or ``"uniform"``.
        generator: random generator for the initialisation.
    """

    def __init__(
        self,
        modes: int,
        layout: str = "clements",
        init: str = "haar",
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.layout: MeshLayout = make_layout(modes, layout)
        n, n_mzi = modes, self.layout.n_mzi
        self.theta = nn.Parameter(torch.zeros(n_mzi))
        self.phi = nn.Parameter(torch.zeros(n_mzi))
        self.gamma = nn.Parameter(torch.zeros(n))
        self._build_index_buffers()
        self.reset_parameters(init, generator)

    @property
    def modes(self) -> int:
        return self.layout.modes

    def _build_index_buffers(self) -> None:
        n, col, top = self.layout.modes, self.layout.column, self.layout.top
        n_cols = self.layout.n_columns
        base = torch.ones(n_cols, n)
        base[col, top] = 0.0
        base[col, top + 1] = 0.0
        # identity on untouched modes, flattened over (column, row, col)
        self.register_buffer("_base", torch.diag_embed(base).reshape(-1), persistent=False)
        off = col * n * n
        idx = torch.stack(
            [off + top * n + top, off + top * n + top + 1, off + (top + 1) * n + top,
             off + (top + 1) * n + top + 1]
        )
        self.register_buffer("_scatter_idx", idx.reshape(-1), persistent=False)
        # neighbours in the same column (top +- 2), index n_mzi = "none" (for crosstalk)
        key = {(int(c), int(t)): i for i, (c, t) in enumerate(zip(col, top, strict=True))}
        n_mzi = self.layout.n_mzi
        left = [key.get((int(c), int(t) - 2), n_mzi) for c, t in zip(col, top, strict=True)]
        right = [key.get((int(c), int(t) + 2), n_mzi) for c, t in zip(col, top, strict=True)]
        self.register_buffer("_left", torch.tensor(left), persistent=False)
        # per column, the mode each mode couples to (itself where no MZI sits)
        partner = torch.arange(n).repeat(n_cols, 1)
        partner[col, top] = top + 1
        partner[col, top + 1] = top
        self.register_buffer("_partner", partner, persistent=False)
        self.register_buffer("_right", torch.tensor(right), persistent=False)

    @torch.no_grad()
    def reset_parameters(self, init: str = "haar", generator: torch.Generator | None = None) -> None:
        """Initialise: theta from a Haar-random unitary (or uniform), phi and gamma uniform in [0, 2pi)."""
        n_mzi, n = self.layout.n_mzi, self.layout.modes
        two_pi = 2 * math.pi
        if init == "haar":
            from .decompose import decompose, haar_unitary

            theta, _, _ = decompose(haar_unitary(n, generator=generator), self.layout.kind)
            self.theta.copy_(theta.to(self.theta.dtype))
        elif init == "uniform":
            self.theta.copy_(torch.rand(n_mzi, generator=generator) * two_pi)
        else:
            raise ValueError(f"unknown mesh init {init!r}; allowed: haar, uniform")
        self.phi.copy_(torch.rand(n_mzi, generator=generator) * two_pi)
        self.gamma.copy_(torch.rand(n, generator=generator) * two_pi)

    def _with_crosstalk(self, phase: torch.Tensor, kappa: float) -> torch.Tensor:
        padded = torch.cat([phase, phase.new_zeros(1)])
        return phase + kappa * (padded[self._left] + padded[self._right])

    def columns(self, pert: MZIPerturbation | None = None) -> torch.Tensor:
        """All column matrices C_c, shape (n_columns, N, N), complex."""
        theta, phi = self.theta, self.phi
        eps1 = eps2 = trans = None
        if pert is not None:
            if pert.crosstalk:
                theta = self._with_crosstalk(theta, pert.crosstalk)
                phi = self._with_crosstalk(phi, pert.crosstalk)
            if pert.theta_offset is not None:
                theta = theta + pert.theta_offset
            if pert.phi_offset is not None:
                phi = phi + pert.phi_offset
            eps1, eps2, trans = pert.eps1, pert.eps2, pert.transmission
        t = torch.stack(mzi_entries(theta, phi, eps1, eps2))  # (4, n_mzi)
        if trans is not None:
            t = t * trans
        cdtype = t.dtype
        flat = torch.scatter(self._base.to(cdtype), 0, self._scatter_idx, t.reshape(-1))
        n = self.layout.modes
        return flat.reshape(self.layout.n_columns, n, n)

    def column_coefficients(self, pert: MZIPerturbation | None = None):
        """Per column: (diag, off, partner) with out = diag * x + off * x[..., partner].

        Shapes (n_columns, N) for ``diag`` and ``off`` (complex) and ``partner`` (long).
        """
        cols = self.columns(pert)
        n = self.layout.modes
        idx = torch.arange(n, device=cols.device)
        diag = cols[:, idx, idx]
        partner = self._partner
        off = torch.gather(cols, 2, partner.unsqueeze(-1)).squeeze(-1)
        off = torch.where(partner == idx, torch.zeros_like(off), off)
        return diag, off, partner

    def apply_columns(self, x: torch.Tensor, pert: MZIPerturbation | None = None) -> torch.Tensor:
        """Propagate ``x`` (..., N) column by column (no N x N unitary is formed)."""
        gamma = self.gamma
        if pert is not None and pert.gamma_offset is not None:
            gamma = gamma + pert.gamma_offset
        y = x * torch.polar(torch.ones_like(gamma), gamma)
        diag, off, partner = self.column_coefficients(pert)
        for c in range(diag.shape[0]):
            y = diag[c] * y + off[c] * y[..., partner[c]]
        return y

    def unitary(self, pert: MZIPerturbation | None = None) -> torch.Tensor:
        """Transfer matrix U (N, N) of the mesh, acting on column vectors: out = U @ in."""
        gamma = self.gamma
        if pert is not None and pert.gamma_offset is not None:
            gamma = gamma + pert.gamma_offset
        u = tree_product(self.columns(pert))
        return u * torch.polar(torch.ones_like(gamma), gamma)

    def forward(self, x: torch.Tensor, pert: MZIPerturbation | None = None) -> torch.Tensor:
        """Propagate fields ``x`` (..., N) through the mesh: returns (..., N)."""
        if self.layout.modes >= COLUMN_APPLY_MODES:
            return self.apply_columns(x, pert)
        return x @ self.unitary(pert).transpose(-1, -2)
