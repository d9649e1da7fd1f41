"""What every systematic-error spec offers: validation, (de)serialisation, seeded draws.

A *spec* says what errors a system has and how large they are (standard deviations, levels);
it is plain data, serialisable to a dict. A *realisation* is one fixed draw of a spec for one
model: the hidden state of a simulated system. The same (spec, seed) gives the same realisation
on any device, because draws are made in float64 on the CPU with a seeded generator and only
then moved to the model's device.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import torch


class ErrorSpecError(ValueError):
    """An invalid error specification (one line, names the field)."""


@dataclasses.dataclass(frozen=True)
class ErrorSpec:
    """Base class of the error specs of a model family (subclasses are frozen dataclasses)."""

    family: ClassVar[str] = "base"

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if value != value or value in (float("inf"), float("-inf")):
                raise ErrorSpecError(f"errors.{f.name}={value!r} must be a finite number")

    def _require_non_negative(self, *names: str) -> None:
        for name in names:
            if getattr(self, name) < 0:
                raise ErrorSpecError(f"errors.{name}={getattr(self, name)} must be >= 0")

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ErrorSpec:
        data = dict(data or {})
        allowed = cls.field_names()
        for key in data:
            if key not in allowed:
                raise ErrorSpecError(
                    f"unknown error key 'errors.{key}' for {cls.family} models; "
                    f"allowed: {', '.join(allowed)}"
                )
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def is_zero(self) -> bool:
        """True when a realisation of this spec is exactly the ideal model."""
        raise NotImplementedError

    def draw(self, model: torch.nn.Module, seed: int) -> Any:
        """One fixed realisation for ``model`` (a list with one entry per layer)."""
        raise NotImplementedError

    def draw_members(self, model: torch.nn.Module, seeds: list[int]) -> Any:
        """The realisation of an ensemble network (see :mod:`photonic_dat.models.ensemble`):
        member k meets ``draw(model, seeds[k])``."""
        raise NotImplementedError(f"{self.family} errors have no ensemble form")


def seeded_generator(seed: int) -> torch.Generator:
    """A CPU generator for device-independent draws."""
    g = torch.Generator(device="cpu")
    g.manual_seed(int(seed))
    return g
