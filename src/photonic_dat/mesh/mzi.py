"""The Mach-Zehnder interferometer: beam splitter, internal phase theta, beam splitter, external phase phi.

Conventions (used by every part of the project):

* beam splitter with split-ratio error ``eps`` (ideal: ``eps = 0``, a 50:50 coupler)::

      B(eps) = 1/sqrt(2) [[sqrt(1+eps), i sqrt(1-eps)],
                          [i sqrt(1-eps), sqrt(1+eps)]]

* internal phase shifter in push-pull ("Bloch") form, a differential phase theta between the
  arms: ``Q(theta) = diag(exp(i theta/2), exp(-i theta/2))``;
* external phase shifter on the upper output arm: ``P(phi) = diag(exp(i phi), 1)``;
* MZI transfer matrix acting on the column vector (upper, lower)::

      T(theta, phi) = P(phi) @ B(eps2) @ Q(theta) @ B(eps1)
                    = [[i e^{i phi} sin(theta/2), i e^{i phi} cos(theta/2)],
                       [i cos(theta/2),          -i sin(theta/2)]]          (eps = 0)

  i.e. light meets ``B(eps1)`` first. ``theta = pi`` is the bar state, ``theta = 0`` the cross
  state. This is the convention of the DAT paper's official code (neurophox's Bloch basis): an
  offset on theta is a purely differential phase error, with no common-mode phase.
"""

from __future__ import annotations

import math

import torch


def beam_splitter(eps: torch.Tensor | float = 0.0) -> torch.Tensor:
    """2x2 beam-splitter matrix with split-ratio error ``eps`` (complex128 for checks)."""
    eps_t = torch.as_tensor(eps, dtype=torch.float64)
    a = torch.sqrt((1 + eps_t) / 2)
    b = torch.sqrt((1 - eps_t) / 2)
    row0 = torch.stack([a.to(torch.complex128), 1j * b.to(torch.complex128)])
    row1 = torch.stack([1j * b.to(torch.complex128), a.to(torch.complex128)])
    return torch.stack([row0, row1])


def mzi_entries(
    theta: torch.Tensor,
    phi: torch.Tensor,
    eps1: torch.Tensor | None = None,
    eps2: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Entries (t00, t01, t10, t11) of ``T(theta, phi)`` for a batch of MZIs, in closed form.

    Args:
        theta: internal phase (rad), any shape.
        phi: external phase (rad), same shape.
        eps1, eps2: split-ratio errors of the first and second beam splitter (same shape),
            ``None`` for ideal 50:50 couplers.

    Returns:
        Four complex tensors of the shape of ``theta``.
    """
    e_h = torch.polar(torch.ones_like(theta), 0.5 * theta)  # exp(i theta/2)
    e_hc = e_h.conj()
    e_phi = torch.polar(torch.ones_like(phi), phi)
    if eps1 is None and eps2 is None:
        t00 = 0.5 * (e_h - e_hc)
        t01 = 0.5j * (e_h + e_hc)
        t10 = t01
        t11 = -t00
    else:
        zero = torch.zeros_like(theta)
        eps1 = zero if eps1 is None else eps1
        eps2 = zero if eps2 is None else eps2
        a1, b1 = torch.sqrt((1 + eps1) / 2), torch.sqrt((1 - eps1) / 2)
        a2, b2 = torch.sqrt((1 + eps2) / 2), torch.sqrt((1 - eps2) / 2)
        t00 = a1 * a2 * e_h - b1 * b2 * e_hc
        t01 = 1j * (a2 * b1 * e_h + a1 * b2 * e_hc)
        t10 = 1j * (a1 * b2 * e_h + a2 * b1 * e_hc)
        t11 = a1 * a2 * e_hc - b1 * b2 * e_h
    return e_phi * t00, e_phi * t01, t10, t11


def mzi_matrix(theta: float, phi: float, eps1: float = 0.0, eps2: float = 0.0) -> torch.Tensor:
    """One MZI as a 2x2 complex128 matrix (reference implementation by matrix products)."""
    c128 = torch.complex128
    half = complex(math.cos(theta / 2), math.sin(theta / 2))
    p_theta = torch.diag(torch.tensor([half, half.conjugate()], dtype=c128))
    p_phi = torch.diag(torch.tensor([complex(math.cos(phi), math.sin(phi)), 1.0], dtype=c128))
    return p_phi @ beam_splitter(eps2) @ p_theta @ beam_splitter(eps1)
