"""Where the MZIs of a mesh sit: rectangular (Clements) and triangular (Reck) layouts.

A layout is a list of MZIs, each acting on the neighbouring modes ``(top, top + 1)`` in a
given column. MZIs are ordered column by column (light passes column 0 first), and within a
column by their top mode. Every per-MZI tensor of the project (``theta``, ``phi``, errors) uses
this order.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

LAYOUTS = ("clements", "reck")


@dataclass(frozen=True)
class MeshLayout:
    """Positions of the MZIs of an ``modes``-mode mesh.

    Attributes:
        modes: number of waveguides N.
        kind: ``"clements"`` (rectangular, N columns) or ``"reck"`` (triangular, 2N - 3 columns).
        column: column index of each MZI, shape (n_mzi,).
        top: upper mode of each MZI, shape (n_mzi,); the MZI couples ``top`` and ``top + 1``.
    """

    modes: int
    kind: str
    column: torch.Tensor
    top: torch.Tensor

    @property
    def n_mzi(self) -> int:
        return int(self.column.numel())

    @property
    def n_columns(self) -> int:
        return int(self.column.max().item()) + 1 if self.n_mzi else 0

    def column_slices(self) -> list[slice]:
        """Slice of the flat MZI order belonging to each column."""
        counts = torch.bincount(self.column, minlength=self.n_columns).tolist()
        out, start = [], 0
        for c in counts:
            out.append(slice(start, start + c))
            start += c
        return out


def clements_positions(modes: int) -> list[tuple[int, int]]:
    """(column, top) of every MZI of the rectangular mesh: N columns, alternating offsets."""
    return [(c, m) for c in range(modes) for m in range(c % 2, modes - 1, 2)]


def reck_positions(modes: int) -> list[tuple[int, int]]:
    """(column, top) of every MZI of the triangular mesh.

    Diagonal k (1..N-1) holds the MZIs on modes (m, m+1) for m = k-1 down to 0; the MZI of
    diagonal k on top mode m sits in column 2k - 2 - m, giving 2N - 3 columns.
    """
    pos = [(2 * k - 2 - m, m) for k in range(1, modes) for m in range(k - 1, -1, -1)]
    return sorted(pos)


def make_layout(modes: int, kind: str = "clements") -> MeshLayout:
    """Build the layout of an N-mode mesh of the given kind."""
    if modes < 2:
        raise ValueError(f"a mesh needs at least 2 modes, got modes={modes}")
    if kind == "clements":
        pos = clements_positions(modes)
    elif kind == "reck":
        pos = reck_positions(modes)
    else:
        raise ValueError(f"unknown mesh layout {kind!r}; allowed: {', '.join(LAYOUTS)}")
    column = torch.tensor([p[0] for p in pos], dtype=torch.long)
    top = torch.tensor([p[1] for p in pos], dtype=torch.long)
    return MeshLayout(modes=modes, kind=kind, column=column, top=top)
