"""A test double that makes any PhysicalSystem misbehave like real hardware sometimes does.

``FlakySystem`` wraps a PhysicalSystem and injects faults, either at random with given
probabilities (``faults={"nan": 0.1, "timeout": 0.05}``, seeded) or following a deterministic
schedule (``schedule=["ok", "timeout", "nan", "ok"]``, one entry consumed per measuring call;
``"ok"`` once the schedule is exhausted). Fault kinds:

================  ========================================================================
``ok``            no fault: the inner system's answer.
``timeout``       the call hangs until :meth:`FlakySystem.release` is called or ``hang_s``
                  elapses, then raises ``TimeoutError`` without touching the inner system
                  (a wrapper with a shorter timeout sees a timeout; keep ``hang_s`` short).
``exception``     raises ``RuntimeError("device error")`` (inner system not called).
``nan``           the inner answer with NaNs in it.
``wrong_shape``   the inner answer with the last output column dropped.
``negative``      the inner answer with negative intensities in it.
``dropped``       the inner system measures, but ``None`` is returned (a lost frame).
``duplicate``     the previous answer is returned again (inner system not called); before any
                  previous answer it acts as ``dropped``.
``program_error`` ``program`` raises ``RuntimeError("device error: program failed")``.
================  ========================================================================

``measure`` and ``measure_layer`` calls consume ``schedule``; ``program`` calls consume
``program_schedule`` (entries ``ok``, ``timeout``, ``exception``, ``program_error``), so that a
re-programming by a robust wrapper does not shift the measurement faults. With probabilities,
``program_error`` applies to ``program`` calls, the data faults to measuring calls, and
``timeout``/``exception`` to every call; the probabilities applicable to one kind of call must
sum to at most 1.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from .protocol import Measurement, PhysicalSystem

__all__ = ["DATA_FAULTS", "FAULTS", "PROGRAM_FAULTS", "FlakySystem"]

PROGRAM_FAULTS = ("timeout", "exception", "program_error")
DATA_FAULTS = ("timeout", "exception", "nan", "wrong_shape", "negative", "dropped", "duplicate")
FAULTS = ("ok", *DATA_FAULTS, "program_error")


def _corrupt(t: torch.Tensor, fault: str) -> torch.Tensor:
    """Apply a data fault to one measured intensity tensor (batch first)."""
    if fault == "nan":
        t = t.clone()
        t.view(t.shape[0], -1)[:, 0] = float("nan")
        return t
    if fault == "wrong_shape":
        return t[..., :-1]
    if fault == "negative":
        t = t.clone()
        t.view(t.shape[0], -1)[:, 0] = -(1.0 + t.abs().max())
        return t
    raise ValueError(f"not a data fault: {fault!r}")


class FlakySystem:
    """Wraps a PhysicalSystem and injects faults (see the module docstring for the kinds).

    Args:
        inner: the system to wrap.
        faults: fault probabilities by kind, or a list (taken as ``schedule``).
        schedule: faults for successive ``measure``/``measure_layer`` calls, then "ok".
        program_schedule: faults for successive ``program`` calls, then "ok".
        seed: seed of the random draws (probabilities only).
        hang_s: how long a "timeout" fault hangs at most.

    Attributes:
        injected: ``(call, fault)`` of every injected fault (not the "ok" calls), in order.
        calls: number of calls received (all kinds).
    """

    def __init__(
        self,
        inner: PhysicalSystem,
        *,
        faults: Mapping[str, float] | Sequence[str] | None = None,
        schedule: Sequence[str] | None = None,
        program_schedule: Sequence[str] | None = None,
        seed: int = 0,
        hang_s: float = 0.2,
    ) -> None:
        probs: dict[str, float] = {}
        if faults is not None and not isinstance(faults, Mapping):
            if schedule is not None:
                raise ValueError("give the schedule either as faults=[...] or as schedule=[...]")
            schedule, faults = list(faults), None
        if faults is not None:
            for kind, p in faults.items():
                if kind not in FAULTS:
                    raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULTS)}")
                if not 0.0 <= float(p) <= 1.0:
                    raise ValueError(f"fault probability {kind}={p} not in [0, 1]")
                probs[kind] = float(p)
            for name, allowed in (("program", PROGRAM_FAULTS), ("measure", DATA_FAULTS)):
                total = sum(p for k, p in probs.items() if k in allowed)
                if total > 1.0 + 1e-12:
                    raise ValueError(f"fault probabilities for {name} calls sum to {total:g} > 1")
        for entry in schedule or []:
            if entry not in ("ok", *DATA_FAULTS):
                raise ValueError(f"schedule entry {entry!r} is not a measurement fault"
                                 + (" (put it in program_schedule)" if entry == "program_error" else ""))
        for entry in program_schedule or []:
            if entry not in ("ok", *PROGRAM_FAULTS):
                raise ValueError(f"program_schedule entry {entry!r} is not a program fault")
        self.inner = inner
        self.hang_s = float(hang_s)
        self._probs = probs
        self._schedule = list(schedule or [])
        self._program_schedule = list(program_schedule or [])
        self._rng = random.Random(seed)
        self._release = threading.Event()
        self._previous: dict[str, Any] = {}
        self.injected: list[tuple[str, str]] = []
        self.calls = 0

    @property
    def queries(self) -> int:
        """The inner system's query counter (faulty measurements that reached it count there)."""
        return self.inner.queries

    @queries.setter
    def queries(self, value: int) -> None:
        self.inner.queries = value

    def release(self) -> None:
        """End every current hang now; later "timeout" faults raise at once instead of hanging."""
        self._release.set()

    # -- fault selection ------------------------------------------------------------------
    def _next(self, call: str) -> str:
        self.calls += 1
        queue = self._program_schedule if call == "program" else self._schedule
        allowed = PROGRAM_FAULTS if call == "program" else DATA_FAULTS
        if queue:
            fault = queue.pop(0)
        else:
            fault = "ok"
            u, acc = self._rng.random(), 0.0
            for kind in allowed:
                acc += self._probs.get(kind, 0.0)
                if u < acc:
                    fault = kind
                    break
        if fault != "ok":
            self.injected.append((call, fault))
        if fault == "timeout":
            self._release.wait(self.hang_s)
            raise TimeoutError(f"simulated hang in {call} ended")
        if fault == "exception":
            raise RuntimeError("device error")
        if fault == "program_error":
            raise RuntimeError("device error: program failed")
        return fault

    # -- the PhysicalSystem protocol --------------------------------------------------------
    def program(self, params: Mapping[str, torch.Tensor]) -> None:
        self._next("program")
        self.inner.program(params)

    def measure(self, x: torch.Tensor, *, internal: bool = False) -> Measurement | None:
        fault = self._next("measure")
        if fault == "duplicate":
            return self._previous.get("measure")
        m = self.inner.measure(x, internal=internal)
        self._previous["measure"] = m
        if fault == "dropped":
            return None
        if fault == "ok":
            return m
        planes = None if m.internal is None else [_corrupt(t, fault) for t in m.internal]
        return Measurement(output=_corrupt(m.output, fault), internal=planes)

    def measure_layer(self, i: int, field_in: torch.Tensor) -> torch.Tensor | None:
        fault = self._next("measure_layer")
        key = f"layer[{i}]"
        if fault == "duplicate":
            return self._previous.get(key)
        t = self.inner.measure_layer(i, field_in)
        self._previous[key] = t
        if fault == "dropped":
            return None
        return t if fault == "ok" else _corrupt(t, fault)
