import pytest
import torch

from photonic_dat.errors import MeshErrorSpec
from photonic_dat.models import MeshPNN
from photonic_dat.system import Measurement, PhysicalSystem, SimulatedSystem


@pytest.fixture(scope="module")
def model():
    return MeshPNN(modes=16, layers=3, seed=1)


def _x(model, n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return model.encode(torch.rand(n, 28, 28, generator=g))


def test_zero_error_system_reproduces_ideal_model_exactly(model):
    system = SimulatedSystem(model, MeshErrorSpec())
    x = _x(model)
    m = system.measure(x, internal=True)
    trace = model(x)
    assert torch.equal(m.output, trace.intensity.detach())
    for got, want in zip(m.internal, trace.plane_intensities()[:-1], strict=True):
        assert torch.equal(got, want.detach())


def test_measurements_carry_no_gradient_and_count_queries(model):
    system = SimulatedSystem(model, MeshErrorSpec(phase_std=0.05))
    assert isinstance(system, PhysicalSystem)
    x = _x(model, 6).requires_grad_(False)
    m = system.measure(x)
    assert isinstance(m, Measurement) and not m.output.requires_grad and m.internal is None
    system.measure_layer(1, torch.randn(4, 16, dtype=torch.complex64))
    assert system.queries == 10


def test_two_systems_from_one_seed_measure_identically(model):
    spec = MeshErrorSpec(bs_std=0.05, phase_std=0.05)
    a, b = SimulatedSystem(model, spec, error_seed=3), SimulatedSystem(model, spec, error_seed=3)
    c = SimulatedSystem(model, spec, error_seed=4)
    x = _x(model)
    assert torch.equal(a.measure(x).output, b.measure(x).output)
    assert not torch.allclose(a.measure(x).output, c.measure(x).output)


def test_errors_change_the_output(model):
    x = _x(model)
    ideal = SimulatedSystem(model, MeshErrorSpec()).measure(x).output
    bad = SimulatedSystem(model, MeshErrorSpec(phase_std=0.2)).measure(x).output
    assert (bad - ideal).abs().max() > 1e-3


def test_system_keeps_its_own_copy_until_programmed(model):
    local = MeshPNN(modes=16, layers=3, seed=1)
    system = SimulatedSystem(local, MeshErrorSpec())
    x = _x(local)
    before = system.measure(x).output
    with torch.no_grad():
        local.meshes[0].theta.add_(0.5)
    assert torch.equal(system.measure(x).output, before)
    system.program(local.physical_params())
    assert torch.allclose(system.measure(x).output, local(x).intensity.detach())


def test_measure_layer_probes_one_mesh_with_its_errors(model):
    spec = MeshErrorSpec(phase_std=0.1)
    system = SimulatedSystem(model, spec, error_seed=2)
    pert = spec.draw(model, 2)
    field = torch.randn(3, 16, dtype=torch.complex64)
    got = system.measure_layer(2, field)
    want = model.meshes[2](field, pert[2]).abs() ** 2
    assert torch.allclose(got, want.detach(), atol=1e-6)
    with pytest.raises(IndexError):
        system.measure_layer(3, field)


def test_read_noise_is_random_nonnegative_and_scaled(model):
    x = _x(model, 32)
    clean = SimulatedSystem(model, MeshErrorSpec()).measure(x).output
    noisy = SimulatedSystem(model, MeshErrorSpec(), read_noise=0.05)
    a, b = noisy.measure(x).output, noisy.measure(x).output
    assert torch.all(a >= 0) and not torch.equal(a, b)
    rel = ((a - clean).std() / clean.mean()).item()
    assert 0.02 < rel < 0.1
    with pytest.raises(ValueError, match="read_noise"):
        SimulatedSystem(model, MeshErrorSpec(), read_noise=-1)


def test_field_detection_returns_the_complex_internal_fields(model):
    x = _x(model)
    spec = MeshErrorSpec(phase_std=0.1)
    coherent = SimulatedSystem(model, spec, error_seed=3, internal_detection="field")
    camera = SimulatedSystem(model, spec, error_seed=3)
    a, b = coherent.measure(x, internal=True), camera.measure(x, internal=True)
    assert torch.equal(a.output, b.output) and not a.output.is_complex()
    for field, intensity in zip(a.internal, b.internal, strict=True):
        assert field.is_complex()
        torch.testing.assert_close(field.real**2 + field.imag**2, intensity)
    # the phase the camera cannot see: it differs from the ideal model's under phase errors
    ideal = model(x).planes[0].detach()
    assert (torch.angle(a.internal[1] * ideal.conj()).abs() > 0.01).any()
    with pytest.raises(ValueError, match="internal_detection"):
        SimulatedSystem(model, spec, internal_detection="phase")


def test_field_detection_read_noise_is_complex_and_scaled(model):
    x = _x(model, 32)
    clean = SimulatedSystem(model, MeshErrorSpec(), internal_detection="field")
    noisy = SimulatedSystem(model, MeshErrorSpec(), internal_detection="field", read_noise=0.05)
    want = clean.measure(x, internal=True).internal[0]
    got = noisy.measure(x, internal=True).internal[0]
    noise = got - want
    rms = want.abs().pow(2).mean().sqrt()
    assert 0.03 < (noise.abs().pow(2).mean().sqrt() / rms).item() < 0.07
    assert noise.real.std() == pytest.approx(noise.imag.std().item(), rel=0.3)
