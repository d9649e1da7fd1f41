"""A SEPN made of a mesh's own error parameters (an option beyond the paper's SEPNs).

A field-only SEPN (U-Net, dense linear) models a mesh's error at the *current* phases; its
gradient with respect to the phases is ``(1 + D) dU/dtheta``, not the hardware's
``dU'/dtheta``, and from intensities alone its per-mode internal phases are not identifiable
(results/investigations/README.md, session 7). This SEPN instead learns the error parameters of
the mesh model itself, the ones :class:`~photonic_dat.mesh.mesh.MZIPerturbation` describes:
split-ratio errors ``eps1``/``eps2`` and phase offsets ``theta``/``phi`` per MZI, and the input
phase screen's offsets per mode, all zero-initialised (the ideal mesh). Applied to the ideal
output ``y = U(theta) x`` of its mesh it returns ``D y`` with
``D = U(theta; errors) U(theta)^H - 1``, so the model's plane is ``U(theta; errors) x`` and its
gradient with respect to ``theta`` is that of a mesh with the learned errors: the hardware's
own, once they match. The same errors must explain the measurements at every phase setting
training visits, which pins them where a field-only SEPN stays free.

For a single (non-ensemble) mesh network; the mesh is referenced, not owned (its phases are
not SEPN parameters).
"""

from __future__ import annotations

import torch
from torch import nn

from ..mesh.mesh import MZIPerturbation
from .linear import apply_plane_matrix

__all__ = ["MESH_ERROR_PARAMS", "MeshParamSEPN", "learnable_families"]

#: the learnable error parameters, by the error-spec field whose std drives them
MESH_ERROR_PARAMS = {"bs_std": ("eps1", "eps2"), "phase_std": ("theta_offset", "phi_offset"),
                     "gamma_std": ("gamma_offset",)}


def learnable_families(spec) -> tuple[str, ...]:
    """The parameters worth learning for an error spec: those of the families with a non-zero
    std (the statistics of the hardware are known; the draw is not), or all of them when the
    spec names none of these families."""
    names = tuple(n for field, group in MESH_ERROR_PARAMS.items()
                  if getattr(spec, field, 0.0) > 0 for n in group)
    return names or tuple(n for group in MESH_ERROR_PARAMS.values() for n in group)


class MeshParamSEPN(nn.Module):
    """``SEPN(y) = (U(theta; errors) U(theta)^H - 1) y`` with learnable mesh errors.

    Args:
        mesh: the model's mesh whose output plane this SEPN corrects (kept by reference).
        plane_shape: the plane's spatial shape (H, W), H * W = the mesh's modes.
        learn: the error parameters to learn (names of :data:`MESH_ERROR_PARAMS`); the others
            stay zero. Default: all.
    """

    def __init__(self, mesh: nn.Module, plane_shape: tuple[int, int],
                 learn: tuple[str, ...] | None = None) -> None:
        super().__init__()
        if mesh.theta.ndim != 1:
            raise ValueError("a mesh-parameter SEPN needs a single mesh, not an ensemble")
        n_mzi, modes = mesh.theta.shape[0], mesh.gamma.shape[0]
        if plane_shape[0] * plane_shape[1] != modes:
            raise ValueError(f"plane shape {plane_shape} does not hold the mesh's {modes} modes")
        self._mesh = (mesh,)  # a tuple: not registered, so the phases stay the model's
        self.plane_shape = tuple(plane_shape)
        known = {n for group in MESH_ERROR_PARAMS.values() for n in group}
        learn = tuple(sorted(known)) if learn is None else tuple(learn)
        if not learn or set(learn) - known:
            raise ValueError(f"learn={learn}: choose among {', '.join(sorted(known))}")
        self.learn = learn
        for name in sorted(known):
            size = modes if name == "gamma_offset" else n_mzi
            value = torch.zeros(size)
            if name in learn:
                self.register_parameter(name, nn.Parameter(value))
            else:
                self.register_buffer(name, value, persistent=False)

    @property
    def mesh(self) -> nn.Module:
        return self._mesh[0]

    def perturbation(self) -> MZIPerturbation:
        """The learned errors as a perturbation of the mesh model."""
        return MZIPerturbation(eps1=self.eps1, eps2=self.eps2, theta_offset=self.theta_offset,
                               phi_offset=self.phi_offset, gamma_offset=self.gamma_offset)

    def correction_matrix(self) -> torch.Tensor:
        """``D = U(theta; errors) U(theta)^H - 1`` (N, N), acting on column vectors."""
        ideal = self.mesh.unitary()
        real = self.mesh.unitary(self.perturbation())
        return real @ ideal.conj().transpose(-1, -2) - torch.eye(
            ideal.shape[-1], dtype=ideal.dtype, device=ideal.device)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return apply_plane_matrix(self, z, self.plane_shape, self.correction_matrix())

    def extra_repr(self) -> str:
        return f"plane_shape={self.plane_shape}, mzis={self.eps1.shape[0]}, learn={self.learn}"
