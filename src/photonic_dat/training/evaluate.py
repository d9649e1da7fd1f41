"""Accuracy of the numerical model and of the physical system on a labelled set."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..models.base import PhotonicNetwork
from ..system.protocol import PhysicalSystem


def _batches(n: int, batch_size: int):
    for start in range(0, n, batch_size):
        yield slice(start, min(start + batch_size, n))


Images = torch.Tensor | Sequence[torch.Tensor]


def _chunks(images: Images, batch_size: int):
    """Batches of ``images`` (N, H, W); for an ensemble (one image set per member, equal sizes)
    member-major batches of about ``batch_size`` images in all."""
    if isinstance(images, torch.Tensor):
        for sl in _batches(images.shape[0], batch_size):
            yield images[sl]
        return
    per_member = max(1, batch_size // len(images))
    for sl in _batches(images[0].shape[0], per_member):
        yield torch.cat([im[sl] for im in images])


def _collect(out: list[torch.Tensor], images: Images) -> torch.Tensor:
    """Predictions of the chunks in order: (N,), or (E, N) for an ensemble."""
    if isinstance(images, torch.Tensor):
        return torch.cat(out) if out else torch.empty(0, dtype=torch.long)
    members = len(images)
    if not out:
        return torch.empty(members, 0, dtype=torch.long)
    return torch.cat([o.reshape(members, -1) for o in out], dim=1)


@torch.no_grad()
def model_predictions(
    model: PhotonicNetwork,
    images: Images,
    batch_size: int = 2500,
    sepns: Sequence[nn.Module] | None = None,
    sepn_weight: float = 0.0,
    device: torch.device | str = "cpu",
    errors: Any | None = None,
) -> torch.Tensor:
    """Predicted classes of the numerical model (ideal physics, optionally + SEPNs, + the
    known ``errors`` realisation, e.g. fitted mask shifts). For an ensemble network ``images``
    holds one image set per member; returns (E, N)."""
    out = []
    for chunk in _chunks(images, batch_size):
        x = model.encode(chunk.to(device))
        trace = model(x, sepns=sepns, sepn_weight=sepn_weight, errors=errors)
        out.append(trace.scores.argmax(1).cpu())
    return _collect(out, images)


@torch.no_grad()
def physical_predictions(
    model: PhotonicNetwork,
    system: PhysicalSystem,
    images: Images,
    batch_size: int = 2500,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Predicted classes of the physical system programmed with ``model``'s parameters (for
    an ensemble: one image set per member, returns (E, N))."""
    system.program(model.physical_params())
    out = []
    for chunk in _chunks(images, batch_size):
        x = model.encode(chunk.to(device))
        out.append(model.readout(system.measure(x).output).argmax(1).cpu())
    return _collect(out, images)


def accuracy(pred: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of correct predictions (nan for an empty set)."""
    if labels.numel() == 0:
        return float("nan")
    return float((pred == labels.cpu()).float().mean())
