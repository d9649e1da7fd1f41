"""Universal unitary meshes of MZIs, built column by column and vectorised.

The transfer matrix of a mesh is ``U = C_{L-1} ... C_1 C_0 diag(exp(i gamma))``: an input phase
screen ``gamma`` followed by the columns ``C_c`` (each a block-diagonal of 2x2 MZI matrices,
identity on the modes it does not touch). All column matrices are written at once by one
scatter, and multiplied by a balanced tree of batched matmuls (log2(L) levels), so one forward
costs a few batched 64x64 products instead of L sequential in-place updates. The tree costs
O(L N^3); for wide meshes (N >= ``COLUMN_APPLY_MODES``) the forward instead applies the L
columns to the fields directly, O(L B N) with a few vector operations per column.

*Ensembles*: a mesh built with ``ensemble=E`` holds E independent meshes (members) in one set of
parameters with a leading member axis, ``theta``/``phi`` (E, n_mzi) and ``gamma`` (E, N), and
computes all E unitaries in the same batched kernels. Its fields are *member-major*: a batch of
E*b fields whose rows ``[k*b, (k+1)*b)`` belong to member k. Perturbations carry the same leading
axis (:func:`stack_perturbations`).
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


def stack_perturbations(perts: list[MZIPerturbation]) -> MZIPerturbation:
    """One perturbation with a leading member axis from the perturbations of E members."""
    if len({p.crosstalk for p in perts}) > 1:
        raise ValueError("ensemble members must share the crosstalk coefficient")
    fields = {}
    for name in ("eps1", "eps2", "theta_offset", "phi_offset", "gamma_offset", "transmission"):
        values = [getattr(p, name) for p in perts]
        if all(v is None for v in values):
            fields[name] = None
        elif any(v is None for v in values):
            raise ValueError(f"ensemble members disagree on whether {name} is perturbed")
        else:
            fields[name] = torch.stack(values)
    return MZIPerturbation(**fields, crosstalk=perts[0].crosstalk)


#: from this many modes on, forward() applies columns to the fields instead of building U
COLUMN_APPLY_MODES = 128


def tree_product(mats: torch.Tensor) -> torch.Tensor:
    """``mats[L-1] @ ... @ mats[1] @ mats[0]`` for a stack (..., L, N, N), by pairwise batched
    matmuls (leading dimensions are batch dimensions)."""
    while mats.shape[-3] > 1:
        n = mats.shape[-3]
        paired = mats[..., 1 : n - n % 2 : 2, :, :] @ mats[..., 0 : n - n % 2 : 2, :, :]
        mats = torch.cat([paired, mats[..., n - 1 :, :, :]], dim=-3) if n % 2 else paired
    return mats[..., 0, :, :]


class UnitaryMesh(nn.Module):
    """An N-mode MZI mesh with trainable ``theta``, ``phi`` (per MZI) and ``gamma`` (per mode).

    Args:
        modes: number of waveguides N.
        layout: ``"clements"`` (rectangular) or ``"reck"`` (triangular).
        init: ``"haar"`` (phases of a Haar-random unitary, via the decomposition) or ``"uniform"``.
        generator: random generator for the initialisation.
        ensemble: number of members E (0: a single mesh, no member axis). Every member is
            initialised independently from ``generator``, one after the other.
    """

    def __init__(
        self,
        modes: int,
        layout: str = "clements",
        init: str = "haar",
        generator: torch.Generator | None = None,
        ensemble: int = 0,
    ) -> None:
        super().__init__()
        self.layout: MeshLayout = make_layout(modes, layout)
        if ensemble < 0:
            raise ValueError(f"ensemble={ensemble} must be >= 0")
        if ensemble and modes >= COLUMN_APPLY_MODES:
            raise ValueError(f"mesh ensembles are for small meshes (< {COLUMN_APPLY_MODES} modes), "
                             f"got {modes}")
        self.ensemble = int(ensemble)
        lead = (ensemble,) if ensemble else ()
        n, n_mzi = modes, self.layout.n_mzi
        self.theta = nn.Parameter(torch.zeros(*lead, n_mzi))
        self.phi = nn.Parameter(torch.zeros(*lead, n_mzi))
        self.gamma = nn.Parameter(torch.zeros(*lead, n))
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
        """Initialise: theta from a Haar-random unitary (or uniform), phi and gamma uniform in
        [0, 2pi); the members of an ensemble one after the other."""
        n_mzi, n = self.layout.n_mzi, self.layout.modes
        two_pi = 2 * math.pi
        if init not in ("haar", "uniform"):
            raise ValueError(f"unknown mesh init {init!r}; allowed: haar, uniform")
        views = [(self.theta, self.phi, self.gamma)]
        if self.ensemble:
            views = list(zip(self.theta, self.phi, self.gamma, strict=True))
        for theta_k, phi_k, gamma_k in views:
            if init == "haar":
                from .decompose import decompose, haar_unitary

                theta, _, _ = decompose(haar_unitary(n, generator=generator), self.layout.kind)
                theta_k.copy_(theta.to(theta_k.dtype))
            else:
                theta_k.copy_(torch.rand(n_mzi, generator=generator) * two_pi)
            phi_k.copy_(torch.rand(n_mzi, generator=generator) * two_pi)
            gamma_k.copy_(torch.rand(n, generator=generator) * two_pi)

    def _with_crosstalk(self, phase: torch.Tensor, kappa: float) -> torch.Tensor:
        padded = torch.cat([phase, phase.new_zeros(*phase.shape[:-1], 1)], dim=-1)
        return phase + kappa * (padded[..., self._left] + padded[..., self._right])

    def columns(self, pert: MZIPerturbation | None = None) -> torch.Tensor:
        """All column matrices C_c, shape (n_columns, N, N), complex ((E, n_columns, N, N) for an
        ensemble)."""
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
        t = torch.stack(mzi_entries(theta, phi, eps1, eps2), dim=-2)  # (..., 4, n_mzi)
        if trans is not None:
            t = t * trans.unsqueeze(-2)
        lead = t.shape[:-2]
        src = t.reshape(*lead, -1)
        base = self._base.to(t.dtype).expand(*lead, -1)
        flat = torch.scatter(base, -1, self._scatter_idx.expand(*lead, -1), src)
        n = self.layout.modes
        return flat.reshape(*lead, self.layout.n_columns, n, n)

    def column_coefficients(self, pert: MZIPerturbation | None = None):
        """Per column: (diag, off, partner) with out = diag * x + off * x[..., partner].

        Shapes (n_columns, N) for ``diag`` and ``off`` (complex) and ``partner`` (long).
        """
        if self.ensemble:
            raise ValueError("column-by-column propagation is not available for mesh ensembles")
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
        return u * torch.polar(torch.ones_like(gamma), gamma).unsqueeze(-2)

    def forward(self, x: torch.Tensor, pert: MZIPerturbation | None = None) -> torch.Tensor:
        """Propagate fields ``x`` (..., N) through the mesh: returns (..., N). For an ensemble of
        E members, ``x`` is a member-major batch (E*b, N)."""
        if self.layout.modes >= COLUMN_APPLY_MODES:
            return self.apply_columns(x, pert)
        u_t = self.unitary(pert).transpose(-1, -2)
        if not self.ensemble:
            return x @ u_t
        if x.ndim != 2 or x.shape[0] % self.ensemble:
            raise ValueError(f"an ensemble of {self.ensemble} meshes needs a member-major batch "
                             f"(E*b, N), got shape {tuple(x.shape)}")
        n = x.shape[-1]
        return (x.reshape(self.ensemble, -1, n) @ u_t).reshape(-1, n)
