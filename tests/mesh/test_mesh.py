import math

import pytest
import torch

from photonic_dat.mesh import (
    ElectroOpticActivation,
    MZIPerturbation,
    UnitaryMesh,
    make_layout,
    mzi_entries,
    mzi_matrix,
    tree_product,
)


def _eye(n, dtype=torch.complex64):
    return torch.eye(n, dtype=dtype)


@pytest.mark.parametrize("kind,n", [("clements", 64), ("clements", 7), ("reck", 16), ("reck", 5)])
def test_layout_counts(kind, n):
    layout = make_layout(n, kind)
    assert layout.n_mzi == n * (n - 1) // 2
    assert layout.n_columns == (n if kind == "clements" else 2 * n - 3)
    # no two MZIs of one column share a mode
    for c in range(layout.n_columns):
        tops = layout.top[layout.column == c]
        modes = torch.cat([tops, tops + 1])
        assert modes.unique().numel() == modes.numel()


def test_layout_rejects_bad_input():
    with pytest.raises(ValueError, match="allowed"):
        make_layout(8, "butterfly")
    with pytest.raises(ValueError, match="at least 2"):
        make_layout(1)


@pytest.mark.parametrize("kind,n", [("clements", 64), ("reck", 32)])
def test_mesh_is_unitary(kind, n):
    mesh = UnitaryMesh(n, kind, init="uniform", generator=torch.Generator().manual_seed(1))
    u = mesh.unitary()
    assert u.dtype == torch.complex64
    assert (u @ u.conj().T - _eye(n)).abs().max() < 1e-5


def test_two_mode_mesh_is_one_mzi_after_the_screen():
    mesh = UnitaryMesh(2, init="uniform").double()
    with torch.no_grad():
        mesh.theta.fill_(0.7)
        mesh.phi.fill_(1.3)
        mesh.gamma.copy_(torch.tensor([0.2, -0.4]))
    screen = torch.diag(torch.polar(torch.ones(2, dtype=torch.float64), mesh.gamma.detach()))
    expected = mzi_matrix(0.7, 1.3) @ screen
    assert torch.allclose(mesh.unitary().detach(), expected, atol=1e-12)


def test_mzi_bar_and_cross_states():
    bar = mzi_matrix(math.pi, 0.0)
    cross = mzi_matrix(0.0, 0.0)
    assert bar[0, 1].abs() < 1e-12 and bar[1, 0].abs() < 1e-12
    assert cross[0, 0].abs() < 1e-12 and cross[1, 1].abs() < 1e-12


def test_closed_form_matches_matrix_product_with_errors():
    g = torch.Generator().manual_seed(0)
    theta, phi = torch.rand(5, generator=g, dtype=torch.float64) * 6, torch.rand(5, dtype=torch.float64)
    e1, e2 = 0.1 * torch.randn(5, dtype=torch.float64), 0.1 * torch.randn(5, dtype=torch.float64)
    t = mzi_entries(theta, phi, e1, e2)
    for i in range(5):
        m = mzi_matrix(float(theta[i]), float(phi[i]), float(e1[i]), float(e2[i]))
        got = torch.stack([t[0][i], t[1][i], t[2][i], t[3][i]])
        assert torch.allclose(got, m.flatten(), atol=1e-12)


def test_tree_product_equals_sequential_product():
    g = torch.Generator().manual_seed(3)
    for n_mats in (1, 2, 5, 8, 13):
        mats = torch.randn(n_mats, 6, 6, generator=g, dtype=torch.complex128)
        seq = mats[0]
        for m in mats[1:]:
            seq = m @ seq
        assert torch.allclose(tree_product(mats), seq, atol=1e-10)


def test_beam_splitter_and_phase_errors_keep_unitarity_loss_does_not():
    mesh = UnitaryMesh(16, init="uniform")
    n_mzi = mesh.layout.n_mzi
    g = torch.Generator().manual_seed(0)
    pert = MZIPerturbation(eps1=0.1 * torch.randn(n_mzi, generator=g),
                           eps2=0.1 * torch.randn(n_mzi, generator=g),
                           theta_offset=0.1 * torch.randn(n_mzi, generator=g),
                           phi_offset=0.1 * torch.randn(n_mzi, generator=g))
    u = mesh.unitary(pert).detach()
    assert (u @ u.conj().T - _eye(16)).abs().max() < 1e-5
    assert (u - mesh.unitary().detach()).abs().max() > 1e-2
    lossy = MZIPerturbation(transmission=torch.full((n_mzi,), 0.99))
    x = torch.randn(4, 16, dtype=torch.complex64)
    y = mesh(x, lossy).detach()
    ratio = y.abs().pow(2).sum(1) / x.abs().pow(2).sum(1)
    assert torch.all(ratio < 0.999) and torch.all(ratio > 0.99**32)


def test_crosstalk_couples_neighbouring_phases():
    mesh = UnitaryMesh(8, init="uniform").double()
    base = mesh.unitary().detach()
    assert torch.equal(mesh.unitary(MZIPerturbation(crosstalk=0.0)).detach(), base)
    assert (mesh.unitary(MZIPerturbation(crosstalk=0.05)).detach() - base).abs().max() > 1e-3
    # changing one MZI's phase moves a neighbour's effective phase only with crosstalk
    c, t = mesh.layout.column, mesh.layout.top
    i = int(((c == 0) & (t == 2)).nonzero())
    one_hot = torch.zeros(mesh.layout.n_mzi, dtype=torch.float64)
    one_hot[i] = 1.0
    eff = mesh._with_crosstalk(one_hot, 0.1)
    left = int(((c == 0) & (t == 0)).nonzero())
    right = int(((c == 0) & (t == 4)).nonzero())
    assert eff[left] == pytest.approx(0.1) and eff[right] == pytest.approx(0.1)
    assert eff[i] == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["theta", "phi", "gamma"])
def test_gradients_match_finite_differences(name):
    torch.manual_seed(0)
    mesh = UnitaryMesh(6, init="uniform", generator=torch.Generator().manual_seed(5)).double()
    x = torch.randn(3, 6, dtype=torch.complex128)
    pert = MZIPerturbation(eps1=torch.full((15,), 0.03, dtype=torch.float64), crosstalk=0.02)

    def loss_fn():
        y = mesh(x, pert)
        return (y.abs() ** 2 * torch.arange(6, dtype=torch.float64)).sum()

    loss = loss_fn()
    (grad,) = torch.autograd.grad(loss, [getattr(mesh, name)])
    param = getattr(mesh, name)
    h = 1e-6
    for idx in range(0, param.numel(), 2):
        with torch.no_grad():
            param[idx] += h
            up = loss_fn().item()
            param[idx] -= 2 * h
            down = loss_fn().item()
            param[idx] += h
        assert grad[idx].item() == pytest.approx((up - down) / (2 * h), abs=1e-6, rel=1e-5)


def test_eo_activation_formula():
    act = ElectroOpticActivation(alpha=0.1, g=0.05 * math.pi, phi_b=math.pi)
    z = torch.tensor([0.3 + 0.4j, 2.0 - 1.0j, 0.0j], dtype=torch.complex128)
    phase = 0.05 * math.pi * z.abs() ** 2 / 2 + math.pi / 2
    expected = math.sqrt(0.9) * torch.cos(phase) * torch.exp(-1j * phase) * z
    assert torch.allclose(act(z), expected, atol=1e-14)
    big = torch.randn(100, dtype=torch.complex64) * 3
    assert torch.all(act(big).abs() <= math.sqrt(0.9) * big.abs() + 1e-6)


@pytest.mark.parametrize("kind,n", [("clements", 9), ("reck", 8), ("clements", 130)])
def test_column_application_equals_the_unitary(kind, n):
    mesh = UnitaryMesh(n, kind, init="uniform", generator=torch.Generator().manual_seed(2)).double()
    g = torch.Generator().manual_seed(0)
    n_mzi = mesh.layout.n_mzi
    pert = MZIPerturbation(eps1=0.05 * torch.randn(n_mzi, generator=g, dtype=torch.float64),
                           phi_offset=0.1 * torch.randn(n_mzi, generator=g, dtype=torch.float64),
                           crosstalk=0.01)
    x = torch.randn(4, n, dtype=torch.complex128, generator=g)
    via_u = x @ mesh.unitary(pert).transpose(-1, -2)
    assert torch.allclose(mesh.apply_columns(x, pert), via_u, atol=1e-10)
    assert torch.allclose(mesh(x, pert), via_u, atol=1e-10)  # forward picks either route
