"""Build a network from its config section."""

from __future__ import annotations

from .base import PhotonicNetwork
from .mesh_pnn import MeshPNN


def build_model(model_cfg, seed: int = 0) -> PhotonicNetwork:
    """A fresh network of ``model_cfg.kind`` initialised with ``seed``."""
    if model_cfg.kind == "mesh":
        return MeshPNN(modes=model_cfg.modes, layers=model_cfg.layers, layout=model_cfg.layout,
                       activation=model_cfg.activation, classes=model_cfg.classes,
                       init=model_cfg.init, seed=seed)
    raise ValueError(f"unknown model.kind {model_cfg.kind!r}")
