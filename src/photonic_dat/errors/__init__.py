"""Systematic-error specs (what and how large) and their fixed realisations."""

from .base import ErrorSpec, ErrorSpecError, seeded_generator
from .diffractive import DiffractiveErrorSpec, DiffractiveRealisation
from .mesh import MeshErrorSpec

ERROR_SPECS: dict[str, type[ErrorSpec]] = {
    "mesh": MeshErrorSpec,
    "diffractive": DiffractiveErrorSpec,
}

__all__ = [
    "ERROR_SPECS",
    "DiffractiveErrorSpec",
    "DiffractiveRealisation",
    "ErrorSpec",
    "ErrorSpecError",
    "MeshErrorSpec",
    "seeded_generator",
]
