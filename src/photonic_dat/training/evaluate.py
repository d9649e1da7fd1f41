"""Accuracy of the numerical model and of the physical system on a labelled set."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..models.base import PhotonicNetwork
from ..system.protocol import PhysicalSystem


def _batches(n: int, batch_size: int):
    for start in range(0, n, batch_size):
        yield slice(start, min(start + batch_size, n))


@torch.no_grad()
def model_predictions(
    model: PhotonicNetwork,
    images: torch.Tensor,
    batch_size: int = 2500,
    sepns: Sequence[nn.Module] | None = None,
    sepn_weight: float = 0.0,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Predicted classes of the numerical model (ideal physics, optionally + SEPNs)."""
    out = []
    for sl in _batches(images.shape[0], batch_size):
        x = model.encode(images[sl].to(device))
        out.append(model(x, sepns=sepns, sepn_weight=sepn_weight).scores.argmax(1).cpu())
    return torch.cat(out) if out else torch.empty(0, dtype=torch.long)


@torch.no_grad()
def physical_predictions(
    model: PhotonicNetwork,
    system: PhysicalSystem,
    images: torch.Tensor,
    batch_size: int = 2500,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Predicted classes of the physical system programmed with ``model``'s parameters."""
    system.program(model.physical_params())
    out = []
    for sl in _batches(images.shape[0], batch_size):
        x = model.encode(images[sl].to(device))
        out.append(model.readout(system.measure(x).output).argmax(1).cpu())
    return torch.cat(out) if out else torch.empty(0, dtype=torch.long)


def accuracy(pred: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of correct predictions (nan for an empty set)."""
    if labels.numel() == 0:
        return float("nan")
    return float((pred == labels.cpu()).float().mean())
