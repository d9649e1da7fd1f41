"""Gradient fidelity: each method's gradient against the simulated hardware's own."""

import torch

from photonic_dat.config import from_dict
from photonic_dat.models.factory import build_model
from photonic_dat.system import SimulatedSystem
from photonic_dat.training.fidelity import gradient_fidelity, task_gradients
from photonic_dat.training.run import METHOD_CLASSES


def _dpnn(fab_phase_std):
    cfg = from_dict({"model": {"kind": "diffractive", "n": 24, "layers": 2, "padding": 3,
                               "init": "uniform"},
                     "errors": {"fab_phase_std": fab_phase_std, "fab_corr_length": 2},
                     "system": {"error_seed": 5}, "train": {"method": "dat"},
                     "dat": {"sepn_zero_init": True, "sepn_modulation": True}})
    net = build_model(cfg.model, seed=0)
    return cfg, net, SimulatedSystem(net, cfg.error_spec(), error_seed=5)


def test_on_error_free_hardware_every_gradient_is_the_hardwares(mnist_small):
    cfg, net, system = _dpnn(0.0)
    images, labels = (t[:16] for t in mnist_small.train)
    g = task_gradients(net, system, cfg, images, labels)
    assert set(g) == {"hardware", "ideal"}
    torch.testing.assert_close(g["ideal"], g["hardware"], rtol=1e-4, atol=1e-7)


def test_a_sepn_that_knows_the_error_gives_the_hardware_gradient(mnist_small):
    cfg, net, system = _dpnn(0.5)
    dat = METHOD_CLASSES["dat"](net, system, cfg)
    batches = [(mnist_small.train[0][i:i + 16], mnist_small.train[1][i:i + 16])
               for i in (0, 16)]
    before = gradient_fidelity(net, system, cfg, batches, dat.sepns)
    # zero SEPNs are the ideal model: the same gradient as PAT's, not the hardware's
    assert abs(before["sepn"] - before["ideal"]) < 1e-5 and before["ideal"] < 0.99
    fab = cfg.error_spec().draw(net, 5).fab_phase
    with torch.no_grad():
        for k in range(net.layers):
            d = torch.polar(torch.ones_like(fab[k]), fab[k]) - 1
            dat.sepns[k].modulation.copy_(torch.stack([d.real, d.imag]))
    after = gradient_fidelity(net, system, cfg, batches, dat.sepns)
    assert after["sepn"] > 0.9999 and abs(after["sepn_norm_ratio"] - 1) < 1e-3
    assert after["ideal"] == before["ideal"]


def test_internal_fusion_uses_the_measured_planes(mnist_small):
    cfg, net, system = _dpnn(0.5)
    dat = METHOD_CLASSES["dat"](net, system, cfg)
    images, labels = (t[:16] for t in mnist_small.train)
    out_only = task_gradients(net, system, cfg, images, labels, dat.sepns)
    every = task_gradients(net, system, cfg, images, labels, dat.sepns, fuse_internal=True)
    torch.testing.assert_close(every["ideal"], out_only["ideal"])
    assert not torch.allclose(every["sepn"], out_only["sepn"])
