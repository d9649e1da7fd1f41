"""Ideal PNN architectures: they return a Trace and know nothing of training."""

from .base import PhotonicNetwork
from .diffractive import DiffractivePNN
from .fusion import fuse
from .mesh_pnn import MeshPNN
from .trace import Trace

__all__ = ["DiffractivePNN", "MeshPNN", "PhotonicNetwork", "Trace", "fuse"]
