"""The mesh-parameter SEPN: a mesh's own error parameters as the numerical model's correction."""

import pytest
import torch

from photonic_dat.errors import MeshErrorSpec
from photonic_dat.models.mesh_pnn import MeshPNN
from photonic_dat.sepn import MeshParamSEPN, build_sepn, learnable_families, sepn_name


def _net_and_errors(seed=2):
    net = MeshPNN(modes=16, layers=2, seed=seed)
    errors = MeshErrorSpec(bs_std=0.05, phase_std=0.1).draw(net, 3)
    sepns = torch.nn.ModuleList(build_sepn("mesh", (4, 8, 16), plane_shape=(4, 4), mesh=m)
                                for m in net.meshes)
    return net, errors, sepns


def _set_to(sepns, errors):
    with torch.no_grad():
        for sepn, pert in zip(sepns, errors, strict=True):
            for name in ("eps1", "eps2", "theta_offset", "phi_offset", "gamma_offset"):
                value = getattr(pert, name)
                getattr(sepn, name).copy_(value if value is not None else 0)


def test_starts_as_the_ideal_mesh_and_owns_no_phase():
    net, _, sepns = _net_and_errors()
    x = torch.randn(5, 16, dtype=torch.complex64)
    with torch.no_grad():
        assert torch.allclose(net(x, sepns=sepns, sepn_weight=1.0).scores, net(x).scores,
                              atol=1e-6)
    names = {n for n, _ in sepns.named_parameters()}
    assert not any(n.endswith(("theta", "phi", "gamma")) for n in names)
    assert sepn_name("mesh", (4, 8, 16)) == "mesh"


def test_the_true_errors_give_the_hardware_planes_and_the_hardware_gradient():
    net, errors, sepns = _net_and_errors()
    _set_to(sepns, errors)
    x = torch.randn(6, 16, dtype=torch.complex64)
    labels = torch.randint(0, 10, (6,))
    loss_fn = torch.nn.CrossEntropyLoss()
    params = [net.meshes[0].theta, net.meshes[1].phi]
    model = net(x, sepns=sepns, sepn_weight=1.0)
    hardware = net(x, errors=errors)
    for a, b in zip(model.planes, hardware.planes, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    g_model = torch.autograd.grad(loss_fn(model.scores, labels), params)
    g_hw = torch.autograd.grad(loss_fn(hardware.scores, labels), params)
    for a, b in zip(g_model, g_hw, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-6)
    # a dense linear SEPN with the same D matches the planes but not the gradient
    linear = torch.nn.ModuleList(build_sepn("linear", (4, 8, 16), plane_shape=(4, 4))
                                 for _ in net.meshes)
    with torch.no_grad():
        for lin, sepn in zip(linear, sepns, strict=True):
            d = sepn.correction_matrix()
            lin.matrix.copy_(torch.stack([d.real, d.imag]))
    out = net(x, sepns=linear, sepn_weight=1.0)
    g_lin = torch.autograd.grad(loss_fn(out.scores, labels), params)
    assert not torch.allclose(g_lin[0], g_hw[0], rtol=1e-2, atol=1e-4)


def test_needs_a_single_mesh_and_a_matching_plane():
    net, _, _ = _net_and_errors()
    with pytest.raises(ValueError, match="plane shape"):
        MeshParamSEPN(net.meshes[0], (2, 4))
    with pytest.raises(ValueError, match="mesh"):
        build_sepn("mesh", (4, 8, 16), plane_shape=(4, 4))


def test_learns_only_the_families_the_error_spec_has():
    net, _, _ = _net_and_errors()
    assert learnable_families(MeshErrorSpec(phase_std=0.1)) == ("theta_offset", "phi_offset")
    assert set(learnable_families(MeshErrorSpec(bs_std=0.1, gamma_std=0.1))) == {
        "eps1", "eps2", "gamma_offset"}
    assert len(learnable_families(MeshErrorSpec(crosstalk=0.1))) == 5  # none named: all
    sepn = MeshParamSEPN(net.meshes[0], (4, 4), learn=("theta_offset", "phi_offset"))
    assert {n for n, _ in sepn.named_parameters()} == {"theta_offset", "phi_offset"}
    assert sepn.eps1.shape == sepn.theta_offset.shape and not sepn.eps1.requires_grad
    with pytest.raises(ValueError, match="learn"):
        MeshParamSEPN(net.meshes[0], (4, 4), learn=("crosstalk",))
