"""Checkpoints that survive: atomic writes, a checksum, and the previous good one kept.

Tensors are read onto the CPU whatever device wrote them, so a run trained on a GPU resumes or
is evaluated on a machine without one.

File format: one header line ``PDATCKPT1 <sha256 of payload>\\n`` followed by the torch.save
payload. ``save`` writes to a temporary file, fsyncs and renames; the checkpoint it replaces is
kept as ``<name>.prev``. ``load`` verifies the checksum and falls back to ``.prev`` (with a
warning) when the newest file is partial or corrupted.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from pathlib import Path
from typing import Any

import torch

MAGIC = b"PDATCKPT1"


class CheckpointError(RuntimeError):
    """No readable checkpoint (one line)."""


def save(state: dict[str, Any], path: Path) -> None:
    buf = io.BytesIO()
    torch.save(state, buf)
    payload = buf.getvalue()
    digest = hashlib.sha256(payload).hexdigest().encode()
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(MAGIC + b" " + digest + b"\n")
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
    if path.exists():
        os.replace(path, path.with_name(path.name + ".prev"))
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _read(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    if not data.startswith(MAGIC):
        try:  # a checkpoint of photonic-dat 0.1.0 (plain torch.save, no checksum)
            legacy = torch.load(io.BytesIO(data), map_location="cpu", weights_only=False)
        except Exception:
            raise CheckpointError(f"{path} is not a photonic-dat checkpoint") from None
        if isinstance(legacy, dict) and "it" not in legacy and "epoch" in legacy:
            legacy = {**legacy, "epoch": legacy["epoch"] + 1, "it": 0, "sums": {}}
        return legacy
    head, sep, payload = data.partition(b"\n")
    parts = head.split(b" ")
    if not sep or len(parts) != 2 or parts[0] != MAGIC:
        raise CheckpointError(f"{path} is not a photonic-dat checkpoint")
    if hashlib.sha256(payload).hexdigest().encode() != parts[1]:
        raise CheckpointError(f"{path} is corrupted or partial (checksum mismatch)")
    return torch.load(io.BytesIO(payload), map_location="cpu", weights_only=False)


def load_weights(path: Path) -> dict[str, Any]:
    """A plain ``torch.save`` file of a run (``selected.pt``), its tensors on the CPU: a run
    trained on a GPU reads on a machine without one (``load_state_dict`` copies the values to
    wherever the receiving model lives)."""
    return torch.load(path, map_location="cpu", weights_only=False)


def load(path: Path) -> dict[str, Any]:
    """The newest good checkpoint at ``path`` (or its ``.prev``)."""
    prev = path.with_name(path.name + ".prev")
    try:
        return _read(path)
    except (CheckpointError, OSError, EOFError, RuntimeError) as exc:
        if not prev.exists():
            raise CheckpointError(f"cannot resume: {exc}") from None
        warnings.warn(f"{exc}; using the previous checkpoint {prev.name}", stacklevel=2)
        try:
            return _read(prev)
        except (CheckpointError, OSError, EOFError, RuntimeError) as exc2:
            raise CheckpointError(f"cannot resume: {exc2}") from None


def exists(path: Path) -> bool:
    """Whether :func:`load` has something to resume from at ``path``: the checkpoint or its
    ``.prev`` (a write stopped between its two renames leaves only the latter)."""
    return path.exists() or path.with_name(path.name + ".prev").exists()
