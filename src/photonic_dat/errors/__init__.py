"""Systematic-error specs (what and how large) and their fixed realisations."""

from .base import ErrorSpec, ErrorSpecError, seeded_generator
from .mesh import MeshErrorSpec

ERROR_SPECS: dict[str, type[ErrorSpec]] = {"mesh": MeshErrorSpec}

__all__ = ["ERROR_SPECS", "ErrorSpec", "ErrorSpecError", "MeshErrorSpec", "seeded_generator"]
