"""Tests of Haar-random unitaries and the Clements / Reck decompositions (round trips)."""

from __future__ import annotations

import math

import pytest
import torch

from photonic_dat.mesh.decompose import _factor_phase_mzi, _mzi, decompose, haar_unitary
from photonic_dat.mesh.layout import make_layout
from photonic_dat.mesh.mesh import UnitaryMesh
from photonic_dat.mesh.mzi import mzi_matrix

KINDS = ("clements", "reck")
SIZES = (2, 3, 4, 5, 8, 9, 64)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _loaded_mesh(
    n: int, kind: str, phases: tuple[torch.Tensor, torch.Tensor, torch.Tensor], double: bool
) -> UnitaryMesh:
    mesh = UnitaryMesh(n, kind, init="uniform", generator=_gen(123))
    if double:
        mesh = mesh.double()
    theta, phi, gamma = phases
    with torch.no_grad():
        mesh.theta.copy_(theta.to(mesh.theta.dtype))
        mesh.phi.copy_(phi.to(mesh.phi.dtype))
        mesh.gamma.copy_(gamma.to(mesh.gamma.dtype))
    return mesh


def _max_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).detach().abs().max())


# ---------------------------------------------------------------------------------- haar_unitary


def test_haar_unitary_is_unitary_complex128() -> None:
    for n in (1, 2, 5, 64):
        u = haar_unitary(n, generator=_gen(n))
        assert u.shape == (n, n)
        assert u.dtype == torch.complex128
        eye = torch.eye(n, dtype=torch.complex128)
        assert _max_err(u @ u.conj().T, eye) < 1e-12
        assert _max_err(u.conj().T @ u, eye) < 1e-12


def test_haar_unitary_is_seeded_deterministic() -> None:
    a = haar_unitary(16, generator=_gen(7))
    b = haar_unitary(16, generator=_gen(7))
    c = haar_unitary(16, generator=_gen(8))
    assert torch.equal(a, b)
    assert _max_err(a, c) > 0.1
    torch.manual_seed(3)
    d = haar_unitary(4)
    torch.manual_seed(3)
    assert torch.equal(d, haar_unitary(4))


def test_haar_unitary_rejects_bad_size() -> None:
    with pytest.raises(ValueError):
        haar_unitary(0)


def test_haar_unitary_moments() -> None:
    """Haar moments at n = 4: E|U00|^2 = 1/n, E|U00|^4 = 2/(n(n+1)), E U00 = 0, E|tr U|^2 = 1.

    A QR without the phase correction of R's diagonal fails E U00 = 0 and E|tr U|^2 = 1.
    """
    n, samples = 4, 600
    g = _gen(2024)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # many tiny QRs: thread start-up dominates on a busy machine
    try:
        us = torch.stack([haar_unitary(n, generator=g) for _ in range(samples)])
    finally:
        torch.set_num_threads(threads)
    u00 = us[:, 0, 0]
    p = u00.abs() ** 2
    # standard errors: |U00|^2 ~ Beta(1, 3) (sd ~0.19 -> se ~0.008); |tr U|^2 ~ Exp(1) (se ~0.04)
    assert abs(float(p.mean()) - 1 / n) < 0.04
    assert abs(float((p**2).mean()) - 2 / (n * (n + 1))) < 0.04
    assert float(u00.mean().abs()) < 0.08
    tr2 = torch.diagonal(us, dim1=-2, dim2=-1).sum(-1).abs() ** 2
    assert abs(float(tr2.mean()) - 1.0) < 0.25
    # every entry has the same law: the column / row norms mix uniformly
    assert abs(float((us.abs() ** 2).mean()) - 1 / n) < 1e-12
    assert abs(float((us[:, n - 1, 2].abs() ** 2).mean()) - 1 / n) < 0.04


# ------------------------------------------------------------------------------------ decompose


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n", SIZES)
def test_round_trip_float64(kind: str, n: int) -> None:
    u = haar_unitary(n, generator=_gen(100 + n))
    phases = decompose(u, kind)
    theta, phi, gamma = phases
    n_mzi = make_layout(n, kind).n_mzi
    assert theta.shape == (n_mzi,) and phi.shape == (n_mzi,) and gamma.shape == (n,)
    for x in phases:
        assert x.dtype == torch.float64
        assert float(x.min()) >= 0.0 and float(x.max()) < 2 * math.pi
    mesh = _loaded_mesh(n, kind, phases, double=True)
    v = mesh.unitary()
    assert v.dtype == torch.complex128
    assert _max_err(v, u) < 1e-9


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n", SIZES)
def test_round_trip_float32_mesh(kind: str, n: int) -> None:
    u = haar_unitary(n, generator=_gen(200 + n))
    mesh = _loaded_mesh(n, kind, decompose(u, kind), double=False)
    v = mesh.unitary()
    assert v.dtype == torch.complex64
    assert _max_err(v, u.to(torch.complex64)) < 1e-4


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_against_reference_mzi_product(kind: str) -> None:
    """Independent of mesh.py: U = (product of mzi_matrix over the layout) diag(e^{i gamma})."""
    n = 5
    u = haar_unitary(n, generator=_gen(5))
    theta, phi, gamma = decompose(u, kind)
    layout = make_layout(n, kind)
    total = torch.diag(torch.polar(torch.ones(n, dtype=torch.float64), gamma))
    for k in range(layout.n_mzi):  # layout order is light order (column by column)
        m = int(layout.top[k])
        col = torch.eye(n, dtype=torch.complex128)
        col[m : m + 2, m : m + 2] = mzi_matrix(float(theta[k]), float(phi[k]))
        total = col @ total
    assert _max_err(total, u) < 1e-12


def test_internal_mzi_matches_mzi_convention() -> None:
    """decompose's closed-form MZI (its only copy of the convention) equals mzi.mzi_matrix."""
    g = _gen(31)
    angles = torch.rand(20, 2, generator=g, dtype=torch.float64) * 4 * math.pi - 2 * math.pi
    pairs = [(0.0, 0.0), (math.pi, 0.0), (2 * math.pi, 1.0)] + [tuple(x) for x in angles.tolist()]
    for theta, phi in pairs:
        ref = mzi_matrix(theta, phi)
        assert _max_err(torch.from_numpy(_mzi(theta, phi)), ref) < 1e-14


def test_factor_phase_mzi_reconstructs() -> None:
    """Every 2x2 unitary w = diag(e^{ia}, e^{ib}) T(theta, phi)^T, also for bar / cross states."""
    g = _gen(32)
    ws = [haar_unitary(2, generator=g) for _ in range(20)]
    ws += [torch.eye(2, dtype=torch.complex128), torch.eye(2, dtype=torch.complex128).flip(0),
           torch.diag(torch.tensor([1j, -1.0], dtype=torch.complex128))]
    for w in ws:
        a, b, theta, phi = _factor_phase_mzi(w.numpy())
        assert 0.0 <= theta <= math.pi
        d = torch.diag(torch.tensor([complex(math.cos(a), math.sin(a)),
                                     complex(math.cos(b), math.sin(b))], dtype=torch.complex128))
        assert _max_err(d @ mzi_matrix(theta, phi).T, w) < 1e-12


def _special_unitaries(n: int) -> list[torch.Tensor]:
    """Degenerate inputs: exact zeros, bar / cross states, real matrices, near-identity."""
    g = _gen(n)
    c128 = torch.complex128
    out = [torch.eye(n, dtype=c128), -torch.eye(n, dtype=torch.float64), torch.eye(n).flip(0)]
    for _ in range(3):
        perm = torch.eye(n, dtype=c128)[torch.randperm(n, generator=g)]
        ph = torch.rand(n, generator=g, dtype=torch.float64) * 2 * math.pi
        out.append(perm * torch.polar(torch.ones_like(ph), ph))
    if n > 2:
        a, b = haar_unitary(2, generator=g), haar_unitary(n - 2, generator=g)
        out += [torch.block_diag(a, b), torch.block_diag(b, a)]
    out.append(torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))[0])
    h = torch.randn(n, n, generator=g, dtype=c128)
    out.append(torch.linalg.matrix_exp(1e-9 * (h - h.conj().T)))
    return out


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n", (2, 3, 4, 7))
def test_round_trip_degenerate_inputs(kind: str, n: int) -> None:
    for u in _special_unitaries(n):
        phases = decompose(u, kind)
        for x in phases:
            assert float(x.min()) >= 0.0 and float(x.max()) < 2 * math.pi
        mesh = _loaded_mesh(n, kind, phases, double=True)
        assert _max_err(mesh.unitary(), u.to(torch.complex128)) < 1e-9


@pytest.mark.parametrize("kind", KINDS)
def test_decompose_single_precision_mesh_unitary(kind: str) -> None:
    """The complex64 transfer matrix of a 64-mode mesh (unitary only to ~1e-6) is accepted."""
    n = 64
    src = UnitaryMesh(n, kind, init="uniform", generator=_gen(9))
    with torch.no_grad():
        u32 = src.unitary()
    phases = decompose(u32, kind)
    mesh = _loaded_mesh(n, kind, phases, double=True)
    assert _max_err(mesh.unitary(), u32.to(torch.complex128)) < 1e-5


def test_decompose_is_deterministic() -> None:
    u = haar_unitary(12, generator=_gen(1))
    for kind in KINDS:
        a, b = decompose(u, kind), decompose(u.clone(), kind)
        assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_decompose_rejects_non_unitary() -> None:
    u = haar_unitary(4, generator=_gen(0))
    bad = u.clone()
    bad[0, 0] += 1e-3
    for kind in KINDS:
        with pytest.raises(ValueError, match="unitary"):
            decompose(bad, kind)
        with pytest.raises(ValueError, match="unitary"):
            decompose(2 * u, kind)
        with pytest.raises(ValueError, match="unitary"):
            decompose(torch.ones(3, 3), kind)
    with pytest.raises(ValueError, match="unitary"):
        decompose(u.to(torch.complex64) * 1.001)
    nan = u.clone()
    nan[1, 2] = float("nan")
    with pytest.raises(ValueError):
        decompose(nan)


def test_decompose_rejects_bad_shape_and_kind() -> None:
    u = haar_unitary(4, generator=_gen(0))
    with pytest.raises(ValueError, match="square"):
        decompose(u[:3])
    with pytest.raises(ValueError, match="square"):
        decompose(u[0])
    with pytest.raises(ValueError, match="square"):
        decompose(u.unsqueeze(0))
    with pytest.raises(ValueError, match="unknown"):
        decompose(u, "triangle")
    with pytest.raises(ValueError):
        decompose(torch.ones(1, 1, dtype=torch.complex128))


# --------------------------------------------------------------------------- mesh initialisation


@pytest.mark.parametrize("kind", KINDS)
def test_haar_initialised_mesh_is_unitary(kind: str) -> None:
    mesh = UnitaryMesh(64, kind, init="haar", generator=_gen(11))
    with torch.no_grad():
        u = mesh.unitary()
    assert u.dtype == torch.complex64
    eye = torch.eye(64, dtype=torch.complex64)
    assert _max_err(u @ u.conj().T, eye) < 1e-5
    theta = mesh.theta.detach()
    assert float(theta.min()) >= 0.0 and float(theta.max()) <= math.pi + 1e-6
    again = UnitaryMesh(64, kind, init="haar", generator=_gen(11))
    assert torch.equal(again.theta, mesh.theta)
