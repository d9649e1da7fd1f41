"""Mesh ensembles: member k of the stacked network is the standalone network k."""

import pytest
import torch

from photonic_dat.errors import MeshErrorSpec
from photonic_dat.mesh import UnitaryMesh
from photonic_dat.models.ensemble import (
    EnsembleModule,
    Member,
    draw_errors,
    member_module_state,
    member_state,
    split_members,
    stack_networks,
)
from photonic_dat.models.mesh_pnn import MeshPNN
from photonic_dat.sepn import build_sepn

MEMBERS = [Member(seed=0, error_seed=5), Member(seed=3, error_seed=7)]


def _pair():
    nets = [MeshPNN(modes=16, layers=2, seed=m.seed) for m in MEMBERS]
    return nets, stack_networks(nets, MEMBERS)


def test_ensemble_mesh_unitaries_are_the_members_and_unitary():
    g = torch.Generator().manual_seed(1)
    ens = UnitaryMesh(16, ensemble=3, generator=g, init="uniform")
    u = ens.unitary().detach()
    assert u.shape == (3, 16, 16)
    eye = torch.eye(16, dtype=u.dtype)
    assert torch.allclose(u @ u.conj().transpose(-1, -2), eye.expand(3, 16, 16), atol=1e-5)
    single = UnitaryMesh(16, init="uniform")
    with torch.no_grad():
        single.theta.copy_(ens.theta[2])
        single.phi.copy_(ens.phi[2])
        single.gamma.copy_(ens.gamma[2])
    assert torch.allclose(single.unitary(), u[2], atol=1e-6)
    with pytest.raises(ValueError, match="member-major"):
        ens(torch.ones(4, 16, dtype=torch.complex64))


def test_stacked_network_with_errors_matches_each_member():
    nets, ens = _pair()
    spec = MeshErrorSpec(bs_std=0.05, phase_std=0.1, crosstalk=0.02, loss_db_mean=0.1,
                         loss_db_std=0.05)
    errors = draw_errors(spec, ens, [m.error_seed for m in MEMBERS])
    x = torch.randn(2 * 5, 16, dtype=torch.complex64)
    got = split_members(ens(x, errors=errors).scores, 2)
    for k, (net, m) in enumerate(zip(nets, MEMBERS, strict=True)):
        want = net(split_members(x, 2)[k], errors=spec.draw(net, m.error_seed)).scores
        assert torch.allclose(got[k], want, atol=1e-5)
    with pytest.raises(ValueError, match="ensemble of 3"):
        draw_errors(spec, ens, [1, 2, 3])


def test_member_gradients_equal_standalone_gradients():
    nets, ens = _pair()
    x = torch.randn(2 * 4, 16, dtype=torch.complex64)
    labels = torch.randint(0, 10, (8,))
    loss_fn = torch.nn.CrossEntropyLoss()
    loss_fn(ens(x).scores, labels).backward()  # mean over both members
    for k, net in enumerate(nets):
        loss_fn(net(split_members(x, 2)[k]).scores, split_members(labels, 2)[k]).backward()
        for name, p in net.named_parameters():
            assert torch.allclose(dict(ens.named_parameters())[name].grad[k], p.grad,
                                  atol=1e-6), name


def test_states_and_modules_round_trip_to_the_standalone_format():
    nets, ens = _pair()
    for k, net in enumerate(nets):
        state = member_state(ens.state_dict(), k)
        assert state.keys() == net.state_dict().keys()
        assert all(torch.equal(state[n], net.state_dict()[n]) for n in state)
    torch.manual_seed(0)
    sepns = [build_sepn("unet", (2, 2, 4), zero_output=False) for _ in range(2)]
    group = torch.nn.ModuleList([EnsembleModule(sepns)])
    field = torch.randn(2 * 3, 4, 4, dtype=torch.complex64)
    out = split_members(group[0](field), 2)
    for k, sepn in enumerate(sepns):
        assert torch.allclose(out[k], sepn(split_members(field, 2)[k]))
        alone = member_module_state(group.state_dict(), k)
        assert alone.keys() == torch.nn.ModuleList([sepn]).state_dict().keys()
    with pytest.raises(ValueError, match="same architecture"):
        stack_networks([nets[0], MeshPNN(modes=16, layers=3)], MEMBERS)


def test_member_states_on_two_devices_stack_on_the_first_members():
    """A member's best state restored from a checkpoint is on the CPU while another's, taken
    since, is where the network trains (meta stands in for a GPU here)."""
    from photonic_dat.models.ensemble import stack_states

    stacked = stack_states([{"w": torch.ones(2, device="meta")}, {"w": torch.ones(2)}])
    assert stacked["w"].device.type == "meta" and stacked["w"].shape == (2, 2)
