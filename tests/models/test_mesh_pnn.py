import pytest
import torch

from photonic_dat.data import fourier_encode
from photonic_dat.models import MeshPNN


@pytest.fixture(scope="module")
def model():
    return MeshPNN(modes=16, layers=3, seed=0)


def test_trace_shapes_and_readout(model):
    images = torch.rand(5, 28, 28)
    x = model.encode(images)
    assert torch.equal(x, fourier_encode(images, 4))
    trace = model(x)
    assert len(trace.planes) == 3 and all(p.shape == (5, 16) for p in trace.planes)
    assert torch.allclose(trace.intensity, trace.planes[-1].abs() ** 2)
    full = trace.intensity / trace.intensity.norm(dim=1, keepdim=True)
    assert torch.allclose(trace.scores, full[:, :10])
    assert trace.scores.shape == (5, 10)


def test_planes_follow_mesh_then_activation(model):
    x = model.encode(torch.rand(2, 28, 28))
    trace = model(x)
    y = model.meshes[0](x)
    assert torch.allclose(trace.planes[0], y)
    assert torch.allclose(trace.planes[1], model.meshes[1](model.activation(y)), atol=1e-6)


def test_sepn_weight_zero_is_ideal_and_nonzero_changes(model):
    from photonic_dat.sepn import build_sepn

    torch.manual_seed(0)
    sepns = [build_sepn("unet", (4, 8, 16)) for _ in range(3)]
    x = model.encode(torch.rand(3, 28, 28))
    ideal = model(x).scores
    assert torch.equal(model(x, sepns=sepns, sepn_weight=0.0).scores, ideal)
    assert not torch.allclose(model(x, sepns=sepns, sepn_weight=1.0).scores, ideal)


def test_fusion_at_output_gives_measured_scores(model):
    x = model.encode(torch.rand(4, 28, 28))
    measured = torch.rand(4, 16)
    trace = model(x, measured=[None, None, measured])
    assert torch.allclose(trace.intensity, measured, atol=1e-6)


def test_invalid_model_arguments():
    with pytest.raises(ValueError, match="perfect square"):
        MeshPNN(modes=10)
    with pytest.raises(ValueError, match="activation"):
        MeshPNN(modes=16, activation="relu")
