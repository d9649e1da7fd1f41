"""How well a method's training gradient points where the hardware's own gradient does.

A hardware-in-the-loop method takes the loss value from the measurement but its gradient from a
numerical model: PAT from the ideal model, DAT from the ideal model plus SEPNs (both with the
measured output fused in). On a *simulated* system the true gradient is known: backpropagation
through the system's own error realisation (what :mod:`.oracle` trains with). The cosine
similarity between a method's gradient and that one measures how good the method's digital
twin is *as a gradient*, which is what training needs, independently of how well it fits the
measured intensities. Simulation only: a real system never reveals its realisation.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..config import RunConfig
from ..models.base import PhotonicNetwork
from ..system import SimulatedSystem
from .oracle import system_realisation


def _flat_grad(loss: torch.Tensor, params: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params)])


def task_gradients(model: PhotonicNetwork, system: SimulatedSystem, cfg: RunConfig,
                   images: torch.Tensor, labels: torch.Tensor,
                   sepns: nn.ModuleList | None = None,
                   fuse_internal: bool = False,
                   realisation: Any | None = None,
                   known: Any | None = None) -> dict[str, torch.Tensor]:
    """Flattened task-loss (cross-entropy) gradients with respect to the physical parameters.

    Returns ``"hardware"`` (through the system's exact error realisation), ``"ideal"`` (ideal
    model with the measured output fused in: PAT's gradient) and, with ``sepns``, ``"sepn"``
    (ideal model + SEPNs at weight 1 with the measured output fused in, and with
    ``fuse_internal`` every measured internal plane too: DAT's task gradient). ``known``: the
    errors the numerical model carries (a run's fitted mask shifts, ``train.fit_shifts``).
    """
    if realisation is None:  # ``realisation``: the system's error realisation, if already drawn
        realisation = system_realisation(model, cfg)
    params = [p for p in model.parameters() if p.requires_grad]
    loss_fn = nn.CrossEntropyLoss()
    x = model.encode(images)
    system.program(model.physical_params())
    with torch.no_grad():
        meas = system.measure(x, internal=fuse_internal)
    measured: list[torch.Tensor | None] = [None] * (model.n_planes - 1) + [meas.output]
    grads = {"hardware": _flat_grad(loss_fn(model(x, errors=realisation).scores, labels), params),
             "ideal": _flat_grad(loss_fn(model(x, measured=measured, errors=known).scores,
                                         labels), params)}
    if sepns is not None:
        trace = model(x, sepns=sepns, sepn_weight=1.0, errors=known,
                      measured=meas.planes() if fuse_internal else measured)
        grads["sepn"] = _flat_grad(loss_fn(trace.scores, labels), params)
    return grads


def gradient_fidelity(model: PhotonicNetwork, system: SimulatedSystem, cfg: RunConfig,
                      batches, sepns: nn.ModuleList | None = None,
                      fuse_internal: bool = False, known: Any | None = None) -> dict[str, float]:
    """Mean over ``batches`` ((images, labels) pairs) of the cosine similarity between the
    hardware gradient and each model gradient of :func:`task_gradients` (``"ideal"``,
    ``"sepn"``), and of the ratio of their norms (``"<name>_norm_ratio"``)."""
    sums: dict[str, float] = {}
    n = 0
    realisation = system_realisation(model, cfg)  # drawn once for all batches
    for images, labels in batches:
        g = task_gradients(model, system, cfg, images, labels, sepns, fuse_internal, realisation,
                           known)
        hw = g.pop("hardware")
        for name, v in g.items():
            cos = float(torch.nn.functional.cosine_similarity(v, hw, dim=0))
            sums[name] = sums.get(name, 0.0) + cos
            ratio = float(v.norm() / hw.norm().clamp_min(1e-30))
            sums[f"{name}_norm_ratio"] = sums.get(f"{name}_norm_ratio", 0.0) + ratio
        n += 1
    if n == 0:
        raise ValueError("gradient_fidelity needs at least one batch")
    return {k: v / n for k, v in sums.items()}
