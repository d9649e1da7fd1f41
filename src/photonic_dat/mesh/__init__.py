"""Interferometer physics: MZIs, Clements/Reck meshes, decomposition, electro-optic activation."""

from .activation import ElectroOpticActivation
from .layout import LAYOUTS, MeshLayout, make_layout
from .mesh import MZIPerturbation, UnitaryMesh, stack_perturbations, tree_product
from .mzi import beam_splitter, mzi_entries, mzi_matrix

__all__ = [
    "LAYOUTS",
    "ElectroOpticActivation",
    "MZIPerturbation",
    "MeshLayout",
    "UnitaryMesh",
    "beam_splitter",
    "make_layout",
    "mzi_entries",
    "mzi_matrix",
    "stack_perturbations",
    "tree_product",
]
