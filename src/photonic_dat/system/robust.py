"""A PhysicalSystem wrapper that survives faulty hardware: timeouts, retries, validation, a log.

``RobustSystem`` wraps any :class:`~photonic_dat.system.protocol.PhysicalSystem` (a lab device,
a remote adapter, or a simulated one) and is a PhysicalSystem itself, so a trainer uses it
unchanged. Every call to the device

* runs in a worker thread and is abandoned after ``timeout_s`` seconds (a timeout),
* is retried up to ``retries`` times, with exponential back-off, after an exception, a timeout
  or an invalid measurement; after the last attempt :class:`HardwareError` is raised,
* has its result validated (type, shape, dtype, finiteness, non-negativity, dropped and
  duplicated frames) before anything reaches the trainer,
* is recorded in an append-only measurement log (JSON lines, flushed and fsynced per record).

Timeouts and the worker thread
------------------------------
Python cannot kill a thread. A call that times out is *abandoned*, not stopped: its worker
thread keeps running until the device call returns on its own. The wrapper then hands that
executor over to the abandoned call (``shutdown(wait=False)``) and starts a fresh one, so a hung
call never blocks the next attempt. Consequences: (1) an abandoned call may still talk to the
device while the retry runs; drivers that cannot take concurrent calls should be reset before
the retry (``reprogram_on_retry`` re-uploads the last parameters before every retried
measurement); (2) ThreadPoolExecutor workers are joined at interpreter exit, so a call that
*never* returns keeps the process alive at exit. ``timeout_s=None`` calls the device directly in
the caller's thread (no timeout). The wrapper itself is not thread-safe: call it from one thread.

Log format (one JSON object per line, UTF-8, file opened in append mode)
-------------------------------------------------------------------------
Every attempt of every call writes one record; records are never rewritten, and several
wrapper instances (``session``) may append to one file. Keys:

``v``              format version (1).
``time``           wall-clock time of the end of the attempt, seconds since the epoch (UTC).
``session``        random hex id of the wrapper instance that wrote the record.
``seq``            record number within the session (0, 1, ...).
``call``           ``"program"``, ``"measure"``, ``"measure_layer"``, or ``"reprogram"`` (the
                   re-upload of the last parameters before a retried measurement).
``layer``          layer index for ``measure_layer``, else null.
``internal``       whether internal planes were requested (``measure``), else null.
``attempt``        1-based attempt number; ``max_attempts`` = 1 + ``retries``.
``ok``             true when the attempt succeeded (a valid result was returned).
``final``          true on the attempt that ends the call (success, last failure, or fatal).
``kind``           null when ok, else ``"exception"``, ``"timeout"``, ``"invalid"`` (failed
                   validation), ``"reprogram"`` (the re-upload before this attempt failed; it has
                   its own ``reprogram`` record) or ``"fatal"`` (not retried, re-raised).
``error``          null when ok, else one line ``"<ExceptionType>: <message>"``.
``duration_s``     duration of the attempt (by the injected ``clock``).
``batch``          batch size of the input (null for program).
``input``          summary of the input tensor (see below), null for program.
``output``         summary of the measured output as the device returned it (before clamping;
                   null when there was none, e.g. a dropped frame or an exception).
``internal_planes`` list of summaries of internal planes, or null.
``params``         ``{"names": [...], "sha256": ...}`` of the parameters programmed at the time
                   of the attempt (for ``program``: the parameters being uploaded), or null.
``saturated_fraction`` fraction of measured pixels >= ``saturation`` (null if not configured or
                   nothing valid was measured).
``tensor_file``    path of the ``.pt`` file holding the full measured tensors (successful
                   measurements with ``log_tensors_dir`` set), else null.

A tensor summary is ``{"shape", "dtype", "sha256", "min", "max", "mean", "nonfinite"}``:
``sha256`` hashes the shape and the values as little-endian float32 bytes (complex tensors as
(real, imag) pairs); ``min``/``max``/``mean`` are over the finite values (of ``|x|`` for complex
tensors; null when there are none); ``nonfinite`` counts NaN/inf entries. Full tensors never go
into the JSON log.

With ``log_tensors_dir``, each successful measurement is also saved with ``torch.save`` as
``<session>-<seq:08d>-<call>.pt`` (written to a temporary file in the same folder, fsynced and
renamed, so a file is either complete or absent) holding ``{"call", "layer", "output",
"internal", "input_sha256", "params_sha256", "time"}``.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import math
import os
import secrets
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import torch

from .protocol import Measurement, PhysicalSystem

T = TypeVar("T")

__all__ = ["HardwareError", "InvalidMeasurement", "RobustSystem", "tensor_digest", "tensor_summary"]


class HardwareError(RuntimeError):
    """The device kept failing: every attempt of one call raised, timed out or was invalid.

    Attributes:
        call: the call that failed ("program", "measure", "measure_layer").
        attempts: how many attempts were made.
        cause: the last cause, one line.
    """

    def __init__(self, call: str, attempts: int, cause: str) -> None:
        self.call, self.attempts, self.cause = call, attempts, cause
        super().__init__(f"hardware {call} failed after {attempts} attempt(s); last cause: {cause}")


class InvalidMeasurement(ValueError):
    """A measurement that failed validation (retried by RobustSystem)."""


class _CallTimeout(Exception):
    """An inner call that did not return within the timeout."""


class _ReprogramFailed(Exception):
    """Re-uploading the last parameters before a retried measurement failed."""


def _one_line(text: str, limit: int = 500) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _cause(exc: BaseException) -> str:
    return _one_line(f"{type(exc).__name__}: {exc}")


def _as_float32(t: torch.Tensor) -> torch.Tensor:
    t = t.detach()
    if t.is_complex():
        t = torch.view_as_real(t.resolve_conj())
    return t.to("cpu", torch.float32).contiguous()


def tensor_digest(t: torch.Tensor) -> str:
    """sha256 (hex) of a tensor's shape and its values as float32 bytes (complex: real/imag pairs)."""
    h = hashlib.sha256(repr(tuple(t.shape)).encode())
    h.update(_as_float32(t).numpy().tobytes())
    return h.hexdigest()


def _finite_float(v: torch.Tensor) -> float | None:
    f = float(v)
    return f if math.isfinite(f) else None


def tensor_summary(t: torch.Tensor) -> dict[str, Any]:
    """Shape, dtype, sha256 and finite-value statistics of a tensor (for the JSON log)."""
    vals = t.detach()
    vals = (vals.abs() if vals.is_complex() else vals).to("cpu", torch.float64)
    finite = torch.isfinite(vals)
    good = vals[finite]
    stats: dict[str, Any] = {"min": None, "max": None, "mean": None}
    if good.numel():
        stats = {"min": _finite_float(good.min()), "max": _finite_float(good.max()),
                 "mean": _finite_float(good.mean())}
    return {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""),
            "sha256": tensor_digest(t), **stats, "nonfinite": int((~finite).sum())}


def _params_record(params: Mapping[str, torch.Tensor] | None) -> dict[str, Any] | None:
    if params is None:
        return None
    h = hashlib.sha256()
    for name in sorted(params):
        h.update(name.encode() + b"\0")
        h.update(tensor_digest(params[name]).encode())
    return {"names": sorted(params), "sha256": h.hexdigest()}


class RobustSystem:
    """A PhysicalSystem that wraps a real (unreliable) device: timeouts, retries, validation, log.

    Args:
        inner: the device (any PhysicalSystem).
        timeout_s: seconds to wait for one inner call (None: no timeout, no worker thread).
        retries: retries after the first attempt (``1 + retries`` attempts in all).
        backoff_s: sleep before the first retry; multiplied by ``backoff_factor`` per retry
            (0.5, 1.0, 2.0, ... with the defaults), capped at ``max_backoff_s`` if given.
        backoff_factor: growth of the back-off.
        log_path: JSON-lines measurement log (appended to; created with its folder). None: no log.
        saturation: detector saturation level; pixels >= it are counted, their fraction is
            logged and kept in :attr:`last_saturated_fraction`; a warning is issued once when it
            exceeds 1 %. Not an error.
        expected_output_shape: per-sample output shape (without the batch dimension). None:
            learned from the first valid measurement, then enforced (the shapes of internal
            planes and of ``measure_layer`` planes are always learned that way).
        clamp_negative: tolerance for negative intensities: values in ``[-clamp_negative, 0)``
            are clamped to 0, values below make the measurement invalid.
        reprogram_on_retry: before retrying a measurement, upload the last programmed
            parameters again (a device that reset in between is brought back to state).
        detect_duplicates: treat an output exactly equal to the previously returned one, for a
            different input, as a stale (duplicated) frame. Switch off for devices whose
            outputs legitimately repeat (e.g. all-dark frames).
        log_tensors_dir: if given, save the full tensors of every successful measurement here
            (one ``.pt`` per measurement, written atomically).
        fatal: exception types that are the caller's fault, not the device's: raised at once,
            without retry (logged with kind "fatal").
        max_backoff_s: upper bound of one back-off sleep (None: unbounded).
        sleep: the sleep function (inject a fake one in tests).
        clock: monotonic clock used for durations.

    Attributes:
        failed_attempts: number of failed attempts (exceptions, timeouts, invalid results).
        last_saturated_fraction: saturated fraction of the last valid measurement (None if
            ``saturation`` is not set).
    """

    def __init__(
        self,
        inner: PhysicalSystem,
        *,
        timeout_s: float | None = 30.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        backoff_factor: float = 2.0,
        log_path: str | Path | None = None,
        saturation: float | None = None,
        expected_output_shape: tuple[int, ...] | None = None,
        clamp_negative: float = 0.0,
        reprogram_on_retry: bool = True,
        detect_duplicates: bool = True,
        log_tensors_dir: str | Path | None = None,
        fatal: tuple[type[BaseException], ...] = (IndexError, KeyError, TypeError),
        max_backoff_s: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if timeout_s is not None and timeout_s <= 0:
            raise ValueError(f"timeout_s={timeout_s} must be > 0 (or None)")
        if retries < 0:
            raise ValueError(f"retries={retries} must be >= 0")
        if backoff_s < 0 or backoff_factor < 1:
            raise ValueError(f"backoff_s={backoff_s} must be >= 0 and backoff_factor={backoff_factor} >= 1")
        if clamp_negative < 0:
            raise ValueError(f"clamp_negative={clamp_negative} must be >= 0")
        self.inner = inner
        self.timeout_s = timeout_s
        self.retries = int(retries)
        self.backoff_s, self.backoff_factor, self.max_backoff_s = backoff_s, backoff_factor, max_backoff_s
        self.saturation = saturation
        self.clamp_negative = float(clamp_negative)
        self.reprogram_on_retry = reprogram_on_retry
        self.detect_duplicates = detect_duplicates
        self.fatal = tuple(fatal)
        self._sleep, self._clock = sleep, clock
        self._shapes: dict[str, tuple[int, ...]] = {}
        if expected_output_shape is not None:
            self._shapes["output"] = tuple(int(s) for s in expected_output_shape)
        self._last_frame: dict[str, tuple[str, str]] = {}  # key -> (input sha, raw output sha)
        self._params: dict[str, torch.Tensor] | None = None
        self._params_rec: dict[str, Any] | None = None
        self._queries = 0
        self.failed_attempts = 0
        self.last_saturated_fraction: float | None = None
        self._warned_saturation = False
        self.session = secrets.token_hex(6)
        self._seq = 0
        self._executor: cf.ThreadPoolExecutor | None = None
        self._log = None
        if log_path is not None:
            path = Path(log_path)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(path, "a", encoding="utf-8")  # closed in close()
        self.log_path = None if log_path is None else Path(log_path)
        self.log_tensors_dir = None if log_tensors_dir is None else Path(log_tensors_dir)
        if self.log_tensors_dir is not None:
            self.log_tensors_dir.mkdir(parents=True, exist_ok=True)

    # -- the PhysicalSystem protocol --------------------------------------------------------
    @property
    def queries(self) -> int:
        """Samples measured successfully (failed attempts are not counted). Settable, like
        any PhysicalSystem's counter (the training loop resets it around evaluation)."""
        return self._queries

    @queries.setter
    def queries(self, value: int) -> None:
        self._queries = int(value)

    @property
    def last_params(self) -> dict[str, torch.Tensor] | None:
        """A detached copy of the last successfully programmed parameters (None before any)."""
        return None if self._params is None else dict(self._params)

    def program(self, params: Mapping[str, torch.Tensor]) -> None:
        """Upload parameters (a detached copy is kept for re-programming), with retries."""
        snapshot = {name: p.detach().clone() for name, p in params.items()}
        rec = _params_record(snapshot)

        def attempt(info: dict[str, Any]) -> None:
            self._call(self.inner.program, snapshot)

        self._run("program", attempt, extra={"params": rec})
        self._params, self._params_rec = snapshot, rec

    def measure(self, x: torch.Tensor, *, internal: bool = False) -> Measurement:
        """Measure ``x`` on the device; returns a validated Measurement (retried when invalid)."""
        batch = int(x.shape[0])
        in_sum = tensor_summary(x)

        def attempt(info: dict[str, Any]) -> Measurement:
            m = self._call(self.inner.measure, x, internal=internal)
            if m is None:
                raise InvalidMeasurement("dropped frame: the device returned None")
            if not isinstance(m, Measurement):
                raise InvalidMeasurement(f"expected a Measurement, got {type(m).__name__}")
            info["output"] = tensor_summary(m.output) if isinstance(m.output, torch.Tensor) else None
            if isinstance(m.internal, list):
                info["internal_planes"] = [tensor_summary(t) if isinstance(t, torch.Tensor) else None
                                           for t in m.internal]
            shapes: dict[str, tuple[int, ...]] = {}
            out = self._check(m.output, "output", batch, shapes)
            planes: list[torch.Tensor] | None = None
            if internal and m.internal is not None:
                if not isinstance(m.internal, list):
                    raise InvalidMeasurement(f"internal is {type(m.internal).__name__}, not a list")
                self._check_count("internal", len(m.internal), shapes)
                planes = [self._check(t, f"internal[{k}]", batch, shapes) for k, t in enumerate(m.internal)]
            self._check_duplicate("measure", in_sum["sha256"], info["output"]["sha256"])
            self._shapes.update(shapes)
            return Measurement(output=out, internal=planes)

        m = self._run("measure", attempt, batch=batch, in_sum=in_sum, extra={"internal": internal},
                      save=lambda meas: {"output": meas.output, "internal": meas.internal},
                      frame_key="measure")
        self._queries += batch
        return m

    def measure_layer(self, i: int, field_in: torch.Tensor) -> torch.Tensor:
        """Probe layer ``i`` alone; returns the validated intensity at its plane."""
        batch = int(field_in.shape[0])
        in_sum = tensor_summary(field_in)
        key = f"layer[{i}]"

        def attempt(info: dict[str, Any]) -> torch.Tensor:
            t = self._call(self.inner.measure_layer, i, field_in)
            if t is None:
                raise InvalidMeasurement("dropped frame: the device returned None")
            info["output"] = tensor_summary(t) if isinstance(t, torch.Tensor) else None
            shapes: dict[str, tuple[int, ...]] = {}
            out = self._check(t, key, batch, shapes)
            self._check_duplicate(key, in_sum["sha256"], info["output"]["sha256"])
            self._shapes.update(shapes)
            return out

        out = self._run("measure_layer", attempt, batch=batch, in_sum=in_sum, extra={"layer": i},
                        save=lambda t: {"output": t, "internal": None}, frame_key=key)
        self._queries += batch
        return out

    # -- life cycle ---------------------------------------------------------------------------
    def close(self) -> None:
        """Close the log and release the worker thread (a hung call is abandoned, not joined)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> RobustSystem:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------
    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` in the worker thread; raise _CallTimeout after ``timeout_s``."""
        if self.timeout_s is None:
            return fn(*args, **kwargs)
        if self._executor is None:
            self._executor = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="robust-system")
        fut = self._executor.submit(fn, *args, **kwargs)
        done, _ = cf.wait([fut], timeout=self.timeout_s)
        if not done:
            # The thread cannot be killed: abandon it with its executor, use a fresh one next time.
            fut.cancel()
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
            raise _CallTimeout(f"no answer within {self.timeout_s:g} s")
        return fut.result()

    def _check_count(self, key: str, n: int, shapes: dict[str, tuple[int, ...]]) -> None:
        want = self._shapes.get(key)
        if want is not None and want != (n,):
            raise InvalidMeasurement(f"{key}: {n} planes, expected {want[0]}")
        shapes[key] = (n,)

    def _check(self, t: object, key: str, batch: int, shapes: dict[str, tuple[int, ...]]) -> torch.Tensor:
        """Validate one measured plane; returns it with tolerated negative noise clamped to 0."""
        if not isinstance(t, torch.Tensor):
            raise InvalidMeasurement(f"{key} is {type(t).__name__}, not a tensor")
        if not t.is_floating_point():
            raise InvalidMeasurement(f"{key} has dtype {t.dtype}, expected a real floating dtype")
        if t.ndim < 1 or t.shape[0] != batch:
            raise InvalidMeasurement(f"{key} has shape {tuple(t.shape)}, expected batch {batch} first")
        per_sample = tuple(t.shape[1:])
        want = self._shapes.get(key)
        if want is not None and per_sample != want:
            raise InvalidMeasurement(f"{key} has shape {tuple(t.shape)}, expected {(batch, *want)}")
        shapes[key] = per_sample
        t = t.detach()
        if t.numel() and not bool(torch.isfinite(t).all()):
            n = int((~torch.isfinite(t)).sum())
            raise InvalidMeasurement(f"{key} has {n} non-finite value(s)")
        if t.numel():
            lo = float(t.min())
            if lo < -self.clamp_negative:
                raise InvalidMeasurement(f"{key} has negative intensity {lo:g}")
            if lo < 0:
                t = t.clamp(min=0)
        return t

    def _check_duplicate(self, key: str, in_sha: str, out_sha: str) -> None:
        last = self._last_frame.get(key)
        if self.detect_duplicates and last is not None and last[0] != in_sha and last[1] == out_sha:
            raise InvalidMeasurement(f"duplicated frame: {key} output equals the previous one "
                                     "for a different input")

    def _saturated_fraction(self, planes: list[torch.Tensor]) -> float | None:
        if self.saturation is None:
            return None
        total = sum(p.numel() for p in planes)
        if total == 0:
            return 0.0
        hit = sum(int((p >= self.saturation).sum()) for p in planes)
        return hit / total

    def _backoff(self, retry: int) -> float:
        d = self.backoff_s * self.backoff_factor ** (retry - 1)
        return d if self.max_backoff_s is None else min(d, self.max_backoff_s)

    def _reprogram(self) -> None:
        """Upload the last programmed parameters again (one try; a failure fails the attempt)."""
        if self._params is None:
            return
        t0 = self._clock()
        try:
            self._call(self.inner.program, self._params)
        except Exception as exc:
            kind = "timeout" if isinstance(exc, _CallTimeout) else "exception"
            self._write({"call": "reprogram", "ok": False, "final": False, "kind": kind,
                         "error": _cause(exc), "duration_s": self._clock() - t0,
                         "params": self._params_rec})
            raise _ReprogramFailed(f"re-programming before the retry failed: {_cause(exc)}") from exc
        self._write({"call": "reprogram", "ok": True, "final": False, "kind": None, "error": None,
                     "duration_s": self._clock() - t0, "params": self._params_rec})

    def _run(
        self,
        call: str,
        attempt: Callable[[dict[str, Any]], T],
        *,
        batch: int | None = None,
        in_sum: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        save: Callable[[T], dict[str, Any]] | None = None,
        frame_key: str = "",
    ) -> T:
        """The retry loop shared by all calls; logs every attempt.

        ``attempt(info)`` makes one try and fills ``info`` with log fields (summaries of what was
        measured) as it goes, so that a failed attempt is logged with what it saw.
        """
        is_measure = save is not None
        max_attempts = 1 + self.retries
        last_exc: BaseException | None = None
        for k in range(1, max_attempts + 1):
            if k > 1:
                self._sleep(self._backoff(k - 1))
            t0 = self._clock()
            rec: dict[str, Any] = {"call": call, "layer": None, "internal": None, "attempt": k,
                                   "max_attempts": max_attempts, "batch": batch, "input": in_sum,
                                   "params": self._params_rec, "output": None, "internal_planes": None,
                                   "saturated_fraction": None, "tensor_file": None}
            rec.update(extra or {})
            info: dict[str, Any] = {}
            try:
                if is_measure and k > 1 and self.reprogram_on_retry:
                    self._reprogram()
                result = attempt(info)
            except Exception as exc:
                last_exc = exc
                self.failed_attempts += 1
                if isinstance(exc, _CallTimeout):
                    kind = "timeout"
                elif isinstance(exc, _ReprogramFailed):
                    kind = "reprogram"
                elif isinstance(exc, InvalidMeasurement):
                    kind = "invalid"
                elif isinstance(exc, self.fatal):
                    kind = "fatal"
                else:
                    kind = "exception"
                fatal = kind == "fatal"
                rec.update(info)
                rec.update({"ok": False, "final": fatal or k == max_attempts, "kind": kind,
                            "error": _cause(exc), "duration_s": self._clock() - t0})
                self._write(rec)
                if fatal:
                    raise
                continue
            rec.update(info)
            rec.update({"ok": True, "final": True, "kind": None, "error": None,
                        "duration_s": self._clock() - t0})
            if is_measure:
                tensors = save(result)
                planes = [*(tensors["internal"] or []), tensors["output"]]
                frac = self._saturated_fraction(planes)
                self.last_saturated_fraction = frac
                rec["saturated_fraction"] = frac
                if frac is not None and frac > 0.01 and not self._warned_saturation:
                    self._warned_saturation = True
                    warnings.warn(f"{100 * frac:.1f}% of the measured pixels are saturated "
                                  f"(>= {self.saturation:g}); reduce the input power or exposure",
                                  RuntimeWarning, stacklevel=3)
                self._last_frame[frame_key] = (in_sum["sha256"], rec["output"]["sha256"])
                rec["tensor_file"] = self._save_tensors(call, rec, tensors)
            self._write(rec)
            return result
        assert last_exc is not None
        raise HardwareError(call, max_attempts, _cause(last_exc)) from last_exc

    def _save_tensors(self, call: str, rec: dict[str, Any], tensors: dict[str, Any]) -> str | None:
        if self.log_tensors_dir is None:
            return None
        path = self.log_tensors_dir / f"{self.session}-{self._seq:08d}-{call}.pt"
        tmp = path.with_name(path.name + ".tmp")
        payload = {"call": call, "layer": rec["layer"],
                   "output": tensors["output"].detach().cpu(),
                   "internal": None if tensors["internal"] is None
                   else [t.detach().cpu() for t in tensors["internal"]],
                   "input_sha256": rec["input"]["sha256"] if rec["input"] else None,
                   "params_sha256": rec["params"]["sha256"] if rec["params"] else None,
                   "time": time.time()}
        with open(tmp, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return str(path)

    def _write(self, rec: dict[str, Any]) -> None:
        """Append one record to the log (flushed and fsynced)."""
        full = {"v": 1, "time": time.time(), "session": self.session, "seq": self._seq}
        for key in ("call", "layer", "internal", "attempt", "max_attempts", "ok", "final", "kind",
                    "error", "duration_s", "batch", "input", "output", "internal_planes", "params",
                    "saturated_fraction", "tensor_file"):
            full[key] = rec.get(key)
        self._seq += 1
        if self._log is None:
            return
        self._log.write(json.dumps(full, allow_nan=False) + "\n")
        self._log.flush()
        os.fsync(self._log.fileno())
