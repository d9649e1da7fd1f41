"""Build a network from its config section."""

from __future__ import annotations

from .base import PhotonicNetwork
from .diffractive import DiffractivePNN
from .mesh_pnn import MeshPNN


def build_model(model_cfg, seed: int = 0) -> PhotonicNetwork:
    """A fresh network of ``model_cfg.kind`` initialised with ``seed``."""
    if model_cfg.kind == "mesh":
        return MeshPNN(modes=model_cfg.modes, layers=model_cfg.layers, layout=model_cfg.layout,
                       activation=model_cfg.activation, classes=model_cfg.classes,
                       init=model_cfg.init, seed=seed)
    if model_cfg.kind == "diffractive":
        return DiffractivePNN(n=model_cfg.n, pitch=model_cfg.pitch,
                              wavelength=model_cfg.wavelength, distance=model_cfg.distance,
                              layers=model_cfg.layers, padding=model_cfg.padding,
                              window=model_cfg.window or None, classes=model_cfg.classes,
                              detector_size=model_cfg.detector_size or None,
                              init=model_cfg.init, seed=seed)
    raise ValueError(f"unknown model.kind {model_cfg.kind!r}")
