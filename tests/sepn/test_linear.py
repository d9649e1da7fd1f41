"""The dense complex-linear SEPN: it represents a mesh's systematic error exactly."""

import pytest
import torch

from photonic_dat.errors import MeshErrorSpec
from photonic_dat.models.mesh_pnn import MeshPNN
from photonic_dat.sepn import LinearSEPN, build_sepn, sepn_name


def test_the_right_matrix_reproduces_an_erroneous_mesh_exactly():
    net = MeshPNN(modes=16, layers=1, activation="none", seed=2)
    errors = MeshErrorSpec(bs_std=0.05, phase_std=0.1, crosstalk=0.02).draw(net, 3)
    ideal_u = net.meshes[0].unitary().detach()
    real_u = net.meshes[0].unitary(errors[0]).detach()
    sepn = build_sepn("linear", (4, 8, 16), plane_shape=(4, 4))
    d = real_u @ ideal_u.conj().T - torch.eye(16)  # D = U' U^H - 1
    with torch.no_grad():
        sepn.matrix.copy_(torch.stack([d.real, d.imag]))
    x = torch.randn(7, 16, dtype=torch.complex64)
    ideal = net(x).planes[0]
    model = ideal + net.apply_sepn(0, sepn, ideal)
    assert torch.allclose(model, net(x, errors=errors).planes[0], atol=1e-5)


def test_linear_sepn_starts_at_zero_and_learns_a_linear_map():
    torch.manual_seed(0)
    sepn = LinearSEPN((2, 2))
    z = torch.randn(64, 2, 2, dtype=torch.complex64)
    assert torch.count_nonzero(sepn(z)) == 0
    target = torch.randn(4, 4, dtype=torch.complex64) * 0.3
    opt = torch.optim.Adam(sepn.parameters(), lr=0.05)
    for _ in range(300):
        want = (z.reshape(64, 4) @ target.T).reshape(64, 2, 2)
        loss = (sepn(z) - want).abs().pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert torch.allclose(sepn.correction_matrix().detach(), target, atol=1e-2)
    assert LinearSEPN((2, 2), zero_output=False).matrix.abs().sum() > 0


def test_linear_sepn_refuses_wrong_or_large_planes():
    assert sepn_name("linear", (4, 8, 16)) == "linear"
    with pytest.raises(ValueError, match="plane shape"):
        build_sepn("linear", (4,))
    with pytest.raises(ValueError, match="at most 1024 pixels"):
        LinearSEPN((64, 64))
    with pytest.raises(ValueError, match=r"built for planes of \(2, 2\)"):
        LinearSEPN((2, 2))(torch.zeros(1, 3, 3, dtype=torch.complex64))
