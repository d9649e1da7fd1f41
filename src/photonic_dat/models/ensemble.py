"""Ensembles: several independent runs of a small network trained in one vectorised process.

An ensemble of E *members* is one network whose parameters carry a leading member axis (a
mesh network built with ``ensemble=E``) and whose batches are *member-major*: rows
``[k*b, (k+1)*b)`` of every batch, field and measurement belong to member k. Everything that
acts per sample (encoding, activation, fusion, readout, losses) is then unchanged, and the mesh
physics of all members runs in the same batched kernels. Member k is exactly the network of a
standalone run with seed ``members[k].seed`` meeting the hardware drawn with
``members[k].error_seed``: its parameters are ``state[name][k]``.

Per-sample mean losses over E*b samples give each member 1/E of its standalone gradient, so
every parameter of an ensemble (network and per-member SEPNs) scales its gradient by E in a
hook: each member then gets exactly its standalone gradient, and one Adam over the stacked
parameters (elementwise, one step count) is E independent Adams.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .base import PhotonicNetwork


@dataclass(frozen=True)
class Member:
    """One member of an ensemble: the seeds of the standalone run it stands for.

    Attributes:
        seed: training seed (initialisation, data split and order, SEPN initialisation).
        error_seed: seed of the simulated hardware's error realisation.
    """

    seed: int
    error_seed: int


def members_of(model: nn.Module) -> tuple[Member, ...] | None:
    """The members of an ensemble network, or None for a single network."""
    return getattr(model, "members", None)


def error_seeds(model: nn.Module, cfg) -> int | list[int]:
    """The error seed(s) of the hardware a run meets: ``cfg.system.error_seed``, or the
    members' own for an ensemble."""
    members = members_of(model)
    return cfg.system.error_seed if members is None else [m.error_seed for m in members]


def draw_errors(spec, model: nn.Module, seeds: int | Sequence[int]):
    """The error realisation of ``spec`` for ``model`` (None when error-free): one draw with
    seed ``seeds``, or for an ensemble one draw per member with ``seeds[k]``, stacked."""
    if spec.is_zero():
        return None
    if isinstance(seeds, numbers.Integral):
        return spec.draw(model, int(seeds))
    seeds = [int(s) for s in seeds]
    members = members_of(model)
    if members is None or len(members) != len(seeds):
        raise ValueError(f"{len(seeds)} error seeds need an ensemble of {len(seeds)} members")
    return spec.draw_members(model, seeds)


def split_members(x: torch.Tensor, size: int) -> tuple[torch.Tensor, ...]:
    """A member-major batch (E*b, ...) -> E tensors (b, ...)."""
    if x.shape[0] % size:
        raise ValueError(f"a batch of {x.shape[0]} rows does not split into {size} members")
    return x.reshape(size, -1, *x.shape[1:]).unbind(0)


def stack_states(states: Sequence[Mapping[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The state dict of an ensemble from the state dicts of its members (same keys), stacked
    on the first member's devices (a member's best state restored from a checkpoint is on the
    CPU while one taken since is where the network trains)."""
    keys = list(states[0])
    for s in states[1:]:
        if list(s) != keys:
            raise ValueError("ensemble members have different state-dict keys")
    return {k: torch.stack([s[k].to(states[0][k].device) for s in states]) for k in keys}


def member_state(state: Mapping[str, torch.Tensor], k: int) -> dict[str, torch.Tensor]:
    """The state dict of member ``k`` (the standalone format) from an ensemble state dict."""
    return {name: value[k].clone() for name, value in state.items()}


def stack_networks(networks: Sequence[PhotonicNetwork], members: Sequence[Member]) -> PhotonicNetwork:
    """An ensemble network whose member k is ``networks[k]`` (same architecture, any weights)."""
    if len(networks) != len(members) or not networks:
        raise ValueError("stack_networks needs one member per network (at least one)")
    first = networks[0]
    if not hasattr(first, "ensemble"):
        raise ValueError(f"{type(first).__name__} has no ensemble form (mesh networks have)")
    config = first.describe()
    if any(n.describe() != config for n in networks[1:]):
        raise ValueError("ensemble members must have the same architecture")
    kwargs = {k: v for k, v in config.items() if k != "kind"}
    ensemble = type(first)(**kwargs, ensemble=len(networks))
    ensemble.load_state_dict(stack_states([n.state_dict() for n in networks]))
    ensemble.members = tuple(members)
    scale_member_gradients(ensemble, len(networks))
    return ensemble.to(next(first.parameters()).device)


def scale_member_gradients(module: nn.Module, size: int) -> None:
    """Multiply the gradient of every parameter of ``module`` by ``size`` (member-major mean
    losses give each member 1/size of its own gradient)."""
    for p in module.parameters():
        p.register_hook(lambda g, factor=float(size): g * factor)


class EnsembleModule(nn.Module):
    """E independent modules (one per member) applied to a member-major batch; used for the
    per-member SEPNs of an ensemble. State-dict keys: ``members.<k>.<name>``."""

    def __init__(self, modules: Sequence[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(modules)
        scale_member_gradients(self, len(modules))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = split_members(x, len(self.members))
        return torch.cat([m(p) for m, p in zip(self.members, parts, strict=True)])


def member_module_state(state: Mapping[str, torch.Tensor], k: int) -> dict[str, torch.Tensor]:
    """From the state dict of a container of :class:`EnsembleModule` (e.g. a ModuleList of
    per-plane SEPNs: ``<plane>.members.<k>.<name>``), member ``k``'s standalone state dict
    (``<plane>.<name>``)."""
    out = {}
    for key, value in state.items():
        head, sep, rest = key.partition("members.")
        index, _, name = rest.partition(".")
        if not sep or not index.isdigit():
            raise ValueError(f"{key!r} is not an ensemble-module key")
        if int(index) == k:
            out[head + name] = value.clone()
    return out
