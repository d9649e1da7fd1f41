"""Export trained photonic networks for the lab: SLM bitmaps, height maps, MZI tables, .npz files.

What goes where (all angles in radians, lengths in metres unless a name says otherwise):

* :class:`PhaseLUT` - an SLM's lookup table (gray level -> phase); :meth:`PhaseLUT.to_levels`
  turns phases into gray levels, :meth:`PhaseLUT.to_phase` maps them back.
* :func:`export_slm_bitmaps` - one grayscale PNG (8 or 16 bit) of gray levels per phase mask.
* :func:`export_height_maps` - per mask, the relief ``h`` (m, ``.npy``) of a printed phase plate
  and an ASCII STL solid of it.
* :class:`HeaterCalibration` - thermo-optic phase shifter calibration (phase -> power in mW).
* :func:`export_mzi_table` / :func:`import_mzi_table` - the phases of every MZI of a mesh
  network (CSV or JSON), optionally with heater powers.
* :func:`export_npz` / :func:`load_npz` / :func:`import_model` - a self-describing ``.npz`` with
  every physical parameter, from which the network can be rebuilt.
* :func:`export_run` - any of the above for a finished training run directory.

Phase wrapping
--------------
Phases are physical modulo 2 pi. :func:`wrap_phase` maps ``phase`` to
``start + ((phase - start) mod 2 pi)``, i.e. into ``[start, start + 2 pi)``; in particular a
phase of exactly ``2 pi`` wraps to ``start = 0`` (gray level 0 of a LUT starting at phase 0).

One exception: the internal phase ``theta`` of an MZI. The project's MZI uses the push-pull
(Bloch) convention ``Q(theta) = diag(exp(i theta / 2), exp(-i theta / 2))``, so ``theta`` and
``theta + 2 pi`` give the transfer matrices ``T`` and ``-T``: a common-mode sign on the two modes
of the MZI, which changes the interference downstream. ``theta`` therefore has period 4 pi and
the MZI table stores it wrapped to ``[0, 4 pi)`` (exactly the same mesh); ``phi`` and ``gamma``
are wrapped to ``[0, 2 pi)``. A heater calibration is applied to ``theta mod 2 pi`` (a single
internal heater sets ``theta`` only modulo 2 pi; the common-mode sign is not set by it).
"""

from __future__ import annotations

import csv
import inspect
import io
import json
import math
import re
import struct
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = [
    "EXPORT_FORMATS",
    "MZI_TABLE_FORMAT",
    "NPZ_FORMAT",
    "HeaterCalibration",
    "PhaseLUT",
    "apply_mzi_table",
    "export_height_maps",
    "export_mzi_table",
    "export_npz",
    "export_run",
    "export_slm_bitmaps",
    "import_model",
    "import_mzi_table",
    "load_npz",
    "load_npz_meta",
    "model_from_describe",
    "phase_to_height",
    "read_png_gray",
    "wrap_phase",
    "write_png_gray",
]

TWO_PI = 2.0 * math.pi
#: format tag stored in every ``.npz`` written by :func:`export_npz`
NPZ_FORMAT = "photonic-dat-npz/1"
#: format tag of the JSON MZI table
MZI_TABLE_FORMAT = "photonic-dat-mzi-table/1"
#: the formats of :func:`export_run`
EXPORT_FORMATS = ("npz", "mzi-csv", "mzi-json", "slm-png", "height")

ArrayLike = torch.Tensor | np.ndarray | float | Sequence[float]

_TOL = 1e-9  # rad: phases this close outside a range count as inside (float rounding)


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def _as_array(x: ArrayLike, name: str = "phase") -> np.ndarray:
    """A float64 numpy copy of ``x`` (tensor, array or numbers); NaN / inf -> ValueError."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().to(torch.float64).numpy()
    arr = np.array(x, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def wrap_phase(phase: ArrayLike, start: float = 0.0, period: float = TWO_PI) -> np.ndarray:
    """Phase (rad) wrapped into ``[start, start + period)``: ``start + ((phase - start) mod period)``.

    The result never equals ``start + period`` (float rounding of tiny negative offsets is
    folded back to ``start``). Returns float64.
    """
    p = _as_array(phase)
    r = np.mod(p - start, period)
    r = np.where(r >= period, 0.0, r)
    return start + r


def _fmt_float(x: float) -> str:
    return repr(float(x))


def _safe_name(name: str) -> str:
    """A file name stem from a parameter name (``masks.0.phase`` stays ``masks.0.phase``)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("._") or "layer"
    return stem


def _stems(names: Iterable[str]) -> list[str]:
    stems, seen = [], {}
    for name in names:
        stem = _safe_name(name)
        if stem in seen:
            raise ValueError(f"layer names {seen[stem]!r} and {name!r} give the same file name {stem!r}")
        seen[stem] = name
        stems.append(stem)
    return stems


def _read_numeric_csv(path: Path, columns: tuple[str, str]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Two numeric columns of a CSV (header optional; ``#`` comments and blank lines skipped).

    With a header, the columns are found by name (case-insensitive, extra columns ignored);
    without, the first two columns are used. Returns the columns and each row's line number.
    """
    a_vals, b_vals, lines = [], [], []
    idx: tuple[int, int] | None = None
    with open(path, newline="") as f:
        for lineno, row in enumerate(csv.reader(f), start=1):
            cells = [c.strip() for c in row]
            if not cells or all(c == "" for c in cells) or cells[0].startswith("#"):
                continue
            if idx is None:
                try:
                    float(cells[0])
                except ValueError:
                    names = [c.lower() for c in cells]
                    missing = [c for c in columns if c not in names]
                    if missing:
                        raise ValueError(
                            f"{path}: header (line {lineno}) lacks column(s) {', '.join(missing)}; "
                            f"expected {','.join(columns)}"
                        ) from None
                    idx = (names.index(columns[0]), names.index(columns[1]))
                    continue
                idx = (0, 1)
            try:
                a_vals.append(float(cells[idx[0]]))
                b_vals.append(float(cells[idx[1]]))
            except (ValueError, IndexError):
                raise ValueError(
                    f"{path}: line {lineno} is not two numbers {','.join(columns)}: {','.join(cells)!r}"
                ) from None
            lines.append(lineno)
    if not a_vals:
        raise ValueError(f"{path}: no data rows (expected columns {','.join(columns)})")
    return np.array(a_vals), np.array(b_vals), lines


# ---------------------------------------------------------------------------------------------
# SLM lookup table
# ---------------------------------------------------------------------------------------------
class PhaseLUT:
    """An SLM lookup table: gray levels and the phase (rad) each one produces.

    Args:
        levels: gray levels, integers in ``[0, 2**bits - 1]``, strictly increasing.
        phases: phase (rad) of each level, strictly increasing with the level.
        bits: bit depth of the SLM's gray levels (1..16).
        clip: what :meth:`to_levels` does with a phase the LUT cannot reach (only possible when
            the LUT does not cover the full circle): False raises ValueError, True uses the
            nearer end of the LUT on the circle.

    Wrap: :meth:`to_levels` takes every phase modulo 2 pi into ``[phi_min, phi_min + 2 pi)``
    (``phi_min`` = phase of the first level), interpolates the level linearly between the LUT
    rows and rounds it to the nearest integer level. The LUT *covers the circle*
    (:attr:`covers_circle`) when its span ``phi_max - phi_min`` is at least 2 pi minus its
    largest step between neighbouring rows, i.e. the closing step from the last row back to
    ``phi_min + 2 pi`` is no coarser than the table itself; e.g. the linear 8-bit LUT with phases
    ``k * 2 pi / 256`` (k = 0..255). A wrapped phase between ``phi_max`` and ``phi_min + 2 pi``
    then goes to the nearer of the last and the first level. A LUT that does not cover the
    circle (span shorter) raises ValueError for such phases unless ``clip=True``.

    Raises:
        ValueError (one line): fewer than two rows, non-integer or out-of-range levels,
        levels or phases not strictly increasing (naming the first offending row, counted from
        1 over the data rows), non-finite phases.
    """

    def __init__(self, levels: ArrayLike, phases: ArrayLike, bits: int = 8, clip: bool = False,
                 _row_names: Sequence[str] | None = None) -> None:
        if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 16:
            raise ValueError(f"PhaseLUT.bits must be an integer in 1..16, got {bits!r}")
        lv = _as_array(levels, "PhaseLUT levels").reshape(-1)
        ph = _as_array(phases, "PhaseLUT phases").reshape(-1)
        if lv.shape != ph.shape:
            raise ValueError(f"PhaseLUT has {lv.size} levels but {ph.size} phases")
        if lv.size < 2:
            raise ValueError(f"PhaseLUT needs at least 2 rows, got {lv.size}")

        def row(i: int) -> str:
            return _row_names[i] if _row_names is not None else f"row {i + 1}"

        def first(bad: np.ndarray, offset: int = 0) -> int | None:
            idx = np.flatnonzero(bad)
            return int(idx[0]) + offset if idx.size else None

        top = 2**bits - 1
        if (i := first(lv != np.round(lv))) is not None:
            raise ValueError(f"PhaseLUT {row(i)}: level {lv[i]:g} is not an integer")
        if (i := first((lv < 0) | (lv > top))) is not None:
            raise ValueError(
                f"PhaseLUT {row(i)}: level {int(lv[i])} does not fit {bits} bits (0..{top}); "
                "use a larger bit depth"
            )
        bad_level = first(np.diff(lv) <= 0, 1)
        bad_phase = first(np.diff(ph) <= 0, 1)
        if bad_level is not None and (bad_phase is None or bad_level <= bad_phase):
            i = bad_level
            raise ValueError(
                f"PhaseLUT {row(i)}: level {int(lv[i])} is not above the previous level "
                f"{int(lv[i - 1])}; levels must be strictly increasing"
            )
        if bad_phase is not None:
            i = bad_phase
            raise ValueError(
                f"PhaseLUT is not monotonic: {row(i)} (level {int(lv[i])}, phase {ph[i]:.6g} rad) "
                f"does not exceed the previous row's phase {ph[i - 1]:.6g} rad"
            )
        self.levels = lv.astype(np.int64)
        self.phases = ph
        self.bits = bits
        self.clip = bool(clip)

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def linear(cls, bits: int = 8, phase_range: float = TWO_PI, phase_offset: float = 0.0,
               clip: bool = False) -> PhaseLUT:
        """Level ``k`` (0..2**bits - 1) -> ``phase_offset + k * phase_range / 2**bits`` (rad).

        With ``phase_range = 2 pi`` the top level sits one step below 2 pi (level ``2**bits``
        would be 2 pi, the same phase as level 0), so the LUT covers the circle.
        """
        if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 16:
            raise ValueError(f"PhaseLUT.bits must be an integer in 1..16, got {bits!r}")
        if not (math.isfinite(phase_range) and phase_range > 0):
            raise ValueError(f"phase_range must be a positive phase in rad, got {phase_range!r}")
        k = np.arange(2**bits, dtype=np.float64)
        return cls(k, phase_offset + k * (phase_range / 2**bits), bits=bits, clip=clip)

    @classmethod
    def from_csv(cls, path: str | Path, bits: int = 8, clip: bool = False) -> PhaseLUT:
        """Read a LUT from a CSV with columns ``level,phase`` (phase in rad).

        The header is optional (without one the first two columns are used); ``#`` comment lines
        and blank lines are skipped. Errors name the line of the file.
        """
        path = Path(path)
        lv, ph, lines = _read_numeric_csv(path, ("level", "phase"))
        return cls(lv, ph, bits=bits, clip=clip, _row_names=[f"{path} line {n}" for n in lines])

    def to_csv(self, path: str | Path) -> Path:
        """Write the LUT as ``level,phase`` CSV (phase in rad, full precision)."""
        path = Path(path)
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["level", "phase"])
            for lv, ph in zip(self.levels, self.phases, strict=True):
                w.writerow([int(lv), _fmt_float(ph)])
        return path

    # -- properties ---------------------------------------------------------------------------
    @property
    def phi_min(self) -> float:
        """Phase of the first level (rad): wrapped phases lie in ``[phi_min, phi_min + 2 pi)``."""
        return float(self.phases[0])

    @property
    def phi_max(self) -> float:
        """Phase of the last level (rad)."""
        return float(self.phases[-1])

    @property
    def span(self) -> float:
        """``phi_max - phi_min`` (rad)."""
        return self.phi_max - self.phi_min

    @property
    def max_step(self) -> float:
        """Largest phase step between neighbouring rows (rad)."""
        return float(np.max(np.diff(self.phases)))

    @property
    def covers_circle(self) -> bool:
        """Whether every wrapped phase has a level within half a step (see the class doc)."""
        return self.span + self.max_step >= TWO_PI - _TOL

    @property
    def dtype(self) -> np.dtype:
        """The smallest unsigned integer type that holds the levels (uint8 or uint16)."""
        return np.dtype(np.uint8) if self.bits <= 8 else np.dtype(np.uint16)

    def __repr__(self) -> str:
        return (f"PhaseLUT({self.levels.size} rows, levels {self.levels[0]}..{self.levels[-1]}, "
                f"phase {self.phi_min:.4g}..{self.phi_max:.4g} rad, bits={self.bits})")

    # -- conversions --------------------------------------------------------------------------
    def to_levels(self, phase: ArrayLike) -> np.ndarray:
        """Gray levels (uint8 / uint16, shape of ``phase``) that realise ``phase`` (rad).

        See the class doc for the wrap. Raises ValueError for a phase outside a LUT that does
        not cover the circle (unless ``clip``), naming the first such phase.
        """
        w = wrap_phase(phase, self.phi_min)
        outside = w > self.phi_max + _TOL
        if np.any(outside) and not (self.covers_circle or self.clip):
            first = float(_as_array(phase).reshape(-1)[np.flatnonzero(outside.reshape(-1))[0]])
            raise ValueError(
                f"phase {first:.6g} rad (wrapped to {float(w.reshape(-1)[outside.reshape(-1)][0]):.6g}) "
                f"is outside the LUT range [{self.phi_min:.6g}, {self.phi_max:.6g}] rad, which covers "
                f"less than 2 pi ({int(outside.sum())} such phases); pass clip=True to clip"
            )
        lv = np.interp(np.minimum(w, self.phi_max), self.phases, self.levels.astype(np.float64))
        lv = np.rint(lv)
        if np.any(outside):
            # between phi_max and phi_min + 2 pi: the nearer end on the circle
            to_first = (self.phi_min + TWO_PI) - w < w - self.phi_max
            lv = np.where(outside & to_first, self.levels[0], lv)
            lv = np.where(outside & ~to_first, self.levels[-1], lv)
        return lv.astype(self.dtype)

    def to_phase(self, levels: ArrayLike) -> np.ndarray:
        """Phase (rad, float64) of gray ``levels``, interpolated linearly between the LUT rows.

        Raises ValueError for levels outside ``[levels[0], levels[-1]]``.
        """
        lv = _as_array(levels, "levels")
        lo, hi = int(self.levels[0]), int(self.levels[-1])
        bad = (lv < lo) | (lv > hi)
        if np.any(bad):
            raise ValueError(f"level {lv[bad].reshape(-1)[0]:g} is outside the LUT levels {lo}..{hi}")
        return np.interp(lv, self.levels.astype(np.float64), self.phases)

    def level_step(self) -> float:
        """Largest phase step (rad) between consecutive integer levels, closing step included."""
        steps = np.diff(self.phases) / np.diff(self.levels)
        closing = TWO_PI - self.span
        return float(max(np.max(steps), closing if self.covers_circle else 0.0))


# ---------------------------------------------------------------------------------------------
# PNG (grayscale, 8 or 16 bit): a minimal encoder / decoder with zlib + struct
# ---------------------------------------------------------------------------------------------
_PNG_SIG = b"\x89PNG\r\n\x1a\n"


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def write_png_gray(path: str | Path, image: np.ndarray, bits: int = 8) -> Path:
    """Write a 2-D integer array as a grayscale PNG of bit depth 8 or 16 (values stored as-is).

    Row 0 of ``image`` is the top row of the picture. Raises ValueError for values outside
    ``0..2**bits - 1``.
    """
    if bits not in (8, 16):
        raise ValueError(f"PNG bit depth must be 8 or 16, got {bits!r}")
    img = np.asarray(image)
    if img.ndim != 2 or img.size == 0:
        raise ValueError(f"a grayscale PNG needs a non-empty 2-D array, got shape {img.shape}")
    if not np.issubdtype(img.dtype, np.integer):
        raise ValueError(f"PNG pixels must be integers, got dtype {img.dtype}")
    if img.min() < 0 or img.max() > 2**bits - 1:
        raise ValueError(f"pixel values {img.min()}..{img.max()} do not fit {bits} bits")
    h, w = img.shape
    raw = img.astype(">u1" if bits == 8 else ">u2")
    rows = np.concatenate([np.zeros((h, 1), np.uint8), raw.view(np.uint8).reshape(h, -1)], axis=1)
    ihdr = struct.pack(">IIBBBBB", w, h, bits, 0, 0, 0, 0)
    data = _PNG_SIG + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
    data += _chunk(b"IEND", b"")
    path = Path(path)
    path.write_bytes(data)
    return path


def _unfilter(raw: bytes, h: int, stride: int, bpp: int) -> np.ndarray:
    out = np.zeros((h, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int64)
    pos = 0
    for y in range(h):
        ftype = raw[pos]
        line = np.frombuffer(raw, np.uint8, stride, pos + 1).astype(np.int64)
        pos += stride + 1
        if ftype == 0:
            cur = line
        elif ftype == 2:
            cur = (line + prev) & 0xFF
        elif ftype == 1:  # Sub: a running sum along each byte lane
            cur = np.cumsum(line.reshape(-1, bpp), axis=0).reshape(-1) & 0xFF
        elif ftype in (3, 4):
            cur = np.zeros(stride, dtype=np.int64)
            for x in range(stride):
                a = cur[x - bpp] if x >= bpp else 0
                b = prev[x]
                if ftype == 3:
                    pred = (a + b) >> 1
                else:
                    c = prev[x - bpp] if x >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[x] = (line[x] + pred) & 0xFF
        else:
            raise ValueError(f"PNG row {y} has unknown filter type {ftype}")
        out[y] = cur
        prev = cur
    return out


def read_png_gray(path: str | Path) -> np.ndarray:
    """Read a non-interlaced grayscale PNG of bit depth 8 or 16 -> uint8 / uint16 array (H, W)."""
    data = Path(path).read_bytes()
    if not data.startswith(_PNG_SIG):
        raise ValueError(f"{path} is not a PNG file")
    pos, idat, ihdr = len(_PNG_SIG), [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        tag, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(tag + body) & 0xFFFFFFFF != crc:
            raise ValueError(f"{path}: CRC mismatch in chunk {tag!r}")
        pos += 12 + length
        if tag == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif tag == b"IDAT":
            idat.append(body)
        elif tag == b"IEND":
            break
    if ihdr is None:
        raise ValueError(f"{path}: PNG without IHDR")
    w, h, bits, color, _, _, interlace = ihdr
    if color != 0 or bits not in (8, 16) or interlace != 0:
        raise ValueError(
            f"{path}: only non-interlaced grayscale PNGs of 8 or 16 bit are supported "
            f"(colour type {color}, bit depth {bits}, interlace {interlace})"
        )
    bpp = bits // 8
    rows = _unfilter(zlib.decompress(b"".join(idat)), h, w * bpp, bpp)
    if bits == 8:
        return rows.reshape(h, w).copy()
    return rows.reshape(h, w * 2).view(">u2").astype(np.uint16).reshape(h, w)


# ---------------------------------------------------------------------------------------------
# SLM bitmaps and height maps
# ---------------------------------------------------------------------------------------------
def _mask_arrays(masks: Mapping[str, ArrayLike]) -> dict[str, np.ndarray]:
    if not isinstance(masks, Mapping) or not masks:
        raise ValueError("masks must be a non-empty dict {layer name: 2-D phase (rad)}")
    out = {}
    for name, m in masks.items():
        arr = _as_array(m, f"mask {name!r}")
        if arr.ndim != 2:
            raise ValueError(f"mask {name!r} must be a 2-D phase map, got shape {arr.shape}")
        out[str(name)] = arr
    return out


def export_slm_bitmaps(masks: Mapping[str, ArrayLike], lut: PhaseLUT, out_dir: str | Path,
                       bits: int | None = None) -> list[Path]:
    """Write one grayscale PNG of SLM gray levels per phase mask.

    Args:
        masks: ``{layer name: phase (rad), shape (H, W)}`` (tensors or arrays), e.g. the 2-D
            entries of a diffractive model's ``physical_params()``.
        lut: the SLM's lookup table; phases are converted by :meth:`PhaseLUT.to_levels`.
        out_dir: folder (created if needed); files are ``<layer name>.png`` (characters other
            than letters, digits, ``._-`` replaced by ``_``).
        bits: PNG bit depth, 8 or 16; default 8 if the LUT has at most 8 bits, else 16. Levels
            are stored unscaled (a 10-bit level 1023 is the 16-bit value 1023).

    Pixel ``(row i, column j)`` of the PNG is ``mask[i, j]`` (row 0 at the top, no flip).
    Returns the paths written, in the order of ``masks``.
    """
    arrays = _mask_arrays(masks)
    if bits is None:
        bits = 8 if lut.bits <= 8 else 16
    if bits not in (8, 16):
        raise ValueError(f"bits must be 8 or 16, got {bits!r}")
    if int(lut.levels[-1]) > 2**bits - 1:
        raise ValueError(f"the LUT's top level {int(lut.levels[-1])} does not fit a {bits}-bit PNG")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, (name, phase) in zip(_stems(arrays), arrays.items(), strict=True):
        try:
            levels = lut.to_levels(phase)
        except ValueError as exc:
            raise ValueError(f"mask {name!r}: {exc}") from None
        paths.append(write_png_gray(out / f"{stem}.png", levels.astype(np.uint16), bits))
    return paths


def phase_to_height(phase: ArrayLike, wavelength: float, refractive_index: float) -> np.ndarray:
    """Relief (m) of a phase plate: ``h = wrap(phase) * wavelength / (2 pi (n - 1))``.

    ``wrap(phase)`` is the phase modulo 2 pi in ``[0, 2 pi)``, so ``0 <= h < wavelength / (n - 1)``.
    ``wavelength`` (m) is in vacuum, ``n`` the refractive index of the material (> 1, the
    surrounding medium being air). Float64.
    """
    if not (isinstance(wavelength, (int, float)) and math.isfinite(wavelength) and wavelength > 0):
        raise ValueError(f"wavelength must be a positive length in metres, got {wavelength!r}")
    if not (isinstance(refractive_index, (int, float)) and math.isfinite(refractive_index)
            and refractive_index > 1):
        raise ValueError(f"refractive_index must be > 1 (a phase plate in air), got {refractive_index!r}")
    return wrap_phase(phase) * (wavelength / (TWO_PI * (refractive_index - 1.0)))


_STL_UNITS = {"m": 1.0, "mm": 1e-3, "um": 1e-6}


def _height_field_triangles(z: np.ndarray, pitch: float) -> np.ndarray:
    """Triangles (F, 3, 3) of the solid ``0 <= z' <= z[i, j]`` over the pixel grid.

    Pixel ``(i, j)`` spans ``x`` in column ``j`` and ``y`` in row ``i`` (centred grid, as
    :class:`~photonic_dat.optics.Grid`). Facets: two per pixel on top (flat, at ``z[i, j]``),
    a vertical wall wherever neighbouring heights differ (and around the border), two at the
    base ``z' = 0``. Vertices are counter-clockwise seen from outside (outward normals).
    """
    rows, cols = z.shape
    xe = (np.arange(cols + 1) - cols / 2.0) * pitch
    ye = (np.arange(rows + 1) - rows / 2.0) * pitch
    tris = []
    # top: pixel quads, normal +z
    x0, y0 = np.meshgrid(xe[:-1], ye[:-1])
    x1, y1 = np.meshgrid(xe[1:], ye[1:])
    p00 = np.stack([x0, y0, z], -1).reshape(-1, 3)
    p10 = np.stack([x1, y0, z], -1).reshape(-1, 3)
    p11 = np.stack([x1, y1, z], -1).reshape(-1, 3)
    p01 = np.stack([x0, y1, z], -1).reshape(-1, 3)
    tris += [np.stack([p00, p10, p11], 1), np.stack([p00, p11, p01], 1)]
    # walls facing +-x: at x = xe[e], between column e - 1 (left) and e (right); 0 outside
    zp = np.pad(z, ((0, 0), (1, 1)))
    left, right = zp[:, :-1], zp[:, 1:]  # (rows, cols + 1)
    ii, ee = np.nonzero(left != right)
    if ii.size:
        zl, zr = left[ii, ee], right[ii, ee]
        lo, hi = np.minimum(zl, zr), np.maximum(zl, zr)
        x = xe[ee]
        ya, yb = ye[ii], ye[ii + 1]
        a = np.stack([x, ya, lo], -1)
        b = np.stack([x, yb, lo], -1)
        c = np.stack([x, yb, hi], -1)
        d = np.stack([x, ya, hi], -1)
        plus = (zl > zr)[:, None, None]  # solid on the left: outward normal +x
        t1 = np.where(plus, np.stack([a, b, c], 1), np.stack([a, c, b], 1))
        t2 = np.where(plus, np.stack([a, c, d], 1), np.stack([a, d, c], 1))
        tris += [t1, t2]
    # walls facing +-y: at y = ye[e], between row e - 1 (below) and e (above)
    zp = np.pad(z, ((1, 1), (0, 0)))
    below, above = zp[:-1, :], zp[1:, :]  # (rows + 1, cols)
    ee, jj = np.nonzero(below != above)
    if ee.size:
        zb, za = below[ee, jj], above[ee, jj]
        lo, hi = np.minimum(zb, za), np.maximum(zb, za)
        y = ye[ee]
        xa, xb = xe[jj], xe[jj + 1]
        a = np.stack([xa, y, lo], -1)
        b = np.stack([xa, y, hi], -1)
        c = np.stack([xb, y, hi], -1)
        d = np.stack([xb, y, lo], -1)
        plus = (zb > za)[:, None, None]  # solid below: outward normal +y
        t1 = np.where(plus, np.stack([a, b, c], 1), np.stack([a, c, b], 1))
        t2 = np.where(plus, np.stack([a, c, d], 1), np.stack([a, d, c], 1))
        tris += [t1, t2]
    # base at z = 0, normal -z
    c00, c10 = [xe[0], ye[0], 0.0], [xe[-1], ye[0], 0.0]
    c11, c01 = [xe[-1], ye[-1], 0.0], [xe[0], ye[-1], 0.0]
    tris.append(np.array([[c00, c11, c10], [c00, c01, c11]]))
    return np.concatenate(tris, axis=0)


def _unit_normals(tris: np.ndarray) -> np.ndarray:
    n = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    norm = np.linalg.norm(n, axis=1, keepdims=True)
    return np.divide(n, norm, out=np.zeros_like(n), where=norm > 0)


def _write_stl_binary(path: Path, tris: np.ndarray, name: str) -> Path:
    """Binary STL: 80-byte header, uint32 facet count, per facet 12 float32 + uint16 (little endian)."""
    rec = np.zeros(len(tris), dtype=[("n", "<f4", 3), ("v", "<f4", (3, 3)), ("attr", "<u2")])
    rec["n"], rec["v"] = _unit_normals(tris), tris
    header = f"photonic-dat height map {name}".encode()[:80].ljust(80, b" ")
    path.write_bytes(header + struct.pack("<I", len(tris)) + rec.tobytes())
    return path


def _write_stl_ascii(path: Path, tris: np.ndarray, name: str) -> Path:
    n = _unit_normals(tris)
    buf = io.StringIO()
    buf.write(f"solid {name}\n")
    vals = np.concatenate([n, tris.reshape(-1, 9)], axis=1)
    template = ("facet normal {:.6e} {:.6e} {:.6e}\n outer loop\n"
                "  vertex {:.9g} {:.9g} {:.9g}\n  vertex {:.9g} {:.9g} {:.9g}\n"
                "  vertex {:.9g} {:.9g} {:.9g}\n endloop\nendfacet\n")
    for row in vals.tolist():
        buf.write(template.format(*row))
    buf.write(f"endsolid {name}\n")
    path.write_text(buf.getvalue())
    return path


def export_height_maps(masks: Mapping[str, ArrayLike], wavelength: float, refractive_index: float,
                       out_dir: str | Path, pixel_pitch: float, base_thickness: float = 1e-3,
                       stl: bool = True, stl_units: str = "mm", stl_format: str = "ascii") -> list[Path]:
    """Height maps of printed phase plates, one ``.npy`` (and ASCII ``.stl``) per mask.

    Relief: ``h = wrap(phase) * wavelength / (2 pi (n - 1))`` (m), ``wrap`` into ``[0, 2 pi)``
    (:func:`phase_to_height`), so ``0 <= h < wavelength / (n - 1)``.

    Args:
        masks: ``{layer name: phase (rad), shape (H, W)}``.
        wavelength: vacuum wavelength (m).
        refractive_index: refractive index ``n > 1`` of the plate material (in air).
        out_dir: folder (created if needed).
        pixel_pitch: side of one pixel (m).
        base_thickness: thickness (m, >= 0) of the flat substrate under the relief (STL only).
        stl: also write the STL solid.
        stl_units: length unit of the STL coordinates, ``"mm"`` (default, what slicers
            assume), ``"um"`` or ``"m"``.
        stl_format: ``"ascii"`` (default) or ``"binary"`` (about 4x smaller: an ASCII STL of a
            200 x 200 mask with random phases is about 40 MB).

    Files: ``<layer>.npy`` holds ``h`` (float64, metres, relief only, without the base);
    ``<layer>.stl`` is an STL of the solid ``0 <= z <= base_thickness + h[i, j]`` over
    pixel ``(i, j)``: a flat top square (two triangles) per pixel, vertical walls where
    neighbouring pixels differ in height and around the border, and a flat base at ``z = 0``,
    with outward normals (closed, but with T-junctions: not a vertex-shared manifold mesh).
    ``x`` runs along columns, ``y`` along rows, centred on the optical axis (as
    :class:`~photonic_dat.optics.Grid`); the relief faces ``+z``.

    Returns the paths written, per mask ``.npy`` then ``.stl``.
    """
    arrays = _mask_arrays(masks)
    if not (isinstance(pixel_pitch, (int, float)) and math.isfinite(pixel_pitch) and pixel_pitch > 0):
        raise ValueError(f"pixel_pitch must be a positive length in metres, got {pixel_pitch!r}")
    if not (isinstance(base_thickness, (int, float)) and math.isfinite(base_thickness)
            and base_thickness >= 0):
        raise ValueError(f"base_thickness must be a length >= 0 in metres, got {base_thickness!r}")
    if stl_format not in ("ascii", "binary"):
        raise ValueError(f"stl_format={stl_format!r}; allowed: ascii, binary")
    if stl_units not in _STL_UNITS:
        raise ValueError(f"stl_units={stl_units!r}; allowed: {', '.join(_STL_UNITS)}")
    heights = {name: phase_to_height(p, wavelength, refractive_index) for name, p in arrays.items()}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    scale = 1.0 / _STL_UNITS[stl_units]
    paths = []
    for stem, (_name, h) in zip(_stems(heights), heights.items(), strict=True):
        np.save(out / f"{stem}.npy", h)
        paths.append(out / f"{stem}.npy")
        if stl:
            tris = _height_field_triangles((base_thickness + h) * scale, pixel_pitch * scale)
            write = _write_stl_ascii if stl_format == "ascii" else _write_stl_binary
            paths.append(write(out / f"{stem}.stl", tris, stem))
    return paths


# ---------------------------------------------------------------------------------------------
# heater calibration and MZI tables
# ---------------------------------------------------------------------------------------------
class HeaterCalibration:
    """Calibration of a thermo-optic phase shifter: electrical power (mW) <-> phase (rad).

    A table of ``(power_mw, phase)`` rows, power strictly increasing and phase strictly
    monotonic (increasing or decreasing) with power, interpolated linearly. The phase at the
    lowest power, ``phase_0``, is the shifter's phase at rest. :meth:`to_power_mw` wraps the
    requested phase modulo 2 pi into ``[phase_0, phase_0 + 2 pi)`` (or ``(phase_0 - 2 pi,
    phase_0]`` for a decreasing table), i.e. it never drives more than one period, and raises
    ValueError if the table does not reach that phase.

    :meth:`linear` builds the usual two-point model ``P = ((phase - offset) mod 2 pi) / (2 pi) *
    P_2pi``.
    """

    def __init__(self, power_mw: ArrayLike, phase: ArrayLike,
                 _row_names: Sequence[str] | None = None) -> None:
        pw = _as_array(power_mw, "heater power").reshape(-1)
        ph = _as_array(phase, "heater phase").reshape(-1)
        if pw.shape != ph.shape:
            raise ValueError(f"HeaterCalibration has {pw.size} powers but {ph.size} phases")
        if pw.size < 2:
            raise ValueError(f"HeaterCalibration needs at least 2 rows, got {pw.size}")

        def row(i: int) -> str:
            return _row_names[i] if _row_names is not None else f"row {i + 1}"

        if pw[0] < 0:
            raise ValueError(f"HeaterCalibration {row(0)}: power {pw[0]:g} mW is negative")
        for i in range(1, pw.size):
            if pw[i] <= pw[i - 1]:
                raise ValueError(
                    f"HeaterCalibration {row(i)}: power {pw[i]:g} mW is not above the previous "
                    f"{pw[i - 1]:g} mW; powers must be strictly increasing"
                )
        d = np.diff(ph)
        sign = 1.0 if d[0] > 0 else -1.0
        for i in range(1, pw.size):
            if not d[i - 1] * sign > 0:
                raise ValueError(
                    f"HeaterCalibration is not monotonic: {row(i)} (power {pw[i]:g} mW, phase "
                    f"{ph[i]:.6g} rad) breaks the {'increase' if sign > 0 else 'decrease'} of phase"
                )
        self.power_mw, self.phase, self.direction = pw, ph, sign

    @classmethod
    def linear(cls, p_2pi_mw: float, offset_phase: float = 0.0,
               max_power_mw: float | None = None) -> HeaterCalibration:
        """``P = ((phase - offset_phase) mod 2 pi) / (2 pi) * p_2pi_mw`` (mW).

        Args:
            p_2pi_mw: power (mW) for a phase shift of 2 pi.
            offset_phase: phase (rad) of the shifter at zero power.
            max_power_mw: highest allowed power (mW); phases that need more raise ValueError.
        """
        if not (math.isfinite(p_2pi_mw) and p_2pi_mw > 0):
            raise ValueError(f"p_2pi_mw must be a positive power in mW, got {p_2pi_mw!r}")
        top = float(p_2pi_mw) if max_power_mw is None else min(float(max_power_mw), float(p_2pi_mw))
        if not top > 0:
            raise ValueError(f"max_power_mw must be positive, got {max_power_mw!r}")
        return cls([0.0, top], [offset_phase, offset_phase + TWO_PI * top / p_2pi_mw])

    @classmethod
    def from_csv(cls, path: str | Path) -> HeaterCalibration:
        """Read ``power_mw,phase`` rows (mW, rad); header optional, ``#`` comments skipped."""
        path = Path(path)
        pw, ph, lines = _read_numeric_csv(path, ("power_mw", "phase"))
        return cls(pw, ph, _row_names=[f"{path} line {n}" for n in lines])

    def to_dict(self) -> dict[str, list[float]]:
        """``{"power_mw": [...], "phase": [...]}`` (for JSON)."""
        return {"power_mw": self.power_mw.tolist(), "phase": self.phase.tolist()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Sequence[float]]) -> HeaterCalibration:
        return cls(d["power_mw"], d["phase"])

    def __repr__(self) -> str:
        return (f"HeaterCalibration({self.power_mw.size} rows, {self.power_mw[0]:g}..{self.power_mw[-1]:g}"
                f" mW, phase {self.phase[0]:.4g}..{self.phase[-1]:.4g} rad)")

    def _invert(self, phase: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(power, wrapped phase, out-of-range mask)."""
        p0 = float(self.phase[0])
        if self.direction > 0:
            w = wrap_phase(phase, p0)
            bad = w > self.phase[-1] + _TOL
            pw = np.interp(np.minimum(w, self.phase[-1]), self.phase, self.power_mw)
        else:
            w = p0 - (wrap_phase(-_as_array(phase), -p0) + p0)  # in (p0 - 2 pi, p0]
            w = np.where(w <= p0 - TWO_PI, p0, w)
            bad = w < self.phase[-1] - _TOL
            pw = np.interp(-np.maximum(w, self.phase[-1]), -self.phase, self.power_mw)
        return pw, w, bad

    def _range_error(self, value: float, wrapped: float, count: int, what: str = "phase") -> ValueError:
        return ValueError(
            f"{what} {value:.6g} rad (wrapped to {wrapped:.6g}) is out of the heater calibration's "
            f"range {self.phase[0]:.6g}..{self.phase[-1]:.6g} rad (powers {self.power_mw[0]:g}.."
            f"{self.power_mw[-1]:g} mW; {count} such phases)"
        )

    def to_power_mw(self, phase: ArrayLike) -> np.ndarray:
        """Power (mW, float64, shape of ``phase``) that sets ``phase`` (rad), after the wrap."""
        pw, w, bad = self._invert(phase)
        if np.any(bad):
            k = int(np.flatnonzero(bad.reshape(-1))[0])
            raise self._range_error(float(_as_array(phase).reshape(-1)[k]), float(w.reshape(-1)[k]),
                                    int(bad.sum()))
        return pw

    def to_phase(self, power_mw: ArrayLike) -> np.ndarray:
        """Phase (rad) at ``power_mw`` (mW); ValueError outside the table's powers."""
        p = _as_array(power_mw, "power")
        bad = (p < self.power_mw[0]) | (p > self.power_mw[-1])
        if np.any(bad):
            raise ValueError(
                f"power {p[bad].reshape(-1)[0]:g} mW is outside the calibration "
                f"({self.power_mw[0]:g}..{self.power_mw[-1]:g} mW)"
            )
        return np.interp(p, self.power_mw, self.phase)


_MZI_COLUMNS = ["kind", "mesh", "index", "column", "row", "mode", "theta", "phi", "gamma"]
_POWER_COLUMNS = ["theta_power_mw", "phi_power_mw", "gamma_power_mw"]
_SHIFTERS = ("theta", "phi", "gamma")


def _meshes_of(model_or_meshes: Any) -> list[Any]:
    """The UnitaryMesh list of a MeshPNN, a single mesh or a sequence of meshes."""
    from .mesh import UnitaryMesh

    if isinstance(model_or_meshes, UnitaryMesh):
        return [model_or_meshes]
    meshes = getattr(model_or_meshes, "meshes", model_or_meshes)
    if isinstance(meshes, (Sequence, torch.nn.ModuleList)) and len(meshes) > 0 and all(
        isinstance(m, UnitaryMesh) for m in meshes
    ):
        return list(meshes)
    kind = type(model_or_meshes).__name__
    raise ValueError(f"an MZI table needs a mesh network or UnitaryMesh(es), got {kind} (no MZI meshes)")


def _calibrations(calibration: Any) -> dict[str, HeaterCalibration] | None:
    if calibration is None:
        return None
    if isinstance(calibration, HeaterCalibration):
        return dict.fromkeys(_SHIFTERS, calibration)
    if isinstance(calibration, Mapping):
        unknown = set(calibration) - set(_SHIFTERS)
        missing = set(_SHIFTERS) - set(calibration)
        if unknown or missing:
            raise ValueError(
                f"calibration dict needs exactly the keys theta, phi, gamma (missing: "
                f"{sorted(missing)}, unknown: {sorted(unknown)})"
            )
        return {k: calibration[k] for k in _SHIFTERS}
    raise ValueError(f"calibration must be a HeaterCalibration or a dict of them, got {calibration!r}")


def _powers(cal: HeaterCalibration, values: np.ndarray, label: Callable[[int], str]) -> np.ndarray:
    pw, w, bad = cal._invert(values)
    if np.any(bad):
        k = int(np.flatnonzero(bad)[0])
        raise cal._range_error(float(values[k]), float(w[k]), int(bad.sum()), what=label(k))
    return pw


def _shifter_label(mesh: int, shifter: str, column: list[int], top: list[int]) -> Callable[[int], str]:
    """Names phase shifter ``i`` of a mesh in error messages."""
    if shifter == "gamma":
        return lambda i: f"mesh {mesh} mode {i} {shifter}"
    return lambda i: f"mesh {mesh} MZI {i} (column {column[i]}, row {top[i]}) {shifter}"


def mzi_table_rows(model_or_meshes: Any, calibration: Any = None) -> list[dict[str, Any]]:
    """The records of :func:`export_mzi_table` (one dict per MZI / input phase shifter)."""
    meshes = _meshes_of(model_or_meshes)
    cals = _calibrations(calibration)
    rows: list[dict[str, Any]] = []
    for k, mesh in enumerate(meshes):
        col = mesh.layout.column.tolist()
        top = mesh.layout.top.tolist()
        theta = _as_array(mesh.theta, "theta")
        wrapped = {
            "theta": wrap_phase(theta, 0.0, 2 * TWO_PI),
            "phi": wrap_phase(_as_array(mesh.phi, "phi")),
            "gamma": wrap_phase(_as_array(mesh.gamma, "gamma")),
        }
        powers: dict[str, np.ndarray] = {}
        if cals is not None:
            for s in _SHIFTERS:
                vals = np.mod(wrapped[s], TWO_PI) if s == "theta" else wrapped[s]
                powers[s] = _powers(cals[s], vals, _shifter_label(k, s, col, top))
        for i in range(len(col)):
            r: dict[str, Any] = {"kind": "mzi", "mesh": k, "index": i, "column": col[i], "row": top[i],
                                 "theta": float(wrapped["theta"][i]), "phi": float(wrapped["phi"][i])}
            if cals is not None:
                r["theta_power_mw"] = float(powers["theta"][i])
                r["phi_power_mw"] = float(powers["phi"][i])
            rows.append(r)
        for m in range(mesh.modes):
            r = {"kind": "input_phase", "mesh": k, "mode": m, "gamma": float(wrapped["gamma"][m])}
            if cals is not None:
                r["gamma_power_mw"] = float(powers["gamma"][m])
            rows.append(r)
    return rows


def export_mzi_table(model_or_meshes: Any, out_path: str | Path, calibration: Any = None,
                     fmt: str = "csv") -> Path:
    """Write the phases of every MZI and input phase shifter of a mesh network.

    Args:
        model_or_meshes: a :class:`~photonic_dat.models.MeshPNN`, a UnitaryMesh or a sequence
            of them (mesh ``k`` = position in the sequence).
        out_path: file to write.
        calibration: None, a :class:`HeaterCalibration` for every shifter, or a dict
            ``{"theta": cal, "phi": cal, "gamma": cal}``; adds the power columns. A phase the
            calibration cannot reach raises ValueError naming the mesh, MZI and shifter.
        fmt: ``"csv"`` or ``"json"``.

    Records (one per line of the CSV, one object of the JSON's ``"rows"`` list):

    * ``kind="mzi"``: ``mesh`` (index of the mesh, light meets mesh 0 first), ``index`` (MZI
      position in the mesh's layout order: column by column, then by top mode), ``column``,
      ``row`` (the MZI's top mode; it couples modes ``row`` and ``row + 1``), ``theta`` (rad,
      in ``[0, 4 pi)``: see the module doc), ``phi`` (rad, ``[0, 2 pi)``), and with a
      calibration ``theta_power_mw`` (for ``theta mod 2 pi``), ``phi_power_mw``;
    * ``kind="input_phase"``: ``mesh``, ``mode``, ``gamma`` (rad, ``[0, 2 pi)``, the input phase
      screen, applied before column 0), and with a calibration ``gamma_power_mw``.

    The CSV has the header ``kind,mesh,index,column,row,mode,theta,phi,gamma`` (plus
    ``theta_power_mw,phi_power_mw,gamma_power_mw`` with a calibration); cells that do not
    apply to a record are empty. Floats are written with full precision. The JSON is
    ``{"format": "photonic-dat-mzi-table/1", "version", "units", "meshes": [{"mesh", "modes",
    "layout"}], "calibration": {...} or null, "rows": [...]}``.
    """
    if fmt not in ("csv", "json"):
        raise ValueError(f"fmt={fmt!r}; allowed: csv, json")
    rows = mzi_table_rows(model_or_meshes, calibration)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    cals = _calibrations(calibration)
    if fmt == "csv":
        header = _MZI_COLUMNS + (_POWER_COLUMNS if cals is not None else [])
        with open(out_path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            for r in rows:
                w.writerow([_fmt_float(r[c]) if isinstance(r.get(c), float) else r.get(c, "")
                            for c in header])
        return out_path
    from . import __version__

    meshes = _meshes_of(model_or_meshes)
    doc = {
        "format": MZI_TABLE_FORMAT,
        "version": __version__,
        "units": {"theta": "rad, [0, 4 pi)", "phi": "rad, [0, 2 pi)", "gamma": "rad, [0, 2 pi)",
                  "power": "mW"},
        "meshes": [{"mesh": k, "modes": m.modes, "layout": m.layout.kind} for k, m in enumerate(meshes)],
        "calibration": None if cals is None else {s: c.to_dict() for s, c in cals.items()},
        "rows": rows,
    }
    out_path.write_text(json.dumps(doc, indent=1))
    return out_path


def _table_records(path: Path, fmt: str | None) -> list[dict[str, Any]]:
    fmt = fmt or ("json" if path.suffix.lower() == ".json" else "csv")
    if fmt == "json":
        doc = json.loads(path.read_text())
        if not isinstance(doc, dict) or doc.get("format") != MZI_TABLE_FORMAT:
            raise ValueError(f"{path} is not an MZI table (format tag {MZI_TABLE_FORMAT!r} missing)")
        return list(doc["rows"])
    if fmt != "csv":
        raise ValueError(f"fmt={fmt!r}; allowed: csv, json")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in _MZI_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path} is not an MZI table (columns missing: {', '.join(missing)})")
        return [{k: v for k, v in rec.items() if v not in ("", None)} for rec in reader]


def import_mzi_table(path: str | Path, fmt: str | None = None) -> dict[int, dict[str, torch.Tensor]]:
    """Read an MZI table written by :func:`export_mzi_table` (CSV or JSON, by suffix or ``fmt``).

    Returns ``{mesh index: {"theta", "phi" (per MZI, layout order), "gamma" (per mode),
    "column", "row" (layout positions, int64)}}``; phases float64, as stored (wrapped).
    """
    path = Path(path)
    records = _table_records(path, fmt)
    per: dict[int, dict[str, dict[int, Any]]] = {}
    for n, rec in enumerate(records, start=1):
        try:
            kind, k = rec["kind"], int(rec["mesh"])
            d = per.setdefault(k, {"mzi": {}, "input_phase": {}})
            if kind == "mzi":
                i = int(rec["index"])
                d["mzi"][i] = (int(rec["column"]), int(rec["row"]), float(rec["theta"]), float(rec["phi"]))
            elif kind == "input_phase":
                d["input_phase"][int(rec["mode"])] = float(rec["gamma"])
            else:
                raise ValueError(f"unknown kind {kind!r}")
        except (KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"{path}: bad record {n} ({exc})") from None
    out: dict[int, dict[str, torch.Tensor]] = {}
    for k in sorted(per):
        mzi, gam = per[k]["mzi"], per[k]["input_phase"]
        if sorted(mzi) != list(range(len(mzi))) or sorted(gam) != list(range(len(gam))):
            raise ValueError(f"{path}: mesh {k} has gaps in its MZI indices or modes")
        vals = [mzi[i] for i in range(len(mzi))]
        out[k] = {
            "theta": torch.tensor([v[2] for v in vals], dtype=torch.float64),
            "phi": torch.tensor([v[3] for v in vals], dtype=torch.float64),
            "gamma": torch.tensor([gam[m] for m in range(len(gam))], dtype=torch.float64),
            "column": torch.tensor([v[0] for v in vals], dtype=torch.long),
            "row": torch.tensor([v[1] for v in vals], dtype=torch.long),
        }
    return out


@torch.no_grad()
def apply_mzi_table(model_or_meshes: Any, table: Mapping[int, Mapping[str, torch.Tensor]] | str | Path
                    ) -> None:
    """Load an MZI table (from :func:`import_mzi_table`, or its path) into a mesh network.

    Checks that the table has as many meshes as the model and that every MZI sits at the same
    (column, row) as in the model's layout; ValueError otherwise.
    """
    if isinstance(table, (str, Path)):
        table = import_mzi_table(table)
    meshes = _meshes_of(model_or_meshes)
    if sorted(table) != list(range(len(meshes))):
        raise ValueError(f"the table has meshes {sorted(table)}, the model {len(meshes)} meshes")
    for k, mesh in enumerate(meshes):
        t = table[k]
        if t["theta"].numel() != mesh.layout.n_mzi or t["gamma"].numel() != mesh.modes:
            raise ValueError(
                f"mesh {k}: the table has {t['theta'].numel()} MZIs and {t['gamma'].numel()} modes, "
                f"the model {mesh.layout.n_mzi} MZIs and {mesh.modes} modes"
            )
        if "column" in t and not (torch.equal(t["column"].long(), mesh.layout.column.cpu())
                                  and torch.equal(t["row"].long(), mesh.layout.top.cpu())):
            raise ValueError(f"mesh {k}: the MZI positions differ from the model's {mesh.layout.kind} layout")
        for s in _SHIFTERS:
            p = getattr(mesh, s)
            p.copy_(t[s].to(p.device, p.dtype))


# ---------------------------------------------------------------------------------------------
# self-describing .npz
# ---------------------------------------------------------------------------------------------
def _str_array(s: str) -> np.ndarray:
    return np.array(s, dtype=np.str_)


def export_npz(model: Any, path: str | Path, extra: Mapping[str, Any] | None = None) -> Path:
    """Save every physical parameter of ``model`` with its description, to a ``.npz``.

    Entries (all loadable with ``np.load(path)``, no pickle):

    * ``param/<name>``: each tensor of ``model.physical_params()`` (e.g. ``param/meshes.0.theta``,
      rad), in its own dtype;
    * ``__format__``: ``"photonic-dat-npz/1"``; ``__version__``: the package version;
    * ``__describe__``: ``model.describe()`` as JSON text (geometry, SI units);
    * ``__extra__``: JSON text of the JSON-able values of ``extra``; arrays and tensors of
      ``extra`` go to ``extra/<key>``.
    """
    from . import __version__

    entries: dict[str, np.ndarray] = {}
    for name, p in model.physical_params().items():
        entries[f"param/{name}"] = p.detach().cpu().numpy()
    entries["__format__"] = _str_array(NPZ_FORMAT)
    entries["__version__"] = _str_array(__version__)
    entries["__describe__"] = _str_array(json.dumps(model.describe()))
    plain: dict[str, Any] = {}
    for key, value in (extra or {}).items():
        if not isinstance(key, str):
            raise ValueError(f"extra keys must be strings, got {key!r}")
        if isinstance(value, (torch.Tensor, np.ndarray)):
            entries[f"extra/{key}"] = (value.detach().cpu().numpy() if isinstance(value, torch.Tensor)
                                       else value)
        else:
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                raise ValueError(f"extra[{key!r}] is neither an array nor JSON-serialisable") from None
            plain[key] = value
    entries["__extra__"] = _str_array(json.dumps(plain))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.savez(f, **entries)
    return path


def _open_npz(path: str | Path) -> dict[str, np.ndarray]:
    with np.load(Path(path), allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    tag = str(data.get("__format__", ""))
    if tag != NPZ_FORMAT:
        raise ValueError(f"{path} is not a photonic-dat export (format tag {tag!r}, expected {NPZ_FORMAT!r})")
    return data


def load_npz(path: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """``(describe dict, {parameter name: tensor})`` of a file written by :func:`export_npz`."""
    data = _open_npz(path)
    describe = json.loads(str(data["__describe__"]))
    params = {k[len("param/"):]: torch.from_numpy(v.copy())
              for k, v in data.items() if k.startswith("param/")}
    return describe, params


def load_npz_meta(path: str | Path) -> dict[str, Any]:
    """``{"format", "version", "extra"}`` of an export; ``extra`` merges JSON values and arrays."""
    data = _open_npz(path)
    extra: dict[str, Any] = json.loads(str(data["__extra__"]))
    extra.update({k[len("extra/"):]: v for k, v in data.items() if k.startswith("extra/")})
    return {"format": str(data["__format__"]), "version": str(data["__version__"]), "extra": extra}


_MODEL_KINDS = {"mesh": ("photonic_dat.models.mesh_pnn", "MeshPNN"),
                "diffractive": ("photonic_dat.models.diffractive", "DiffractivePNN")}


def model_from_describe(describe: Mapping[str, Any]) -> Any:
    """A fresh network with the geometry of ``describe`` (a ``model.describe()`` dict).

    The keys that the network's constructor accepts are passed to it (derived entries such as
    ``padded_size`` are ignored). ValueError for an unknown ``kind``.
    """
    import importlib

    kind = describe.get("kind")
    if kind not in _MODEL_KINDS:
        raise ValueError(f"cannot rebuild a model of kind {kind!r}; known kinds: {', '.join(_MODEL_KINDS)}")
    module, cls_name = _MODEL_KINDS[kind]
    try:
        cls = getattr(importlib.import_module(module), cls_name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"model kind {kind!r} is not available in this installation ({exc})") from None
    accepted = set(inspect.signature(cls).parameters)
    return cls(**{k: v for k, v in describe.items() if k in accepted})


def import_model(path: str | Path) -> Any:
    """Rebuild the network saved by :func:`export_npz`, with its physical parameters loaded."""
    describe, params = load_npz(path)
    model = model_from_describe(describe)
    own = model.physical_params()
    if set(own) != set(params):
        raise ValueError(
            f"{path}: parameters {sorted(set(params) ^ set(own))} do not match the rebuilt "
            f"{describe.get('kind')} model"
        )
    for name, p in own.items():
        if tuple(p.shape) != tuple(params[name].shape):
            raise ValueError(f"{path}: parameter {name} has shape {tuple(params[name].shape)}, "
                             f"the rebuilt model {tuple(p.shape)}")
    model.load_physical_params(params)
    return model


# ---------------------------------------------------------------------------------------------
# finished runs
# ---------------------------------------------------------------------------------------------
_RUN_OPTIONS = {
    "npz": {"extra"},
    "mzi-csv": {"calibration", "p_2pi_mw", "offset_phase", "max_power_mw"},
    "mzi-json": {"calibration", "p_2pi_mw", "offset_phase", "max_power_mw"},
    "slm-png": {"lut", "bits", "lut_bits", "clip"},
    "height": {"refractive_index", "wavelength", "pixel_pitch", "base_thickness", "stl", "stl_units",
               "stl_format"},
}


def _phase_masks(model: Any) -> dict[str, torch.Tensor]:
    """The 2-D phase tensors of a model's physical parameters (its phase masks)."""
    return {k: v for k, v in model.physical_params().items() if v.ndim == 2}


def export_run(run_dir: str | Path, fmt: str, out_dir: str | Path, **options: Any) -> list[Path]:
    """Export a finished training run (``photonic_dat.training.deploy.load_run``) for the lab.

    Args:
        run_dir: the run directory (config.yaml, selected.pt, checkpoint.pt).
        fmt: ``"npz"`` (any model), ``"mzi-csv"`` / ``"mzi-json"`` (mesh models),
            ``"slm-png"`` / ``"height"`` (models with 2-D phase masks, e.g. diffractive).
        out_dir: folder for the files (created if needed).
        options: ``which`` (``"selected"``, default, or ``"final"``) and per format:

            * npz: ``extra`` (dict added to the file; ``run_dir``, ``which`` and the run's
              config are always added) -> ``model.npz``;
            * mzi-csv / mzi-json: ``calibration`` (HeaterCalibration, dict of them, or a
              ``power_mw,phase`` CSV path) or ``p_2pi_mw`` (mW) with optional ``offset_phase``
              (rad) and ``max_power_mw`` -> ``mzi_table.csv`` / ``mzi_table.json``;
            * slm-png: ``lut`` (PhaseLUT or ``level,phase`` CSV path; default the linear LUT
              over 2 pi), ``lut_bits`` (bit depth of a CSV LUT / the default LUT, default 8),
              ``bits`` (PNG depth 8 / 16), ``clip`` -> ``<mask name>.png``;
            * height: ``refractive_index`` (required), ``wavelength`` and ``pixel_pitch`` (m,
              default: the model's), ``base_thickness`` (m), ``stl``, ``stl_units``,
              ``stl_format`` ->
              ``<mask name>.npy`` / ``.stl``.

    Also writes ``export.json`` (format, run, model description, version, files) and returns
    the paths written, ``export.json`` last. ValueError (one line) for an unknown format or
    option, or a format that does not fit the model kind.
    """
    from . import __version__

    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; allowed: {', '.join(EXPORT_FORMATS)}")
    options = dict(options)
    which = options.pop("which", "selected")
    if which not in ("selected", "final"):
        raise ValueError(f"which={which!r}; allowed: selected, final")
    unknown = set(options) - _RUN_OPTIONS[fmt]
    if unknown:
        raise ValueError(f"unknown option(s) for format {fmt}: {', '.join(sorted(unknown))}; "
                         f"allowed: which, {', '.join(sorted(_RUN_OPTIONS[fmt]))}")
    from .training.deploy import load_run

    cfg, selected, final = load_run(run_dir)
    model = selected if which == "selected" else final
    describe = model.describe()
    kind = describe.get("kind")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    if fmt == "npz":
        extra = {"run_dir": str(run_dir), "which": which, "config": cfg.to_dict(),
                 **(options.get("extra") or {})}
        files = [export_npz(model, out / "model.npz", extra=extra)]
    elif fmt in ("mzi-csv", "mzi-json"):
        if not hasattr(model, "meshes"):
            raise ValueError(f"format {fmt} needs a mesh model; this run's model is {kind!r} "
                             "(use slm-png, height or npz)")
        cal = options.get("calibration")
        if cal is not None and "p_2pi_mw" in options:
            raise ValueError("give either calibration or p_2pi_mw, not both")
        if isinstance(cal, (str, Path)):
            cal = HeaterCalibration.from_csv(cal)
        elif "p_2pi_mw" in options:
            cal = HeaterCalibration.linear(float(options["p_2pi_mw"]),
                                           float(options.get("offset_phase", 0.0)),
                                           options.get("max_power_mw"))
        elif "offset_phase" in options or "max_power_mw" in options:
            raise ValueError("offset_phase / max_power_mw need p_2pi_mw")
        ext = fmt.split("-")[1]
        files = [export_mzi_table(model, out / f"mzi_table.{ext}", calibration=cal, fmt=ext)]
    else:
        masks = _phase_masks(model)
        if not masks:
            raise ValueError(f"format {fmt} needs a model with 2-D phase masks; this run's model is "
                             f"{kind!r} (use {'mzi-csv, mzi-json' if kind == 'mesh' else 'npz'} or npz)")
        if fmt == "slm-png":
            lut = options.get("lut")
            lut_bits = int(options.get("lut_bits", 8))
            clip = bool(options.get("clip", False))
            if lut is None:
                lut = PhaseLUT.linear(bits=lut_bits, clip=clip)
            elif isinstance(lut, (str, Path)):
                lut = PhaseLUT.from_csv(lut, bits=lut_bits, clip=clip)
            elif "clip" in options:  # a copy: the caller's LUT is left as it is
                lut = PhaseLUT(lut.levels, lut.phases, bits=lut.bits, clip=clip)
            files = export_slm_bitmaps(masks, lut, out, bits=options.get("bits"))
        else:
            if "refractive_index" not in options:
                raise ValueError("format height needs refractive_index (of the plate material, > 1)")
            wavelength = options.get("wavelength", describe.get("wavelength"))
            pitch = options.get("pixel_pitch", describe.get("pitch"))
            if wavelength is None or pitch is None:
                raise ValueError(f"the {kind!r} model has no wavelength / pitch: "
                                 "pass wavelength and pixel_pitch")
            kw = {k: options[k] for k in ("base_thickness", "stl", "stl_units", "stl_format") if k in options}
            files = export_height_maps(masks, float(wavelength), float(options["refractive_index"]), out,
                                       float(pitch), **kw)
    manifest = {
        "format": fmt, "run_dir": str(run_dir), "which": which, "version": __version__,
        "describe": describe, "files": [p.name for p in files],
        "options": {k: (v if isinstance(v, (int, float, str, bool)) or v is None else repr(v))
                    for k, v in options.items() if k != "extra"},
    }
    man = out / "export.json"
    man.write_text(json.dumps(manifest, indent=1))
    return [*files, man]
