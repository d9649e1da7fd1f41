"""Ideal PNN architectures: they return a Trace and know nothing of training."""

from .base import PhotonicNetwork
from .fusion import fuse
from .mesh_pnn import MeshPNN
from .trace import Trace

__all__ = ["MeshPNN", "PhotonicNetwork", "Trace", "fuse"]
