import pytest
import torch

from photonic_dat.errors import ErrorSpecError, MeshErrorSpec
from photonic_dat.models import MeshPNN


@pytest.fixture(scope="module")
def model():
    return MeshPNN(modes=64, layers=3, seed=0)


def test_drawn_errors_have_requested_std(model):
    spec = MeshErrorSpec(bs_std=0.04, phase_std=0.08)
    pert = spec.draw(model, seed=1)
    assert len(pert) == 3
    eps = torch.cat([torch.cat([p.eps1, p.eps2]) for p in pert])
    phase = torch.cat([torch.cat([p.theta_offset, p.phi_offset]) for p in pert])
    assert eps.numel() == 3 * 2 * 2016
    assert eps.std().item() == pytest.approx(0.04, rel=0.05)
    assert phase.std().item() == pytest.approx(0.08, rel=0.05)
    assert abs(phase.mean().item()) < 0.005
    assert pert[0].gamma_offset is None and pert[0].transmission is None


def test_same_seed_same_draw_other_seed_other_draw(model):
    spec = MeshErrorSpec(phase_std=0.1)
    a, b, c = spec.draw(model, 7), spec.draw(model, 7), spec.draw(model, 8)
    assert torch.equal(a[1].theta_offset, b[1].theta_offset)
    assert not torch.equal(a[1].theta_offset, c[1].theta_offset)


def test_levels_share_the_pattern(model):
    small = MeshErrorSpec(phase_std=0.02).draw(model, 3)[0].theta_offset
    large = MeshErrorSpec(phase_std=0.08).draw(model, 3)[0].theta_offset
    assert torch.allclose(large, 4 * small, rtol=1e-5)


def test_insertion_loss_and_crosstalk(model):
    pert = MeshErrorSpec(loss_db_mean=0.1, loss_db_std=0.02, crosstalk=0.01).draw(model, 0)
    t = pert[0].transmission
    assert torch.all(t < 1) and t.mean().item() == pytest.approx(10 ** (-0.1 / 20), rel=1e-3)
    assert pert[0].crosstalk == 0.01


def test_zero_spec_is_zero_and_serialises():
    spec = MeshErrorSpec()
    assert spec.is_zero()
    assert not MeshErrorSpec(phase_std=0.01).is_zero()
    again = MeshErrorSpec.from_dict(MeshErrorSpec(bs_std=0.02).to_dict())
    assert again == MeshErrorSpec(bs_std=0.02)


@pytest.mark.parametrize("bad,match", [
    ({"phase_std": -0.1}, "phase_std"),
    ({"bs_std": 0.7}, "bs_std"),
    ({"phase_sd": 0.1}, "unknown error key 'errors.phase_sd'"),
    ({"phase_std": float("nan")}, "finite"),
])
def test_invalid_specs_raise_one_line(bad, match):
    with pytest.raises(ErrorSpecError, match=match) as info:
        MeshErrorSpec.from_dict(bad)
    assert "\n" not in str(info.value)
