"""Allocator behaviour for large FFT work on CPU.

glibc serves large blocks with mmap and returns freed memory to the kernel immediately, so every
FFT buffer of a diffractive network costs page faults and zeroing (measured here: about half the
CPU time of a 200 x 200 propagation in the kernel). :func:`configure` keeps freed memory in the
process instead (the same effect as ``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=...
MALLOC_TOP_PAD_=...``), for our own processes only. It is called by the ``photonic-dat`` command
unless ``PHOTONIC_DAT_MALLOC=default`` is set; the trade-off is a higher resident memory.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_MAX = -1, -2, -4
_STATE = {"configured": False}


def configure() -> str:
    """Apply the setting (idempotent); returns a one-word description for logs and benchmarks."""
    if os.environ.get("PHOTONIC_DAT_MALLOC", "").lower() in ("default", "off", "0"):
        return "default"
    if _STATE["configured"]:
        return "retain"
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return "default"  # not glibc: nothing to do
    ok = mallopt(M_MMAP_MAX, 0) and mallopt(M_TRIM_THRESHOLD, 2**31 - 1) and mallopt(
        M_TOP_PAD, 2**30)
    _STATE["configured"] = bool(ok)
    return "retain" if ok else "default"


def describe() -> str:
    return "retain (mallopt: no mmap, no trim)" if _STATE["configured"] else "glibc default"
