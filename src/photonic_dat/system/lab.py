"""A template for a real diffractive setup: SLMs for the masks, cameras at the planes.

This module is the adapter between the trainers (which know only the
:class:`~photonic_dat.system.protocol.PhysicalSystem` protocol) and a lab bench with

* one phase SLM per diffractive layer (or one SLM whose area is tiled by the layers),
* an input modulator (SLM or DMD) that displays the input amplitude,
* a camera at the detector plane and, optionally, cameras at internal planes (the field
  arriving at a mask, for DAT with internal states).

Everything that touches hardware is in :class:`LabDevices`: three methods to implement with
your drivers (``upload_phase``, ``show_input``, ``grab_frame``), two optional ones
(``set_exposure``, ``close``); see ``docs/lab_adapter.md``. :class:`CameraSLMSystem` does the rest:
phases -> SLM gray levels through a :class:`~photonic_dat.export.PhaseLUT`, one input at a time
on the modulator, camera frames -> the model's intensity units through a :class:`Calibration`,
and the query counter. :class:`SimulatedLabDevices` implements the device calls with the
simulator (a hidden error realisation plus a camera model), so the whole chain is tested end to
end without a lab.

Plane numbering is the model's (:class:`~photonic_dat.models.DiffractivePNN`): planes
``0 .. L-1`` are the fields *arriving* at masks ``0 .. L-1``, plane ``L`` is the detector plane.

Camera -> model units (:meth:`Calibration.to_model`)::

    counts (H, W) - dark  ->  crop box (x0, y0, x1, y1)  ->  optional flips
                          ->  resample to n x n  ->  x scale  ->  clamp >= 0

The crop box is the image of the model's ``n x n`` plane on the camera, in camera pixels,
half-open like slices (``frame[y0:y1, x0:x1]``). Resampling is torch ``interpolate`` with mode
``"area"`` (the mean of the camera pixels in each model pixel) when the crop is at least
``n`` pixels in both directions, else ``"bilinear"`` (``align_corners=False``). ``scale`` is the
model intensity per dark-subtracted count (fitted with :meth:`Calibration.fit_scale`).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import DiffractiveErrorSpec, ErrorSpec
from ..export import PhaseLUT
from ..optics.detectors import DetectorLayout
from .protocol import Measurement
from .simulated import SimulatedSystem

__all__ = [
    "Calibration", "CameraSLMSystem", "LabDevices", "SimulatedLabDevices", "auto_exposure",
    "calibrate", "calibration_images", "displayed_model", "place_tile",
]

Crop = tuple[int, int, int, int]


# ---------------------------------------------------------------------------------------------
# the device calls: fill these in for your lab
# ---------------------------------------------------------------------------------------------
class LabDevices(ABC):
    """The hardware calls of a camera + SLM diffractive setup (implement one subclass per lab).

    Every call blocks until the device has done it (an SLM upload returns once the liquid
    crystal has settled; a frame grab returns the exposed frame). Errors are raised as
    exceptions; :class:`~photonic_dat.system.RobustSystem` retries them.
    """

    @abstractmethod
    def upload_phase(self, layer: int, levels: np.ndarray) -> None:
        """FILL IN: display gray ``levels`` (``(n, n)`` uint8/uint16, one per mask pixel, row 0
        at the top) on the SLM of mask ``layer`` (0-based), e.g. with :func:`place_tile` into a
        full-SLM bitmap, then wait for the SLM to settle."""

    @abstractmethod
    def show_input(self, amplitude: np.ndarray) -> None:
        """FILL IN: display the input field amplitude (``(n, n)`` float32, >= 0, at most 1 for
        images encoded by the model) on the input modulator. A zero array means no light (used
        for dark frames)."""

    @abstractmethod
    def grab_frame(self, plane: int) -> np.ndarray:
        """FILL IN: expose and read the camera at ``plane`` (0..L, L = detector plane); return the
        raw frame ``(H, W)`` in counts (any integer or float dtype), no processing."""

    def set_exposure(self, plane: int, exposure_s: float) -> None:
        """OPTIONAL: set the exposure time of the camera at ``plane``. Counts must stay linear in
        exposure x intensity (the calibration's scale holds for the exposure it was fitted at)."""
        raise NotImplementedError(f"{type(self).__name__} has no set_exposure")

    def close(self) -> None:
        """OPTIONAL: release the devices (called by :meth:`CameraSLMSystem.close`)."""
        return None


def place_tile(canvas: np.ndarray, levels: np.ndarray, origin: tuple[int, int],
               replicate: int = 1) -> np.ndarray:
    """Write ``levels`` into a full-SLM bitmap ``canvas`` at ``origin = (row, col)``, in place.

    Each level becomes a ``replicate x replicate`` block of SLM pixels (an SLM pixel smaller than
    a mask pixel). For one SLM shared by all layers, keep one canvas and place every layer's
    tile at its own origin before uploading the canvas. Returns ``canvas``.
    """
    levels = np.asarray(levels)
    r = int(replicate)
    if r < 1:
        raise ValueError(f"replicate={replicate!r} must be a positive integer")
    tile = np.repeat(np.repeat(levels, r, axis=0), r, axis=1) if r > 1 else levels
    row, col = (int(v) for v in origin)
    h, w = tile.shape
    if row < 0 or col < 0 or row + h > canvas.shape[0] or col + w > canvas.shape[1]:
        raise ValueError(f"a {h}x{w} tile at (row {row}, col {col}) does not fit the "
                         f"{canvas.shape[0]}x{canvas.shape[1]} SLM")
    canvas[row:row + h, col:col + w] = tile
    return canvas


# ---------------------------------------------------------------------------------------------
# calibration: camera counts -> model intensity
# ---------------------------------------------------------------------------------------------
def _as_float_frames(frames: Any) -> np.ndarray:
    if isinstance(frames, torch.Tensor):
        frames = frames.detach().cpu().numpy()
    return np.asarray(frames, dtype=np.float64)


@dataclasses.dataclass(frozen=True, eq=False)
class Calibration:
    """Geometry and intensity scale of one camera (see the module doc for the mapping).

    Args:
        frame_shape: ``(rows, cols)`` of the camera frame.
        crop: ``(x0, y0, x1, y1)``, camera pixels, half-open: where the model's ``n x n`` plane
            lands on the camera (``x`` = column, ``y`` = row).
        scale: model intensity per dark-subtracted count (> 0).
        dark: dark frame in counts (a number or a ``frame_shape`` array), subtracted first.
        flip_rows, flip_cols: mirror the cropped image (rows upside down / columns left-right)
            when the imaging optics mirror the plane.
        partial: allow a crop that reaches outside the frame (a camera that sees only part of
            the plane, e.g. only the detector regions); unseen model pixels read 0. Check with
            :meth:`check_layout` that every detector region is seen.

    Raises:
        ValueError (one line): an empty crop, a crop outside the frame (unless ``partial``), a
        non-positive or non-finite scale, a dark frame of the wrong shape.
    """

    frame_shape: tuple[int, int]
    crop: Crop
    scale: float = 1.0
    dark: Any = 0.0
    flip_rows: bool = False
    flip_cols: bool = False
    partial: bool = False

    def __post_init__(self) -> None:
        try:
            rows, cols = (int(v) for v in self.frame_shape)
        except (TypeError, ValueError):
            raise ValueError(f"Calibration.frame_shape={self.frame_shape!r} must be (rows, cols)") from None
        if rows < 1 or cols < 1:
            raise ValueError(f"Calibration.frame_shape={self.frame_shape!r} must be positive")
        try:
            x0, y0, x1, y1 = (int(v) for v in self.crop)
        except (TypeError, ValueError):
            raise ValueError(f"Calibration.crop={self.crop!r} must be 4 integers (x0, y0, x1, y1)") from None
        if x1 <= x0 or y1 <= y0:
            raise ValueError(f"Calibration.crop={(x0, y0, x1, y1)} is empty (need x0 < x1 and y0 < y1)")
        inside = x0 >= 0 and y0 >= 0 and x1 <= cols and y1 <= rows
        overlaps = x0 < cols and y0 < rows and x1 > 0 and y1 > 0
        if not overlaps or (not inside and not self.partial):
            raise ValueError(
                f"Calibration.crop={(x0, y0, x1, y1)} lies outside the {rows}x{cols} camera frame "
                f"(x in 0..{cols}, y in 0..{rows}); fit it with Calibration.fit_crop"
                + (" or pass partial=True" if overlaps else ""))
        scale = float(self.scale)
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"Calibration.scale={self.scale!r} must be a positive finite number "
                             "(model intensity per count)")
        dark = self.dark
        if isinstance(dark, bool):
            raise ValueError("Calibration.dark must be a number of counts or a dark frame, not a bool")
        if np.ndim(dark) == 0:
            dark = float(dark)
            ok = math.isfinite(dark)
        else:
            dark = _as_float_frames(dark)
            if dark.shape != (rows, cols):
                raise ValueError(f"Calibration.dark has shape {dark.shape}, the frames {(rows, cols)}")
            ok = bool(np.all(np.isfinite(dark)))
        if not ok:
            raise ValueError("Calibration.dark contains NaN or infinite values")
        object.__setattr__(self, "frame_shape", (rows, cols))
        object.__setattr__(self, "crop", (x0, y0, x1, y1))
        object.__setattr__(self, "scale", scale)
        object.__setattr__(self, "dark", dark)

    # -- mapping ------------------------------------------------------------------------------
    def replace(self, **changes: Any) -> Calibration:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def _crop_frames(self, frames: np.ndarray) -> np.ndarray:
        """Dark-subtracted counts inside the crop ``(..., y1 - y0, x1 - x0)`` (0 outside the frame)."""
        x0, y0, x1, y1 = self.crop
        rows, cols = self.frame_shape
        sub = frames - self.dark
        if self.partial:
            pad = [(0, 0)] * (sub.ndim - 2) + [(max(0, -y0), max(0, y1 - rows)),
                                              (max(0, -x0), max(0, x1 - cols))]
            sub = np.pad(sub, pad)
            x0, x1 = x0 + pad[-1][0], x1 + pad[-1][0]
            y0, y1 = y0 + pad[-2][0], y1 + pad[-2][0]
        out = sub[..., y0:y1, x0:x1]
        if self.flip_rows:
            out = out[..., ::-1, :]
        if self.flip_cols:
            out = out[..., :, ::-1]
        return out

    def _resample(self, img: np.ndarray, n: int) -> torch.Tensor:
        t = torch.from_numpy(np.ascontiguousarray(img)).to(torch.float64)
        lead = t.shape[:-2]
        t = t.reshape(-1, 1, *t.shape[-2:])
        h, w = t.shape[-2:]
        if h >= n and w >= n:
            t = nn.functional.interpolate(t, size=(n, n), mode="area")
        else:
            t = nn.functional.interpolate(t, size=(n, n), mode="bilinear", align_corners=False)
        return t.reshape(*lead, n, n)

    def to_model(self, frames: Any, n: int, *, scaled: bool = True, clamp: bool = True) -> torch.Tensor:
        """Camera frames ``(..., H, W)`` (counts) -> model intensity ``(..., n, n)`` float32.

        ``scaled=False`` leaves out the intensity scale (dark-subtracted, resampled counts: what
        :meth:`fit_scale` takes). ``clamp`` sets negative values (noise around the dark level)
        to 0.
        """
        arr = _as_float_frames(frames)
        if arr.ndim < 2 or arr.shape[-2:] != self.frame_shape:
            raise ValueError(f"camera frame has shape {arr.shape}, the calibration expects "
                             f"(..., {self.frame_shape[0]}, {self.frame_shape[1]})")
        out = self._resample(self._crop_frames(arr), int(n))
        if scaled:
            out = out * self.scale
        if clamp:
            out = out.clamp(min=0)
        return out.to(torch.float32)

    def observed(self, n: int) -> torch.Tensor:
        """``(n, n)`` bool: model pixels fully inside the camera frame (all True unless partial)."""
        rows, cols = self.frame_shape
        ones = Calibration((rows, cols), self.crop, 1.0, 0.0, self.flip_rows, self.flip_cols,
                           self.partial)
        cover = ones.to_model(np.ones((rows, cols)), n, clamp=False)
        return cover >= 1.0 - 1e-6

    def camera_rect(self, region: tuple[int, int, int, int], n: int) -> tuple[float, float, float, float]:
        """A model-pixel rectangle ``(x0, y0, x1, y1)`` in camera pixel coordinates (floats)."""
        x0, y0, x1, y1 = region
        cx0, cy0, cx1, cy1 = self.crop
        sx, sy = (cx1 - cx0) / n, (cy1 - cy0) / n
        if self.flip_cols:
            x0, x1 = n - x1, n - x0
        if self.flip_rows:
            y0, y1 = n - y1, n - y0
        return (cx0 + x0 * sx, cy0 + y0 * sy, cx0 + x1 * sx, cy0 + y1 * sy)

    def check_layout(self, layout: DetectorLayout, n: int, min_pixels: float = 2.0
                     ) -> list[tuple[float, float, float, float]]:
        """Check that every detector region lands inside the calibrated, observed area.

        Each region (model pixels) must lie on model pixels the camera sees (:meth:`observed`)
        and span at least ``min_pixels`` camera pixels per side (so the camera resolves it).
        Returns the regions in camera pixel coordinates (for drawing them on a frame); raises
        ValueError (one line) naming the first bad region.
        """
        if layout.n != int(n):
            raise ValueError(f"the detector layout is for a {layout.n}x{layout.n} plane, the calibration "
                             f"maps to {n}x{n}")
        seen = self.observed(n)
        rects = []
        for r, region in enumerate(layout.regions):
            x0, y0, x1, y1 = region
            rect = self.camera_rect(region, n)
            if not bool(seen[y0:y1, x0:x1].all()):
                raise ValueError(
                    f"detector region {r} {region} (camera x {rect[0]:.1f}..{rect[2]:.1f}, y "
                    f"{rect[1]:.1f}..{rect[3]:.1f}) is not inside the {self.frame_shape[0]}x"
                    f"{self.frame_shape[1]} camera frame; move the camera or fit the crop again")
            side = min(rect[2] - rect[0], rect[3] - rect[1])
            if side < min_pixels:
                raise ValueError(f"detector region {r} {region} spans {side:.2f} camera pixels (< "
                                 f"{min_pixels:g}); the camera does not resolve it: magnify the image")
            rects.append(rect)
        return rects

    # -- fitting ------------------------------------------------------------------------------
    @staticmethod
    def dark_from_frames(frames: Any) -> np.ndarray:
        """The dark frame: mean of frames ``(K, H, W)`` taken without light (float64)."""
        arr = _as_float_frames(frames)
        if arr.ndim == 2:
            arr = arr[None]
        if arr.ndim != 3 or arr.shape[0] < 1:
            raise ValueError(f"dark frames must be (K, H, W), got shape {arr.shape}")
        return arr.mean(axis=0)

    @staticmethod
    def fit_crop(frames: Any, templates: Any, size: int | tuple[int, int], dark: Any = 0.0) -> Crop:
        """The crop box that best aligns predicted plane intensities with camera frames.

        Args:
            frames: raw frames ``(K, H, W)`` (or one ``(H, W)``) of K probe inputs.
            templates: the model's intensities ``(K, n, n)`` for the same probes (the ideal
                model programmed with the phases the SLMs display).
            size: side of the crop in camera pixels, ``int`` or ``(rows, cols)``: ``n`` times the
                camera pixels per model pixel (from the imaging magnification and the pixel
                pitches).
            dark: dark frame (or level) subtracted before matching.

        Each template is resampled to ``size`` (bilinear); the offset that maximises the
        normalised cross-correlation with the dark-subtracted frames, summed over the probes,
        among all crops inside the frame (computed with FFTs) gives
        ``(x0, y0, x0 + cols, y0 + rows)``.
        """
        f = _as_float_frames(frames)
        t = _as_float_frames(templates)
        if f.ndim == 2:
            f = f[None]
        if t.ndim == 2:
            t = t[None]
        if f.ndim != 3 or t.ndim != 3 or f.shape[0] != t.shape[0]:
            raise ValueError(f"fit_crop needs frames (K, H, W) and templates (K, n, n) for the same K "
                             f"probes, got {f.shape} and {t.shape}")
        h, w = (int(size), int(size)) if np.isscalar(size) else (int(size[0]), int(size[1]))
        rows, cols = f.shape[1:]
        if not (1 <= h <= rows and 1 <= w <= cols):
            raise ValueError(f"crop size {h}x{w} does not fit the {rows}x{cols} camera frame")
        f = torch.from_numpy(f - dark)
        tt = torch.from_numpy(t)[:, None]
        up = nn.functional.interpolate(tt, size=(h, w), mode="bilinear", align_corners=False)[:, 0]
        up = up - up.mean(dim=(-2, -1), keepdim=True)
        up = up / up.flatten(1).norm(dim=1).clamp(min=1e-300)[:, None, None]

        def window_sums(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            """sum over each h x w window of a * (b placed at the window), all offsets."""
            spec = torch.fft.rfft2(a) * torch.fft.rfft2(b, s=(rows, cols)).conj()
            return torch.fft.irfft2(spec, s=(rows, cols))[..., : rows - h + 1, : cols - w + 1]

        box = torch.ones(h, w, dtype=f.dtype)
        corr = window_sums(f, up)
        n_px = h * w
        var = window_sums(f * f, box) - window_sums(f, box) ** 2 / n_px
        ncc = corr / var.clamp(min=1e-12 * float(var.max().clamp(min=1e-300))).sqrt()
        score = ncc.sum(0)
        idx = int(torch.argmax(score))
        y0, x0 = divmod(idx, score.shape[1])
        return (x0, y0, x0 + w, y0 + h)

    @staticmethod
    def fit_scale(measured: Any, model_intensity: Any, method: str = "lstsq") -> float:
        """The scale ``s`` with ``s * measured ~ model_intensity`` (same shapes).

        ``measured`` are dark-subtracted, resampled counts (``to_model(..., scaled=False)``).
        ``method="lstsq"``: least squares over all pixels, ``s = <m, I> / <m, m>``;
        ``"energy"``: ratio of the total energies, ``s = sum(I) / sum(m)`` (insensitive to how
        the hidden errors redistribute light within the plane). Raises ValueError (one line)
        for mismatched shapes, frames without signal, or a non-positive fit.
        """
        m = _as_float_frames(measured)
        i = _as_float_frames(model_intensity)
        if m.shape != i.shape:
            raise ValueError(f"fit_scale: measured {m.shape} and model intensity {i.shape} differ in shape")
        if method == "lstsq":
            den, num = float((m * m).sum()), float((m * i).sum())
        elif method == "energy":
            den, num = float(m.sum()), float(i.sum())
        else:
            raise ValueError(f"fit_scale method={method!r}; allowed: lstsq, energy")
        if not (math.isfinite(den) and den > 0):
            raise ValueError("fit_scale: the measured frames hold no signal above the dark level; "
                             "check the light source, the exposure and the dark frame")
        s = num / den
        if not (math.isfinite(s) and s > 0):
            raise ValueError(f"fit_scale: the fitted scale {s:g} is not positive; the frames do not "
                             "match the model (check the crop)")
        return s

    # -- persistence --------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the calibration to an ``.npz`` file (dark frame included)."""
        path = Path(path)
        np.savez(path, frame_shape=np.array(self.frame_shape), crop=np.array(self.crop),
                 scale=np.array(self.scale), dark=np.asarray(self.dark, dtype=np.float64),
                 flips=np.array([self.flip_rows, self.flip_cols, self.partial]))
        return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")

    @classmethod
    def load(cls, path: str | Path) -> Calibration:
        with np.load(path) as z:
            dark = z["dark"]
            flips = [bool(v) for v in z["flips"]]
            return cls(tuple(int(v) for v in z["frame_shape"]), tuple(int(v) for v in z["crop"]),
                       float(z["scale"]), float(dark) if dark.ndim == 0 else dark, *flips)


# ---------------------------------------------------------------------------------------------
# the PhysicalSystem
# ---------------------------------------------------------------------------------------------
def _per_plane(value: Any, planes: Iterable[int], what: str) -> dict[int, Any]:
    planes = list(planes)
    if isinstance(value, Mapping):
        missing = [p for p in planes if p not in value]
        if missing:
            raise ValueError(f"{what} has no entry for plane(s) {missing}")
        return {p: value[p] for p in planes}
    return {p: value for p in planes}


class CameraSLMSystem:
    """A :class:`~photonic_dat.system.PhysicalSystem` for a camera + SLM diffractive setup.

    Args:
        devices: the hardware calls (:class:`LabDevices`).
        lut: the SLM lookup table (one for all layers, or one per layer).
        calibration: the camera calibration (one for every camera, or ``{plane: Calibration}``).
        n: pixels per side of the model's planes (mask and camera planes).
        layers: number of masks ``L``; plane ``L`` is the detector plane.
        planes_with_cameras: planes that have a camera; default the detector plane only. With
            cameras at every plane ``0..L``, ``measure(x, internal=True)`` returns the internal
            planes (DAT ``internal_states=unitary``); otherwise it returns ``internal=None``.
        max_counts: camera full scale (e.g. 65535); when given, the fraction of cropped pixels at
            or above it is kept in :attr:`last_saturated_fraction` and a warning is issued once
            above 1 %.
        skip_unchanged: do not upload a layer whose gray levels did not change since this
            system's last upload (off by default: a re-programming after a device reset, e.g.
            by RobustSystem, must upload again; anything else uploading to the SLMs, like
            :func:`calibrate`, makes the record stale).
        exposure_s: if given (seconds, one value or ``{plane: s}``), set on every camera once.

    Attributes:
        queries: samples measured so far (settable, as the training loop expects).
        last_levels: ``{layer: levels}`` last uploaded.
        uploads: number of SLM uploads made.
    """

    def __init__(self, devices: LabDevices, lut: PhaseLUT | Sequence[PhaseLUT],
                 calibration: Calibration | Mapping[int, Calibration], n: int, layers: int,
                 planes_with_cameras: Iterable[int] | None = None, *, max_counts: float | None = None,
                 skip_unchanged: bool = False, exposure_s: float | Mapping[int, float] | None = None
                 ) -> None:
        self.devices, self.n, self.layers = devices, int(n), int(layers)
        if self.layers < 1 or self.n < 1:
            raise ValueError(f"CameraSLMSystem needs n >= 1 and layers >= 1, got n={n}, layers={layers}")
        cams = sorted({int(p) for p in (planes_with_cameras if planes_with_cameras is not None
                                        else [self.layers])})
        bad = [p for p in cams if not 0 <= p <= self.layers]
        if bad:
            raise ValueError(f"planes_with_cameras {bad} out of range 0..{self.layers} "
                             f"(0..{self.layers - 1}: mask planes, {self.layers}: detector)")
        if self.layers not in cams:
            raise ValueError(f"planes_with_cameras={cams} lacks the detector plane {self.layers}")
        self.cameras = tuple(cams)
        self.calibration = _per_plane(calibration, cams, "calibration")
        luts = list(lut) if isinstance(lut, Sequence) else [lut] * self.layers
        if len(luts) != self.layers:
            raise ValueError(f"got {len(luts)} LUTs for {self.layers} layers")
        self.luts: list[PhaseLUT] = luts
        self.max_counts = max_counts
        self.skip_unchanged = bool(skip_unchanged)
        self.queries = 0
        self.uploads = 0
        self.last_levels: dict[int, np.ndarray] = {}
        self.last_saturated_fraction: float | None = None
        self._warned: set[str] = set()
        if exposure_s is not None:
            for plane, e in _per_plane(exposure_s, cams, "exposure_s").items():
                devices.set_exposure(plane, float(e))

    @classmethod
    def for_model(cls, model: Any, devices: LabDevices, lut: PhaseLUT | Sequence[PhaseLUT],
                  calibration: Calibration | Mapping[int, Calibration], **kwargs: Any) -> CameraSLMSystem:
        """A system sized for a :class:`~photonic_dat.models.DiffractivePNN` (``n``, ``layers``);
        checks that the model's detector regions land inside the detector camera's calibrated
        area (:meth:`Calibration.check_layout`)."""
        system = cls(devices, lut, calibration, model.n, model.layers, **kwargs)
        system.calibration[system.layers].check_layout(model.layout, model.n)
        return system

    # -- the protocol -------------------------------------------------------------------------
    def _mask_layers(self, params: Mapping[str, torch.Tensor]) -> dict[int, torch.Tensor]:
        masks = [(name, p) for name, p in params.items() if p.ndim == 2]
        numbers = [re.findall(r"\d+", name) for name, _ in masks]
        index = [int(d[0]) for d in numbers] if all(numbers) else list(range(len(masks)))
        if len(set(index)) != len(index):
            index = list(range(len(masks)))
        out = dict(zip(index, (p for _, p in masks), strict=True))
        if sorted(out) != list(range(self.layers)):
            raise KeyError(f"expected {self.layers} phase masks (layers 0..{self.layers - 1}), got "
                           f"{[name for name, _ in masks]}")
        return out

    def program(self, params: Mapping[str, torch.Tensor]) -> None:
        """Phase masks (rad, ``(n, n)`` each, e.g. ``model.physical_params()``) -> gray levels
        through the LUT -> :meth:`LabDevices.upload_phase`, layer by layer."""
        for layer, phase in sorted(self._mask_layers(params).items()):
            if tuple(phase.shape) != (self.n, self.n):
                raise ValueError(f"mask {layer} has shape {tuple(phase.shape)}, expected {(self.n, self.n)}")
            try:
                levels = self.luts[layer].to_levels(phase.detach())
            except ValueError as exc:
                raise ValueError(f"mask {layer}: {exc}") from None
            last = self.last_levels.get(layer)
            if self.skip_unchanged and last is not None and np.array_equal(last, levels):
                continue
            self.devices.upload_phase(layer, levels)
            self.last_levels[layer] = levels
            self.uploads += 1

    def _amplitudes(self, x: torch.Tensor) -> np.ndarray:
        x = x.detach()
        if x.ndim != 3 or tuple(x.shape[1:]) != (self.n, self.n):
            raise ValueError(f"inputs must be (batch, {self.n}, {self.n}), got {tuple(x.shape)}")
        if x.is_complex():
            amp = x.abs()
            tol = 1e-6 * float(amp.max()) if amp.numel() else 0.0
            if amp.numel() and (float(x.imag.abs().max()) > tol or float(x.real.min()) < -tol):
                raise ValueError("the input field has a phase; the input modulator displays an "
                                 "amplitude only (encode inputs as real, non-negative amplitudes)")
        else:
            amp = x
        return amp.to("cpu", torch.float32).numpy()

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(message, RuntimeWarning, stacklevel=3)

    def measure(self, x: torch.Tensor, *, internal: bool = False) -> Measurement:
        """Show each input amplitude ``|x[b]|``, grab the cameras, convert to model intensity.

        Returns a Measurement with ``output`` ``(batch, n, n)`` and, when ``internal`` and every
        plane has a camera, ``internal`` = ``L`` tensors ``(batch, n, n)`` (planes ``0..L-1``).
        """
        amps = self._amplitudes(x)
        planes = [self.layers]
        inner_ok = internal and all(p in self.cameras for p in range(self.layers))
        if internal and not inner_ok:
            self._warn_once("internal", f"internal planes requested, but only planes {self.cameras} "
                                        "have cameras: returning internal=None (use "
                                        "dat.internal_states=none)")
        if inner_ok:
            planes = list(range(self.layers + 1))
        frames: dict[int, list[np.ndarray]] = {p: [] for p in planes}
        for amp in amps:
            self.devices.show_input(amp)
            for p in planes:
                frames[p].append(np.asarray(self.devices.grab_frame(p)))
        stacked = {p: np.stack(f) if f else np.zeros((0, *self.calibration[p].frame_shape))
                   for p, f in frames.items()}
        self._saturation(stacked)
        out = {p: self.calibration[p].to_model(s, self.n).to(x.device) for p, s in stacked.items()}
        self.queries += int(x.shape[0])
        inner = [out[p] for p in range(self.layers)] if inner_ok else None
        return Measurement(output=out[self.layers], internal=inner)

    def _saturation(self, stacked: Mapping[int, np.ndarray]) -> None:
        if self.max_counts is None:
            return
        hit = total = 0
        for p, s in stacked.items():
            cal = self.calibration[p]
            x0, y0, x1, y1 = cal.crop
            box = s[..., max(0, y0):y1, max(0, x0):x1]
            hit += int((box >= self.max_counts).sum())
            total += box.size
        frac = hit / total if total else 0.0
        self.last_saturated_fraction = frac
        if frac > 0.01:
            self._warn_once("saturation", f"{100 * frac:.1f}% of the camera pixels are saturated "
                                          f"(>= {self.max_counts:g} counts): shorten the exposure")

    def measure_layer(self, i: int, field_in: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(
            "CameraSLMSystem.measure_layer: probing one layer alone needs hardware that injects a "
            "chosen complex field before that layer; use dat.internal_states=none or unitary")

    def close(self) -> None:
        self.devices.close()

    def __enter__(self) -> CameraSLMSystem:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------
# calibration procedure and exposure helper (work with any LabDevices)
# ---------------------------------------------------------------------------------------------
def _lut_list(lut: PhaseLUT | Sequence[PhaseLUT], layers: int) -> list[PhaseLUT]:
    return list(lut) if isinstance(lut, Sequence) else [lut] * layers


def displayed_model(model: Any, lut: PhaseLUT | Sequence[PhaseLUT], flat: bool = False) -> Any:
    """A copy of a diffractive model whose masks hold the phases the SLMs actually display
    (each phase -> gray level -> phase through the LUT); ``flat``: every mask at phase 0."""
    twin = copy.deepcopy(model).requires_grad_(False).eval()
    luts = _lut_list(lut, twin.layers)
    with torch.no_grad():
        for k, mask in enumerate(twin.masks):
            phase = torch.zeros_like(mask.phase) if flat else mask.phase
            shown = luts[k].to_phase(luts[k].to_levels(phase))
            mask.phase.copy_(torch.from_numpy(shown).to(mask.phase.dtype))
    return twin


def calibration_images(count: int = 8, side: int = 28) -> torch.Tensor:
    """Probe images for :func:`calibrate`: ``(count, side, side)`` in [0, 1], each one bright
    rectangle in a different cell of a 2-row grid. Sharp, off-centre features make the crop fit
    less sensitive to the hidden errors than digits; encode them with ``model.encode``."""
    if count < 1 or side < 4:
        raise ValueError(f"calibration_images needs count >= 1 and side >= 4, got {count}, {side}")
    cols = math.ceil(count / 2)
    h, w = side // 2, max(1, side // cols)
    out = torch.zeros(count, side, side)
    for k in range(count):
        r, c = divmod(k, cols)
        y0, x0 = r * h + h // 6, c * w + w // 6
        out[k, y0:y0 + max(1, 2 * h // 3), x0:x0 + max(1, 2 * w // 3)] = 1.0
    return out


def calibrate(devices: LabDevices, model: Any, lut: PhaseLUT | Sequence[PhaseLUT], probes: torch.Tensor,
              size: int | tuple[int, int] | Mapping[int, Any], planes: Iterable[int] | None = None,
              *, masks: str = "flat", dark_frames: int = 4, scale_method: str = "lstsq"
              ) -> dict[int, Calibration]:
    """The reference calibration procedure: dark frame, crop and scale of every camera.

    1. upload the masks: ``masks="flat"`` (default) every SLM at phase 0, so that the hidden
       mask errors (misalignment, fabrication) hardly change the calibration patterns;
       ``"model"``: the model's current masks;
    2. dark frame: the mean of ``dark_frames`` frames with the input off (zero amplitude);
    3. for each probe input (encoded fields ``(K, n, n)``, e.g. ``model.encode(images)``), grab
       every camera; the templates are the intensities the ideal model predicts with the
       phases the SLMs display (:func:`displayed_model`);
    4. crop: :meth:`Calibration.fit_crop` (``size``: camera pixels per plane side, one value or
       ``{plane: size}``);
    5. scale: :meth:`Calibration.fit_scale` of the resampled counts against the templates.

    Returns ``{plane: Calibration}`` for ``planes`` (default: the detector plane ``L``). The SLMs
    are left showing the calibration masks: program the system again before measuring.
    """
    if masks not in ("flat", "model"):
        raise ValueError(f"calibrate masks={masks!r}; allowed: flat, model")
    layers = int(model.layers)
    planes = [layers] if planes is None else sorted({int(p) for p in planes})
    sizes = _per_plane(size, planes, "size")
    luts = _lut_list(lut, layers)
    twin = displayed_model(model, luts, flat=masks == "flat").cpu()
    for k, mask in enumerate(twin.masks):
        devices.upload_phase(k, luts[k].to_levels(mask.phase))
    n = int(model.n)
    devices.show_input(np.zeros((n, n), np.float32))
    dark = {p: Calibration.dark_from_frames([devices.grab_frame(p) for _ in range(dark_frames)])
            for p in planes}
    probes = probes.detach()
    frames: dict[int, list[np.ndarray]] = {p: [] for p in planes}
    for amp in probes.abs().to("cpu", torch.float32).numpy():
        devices.show_input(amp)
        for p in planes:
            frames[p].append(np.asarray(devices.grab_frame(p), dtype=np.float64))
    with torch.no_grad():
        templates = twin(probes.cpu()).plane_intensities()
    out = {}
    for p in planes:
        f = np.stack(frames[p])
        t = templates[p].to(torch.float64).numpy()
        crop = Calibration.fit_crop(f, t, sizes[p], dark=dark[p])
        cal = Calibration(f.shape[1:], crop, 1.0, dark[p])
        scale = Calibration.fit_scale(cal.to_model(f, n, scaled=False, clamp=False), t, scale_method)
        out[p] = cal.replace(scale=scale)
    return out


def auto_exposure(devices: LabDevices, plane: int, amplitudes: Iterable[np.ndarray], *,
                  full_scale: float, start_s: float = 1e-3, fill: float = 0.5, dark: float = 0.0,
                  tries: int = 8) -> float:
    """Choose the exposure (s) at which the brightest probe reaches ``fill`` of ``full_scale``.

    Needs :meth:`LabDevices.set_exposure` and a camera linear in exposure. Starting at
    ``start_s``, a saturated probe divides the exposure by 10, a dark one multiplies it by 10
    (up to ``tries`` times); then the exposure is scaled linearly to the target and set.
    """
    amps = [np.asarray(a, dtype=np.float32) for a in amplitudes]
    if not amps:
        raise ValueError("auto_exposure needs at least one probe amplitude")
    e = float(start_s)
    for _ in range(tries):
        devices.set_exposure(plane, e)
        peak = 0.0
        for a in amps:
            devices.show_input(a)
            peak = max(peak, float(np.max(devices.grab_frame(plane))))
        if peak >= full_scale:
            e /= 10.0
        elif peak - dark <= 1e-3 * (full_scale - dark):
            e *= 10.0
        else:
            e *= fill * (full_scale - dark) / (peak - dark)
            devices.set_exposure(plane, e)
            return e
    raise RuntimeError(f"auto_exposure: no usable exposure for plane {plane} after {tries} tries "
                       f"(last {e:g} s); check the light source")


# ---------------------------------------------------------------------------------------------
# a simulated lab: the device calls backed by the simulator and a camera model
# ---------------------------------------------------------------------------------------------
class SimulatedLabDevices(LabDevices):
    """:class:`LabDevices` backed by a :class:`~photonic_dat.system.SimulatedSystem` (a stand-in
    for a bench, to test an adapter end to end).

    Physics: a copy of ``model`` with a hidden error realisation (``errors``, ``error_seed``),
    its masks set to the phases the SLM displays: ``slm_lut.to_phase(levels)`` (the SLM's true
    response; by default the linear 8-bit LUT). Until a layer is uploaded its SLM shows level 0.

    Camera model (deterministic: no shot or read noise): plane ``p``'s ``n x n`` intensity is
    replicated ``magnification x magnification`` times and embedded in a ``frame_shape`` frame
    at ``offset = (row, col)`` (one for all planes or ``{plane: (row, col)}``), then
    ``counts = dark_counts + sensitivity * exposure * intensity``, rounded and clipped to
    ``0 .. 2**bits - 1`` (uint16).

    Args:
        model: the ideal :class:`~photonic_dat.models.DiffractivePNN` (copied).
        errors, error_seed: the hidden systematic errors (default: none).
        slm_lut: the SLM's true gray level -> phase response.
        cameras: planes with a camera (default: every plane ``0..L``).
        frame_shape: camera frame ``(rows, cols)``; default ``(n m + 20, n m + 36)``.
        offset: top-left camera pixel of the plane's image; default ``(9, 17)``.
        magnification: camera pixels per model pixel (integer).
        sensitivity: counts per unit model intensity per second of exposure.
        exposure_s: initial exposure (s), one value or ``{plane: s}``.
        dark_counts: dark level (counts).
        bits: camera bit depth.

    Attributes:
        uploads, frames: counts of device calls (for tests).
    """

    def __init__(self, model: Any, errors: ErrorSpec | None = None, error_seed: int = 0, *,
                 slm_lut: PhaseLUT | None = None, cameras: Iterable[int] | None = None,
                 frame_shape: tuple[int, int] | None = None,
                 offset: tuple[int, int] | Mapping[int, tuple[int, int]] = (9, 17),
                 magnification: int = 2, sensitivity: float = 1e4,
                 exposure_s: float | Mapping[int, float] = 1.0, dark_counts: float = 100.0,
                 bits: int = 16) -> None:
        if not hasattr(model, "masks") or not hasattr(model, "n"):
            raise TypeError(f"SimulatedLabDevices needs a DiffractivePNN, got {type(model).__name__}")
        self.n, self.layers = int(model.n), int(model.layers)
        self._system = SimulatedSystem(model, errors if errors is not None else DiffractiveErrorSpec(),
                                       error_seed=error_seed)
        self._names = [name for name, p in model.physical_params().items() if p.ndim == 2]
        self.slm_lut = slm_lut if slm_lut is not None else PhaseLUT.linear(8)
        self.cameras = tuple(sorted(set(cameras))) if cameras is not None else tuple(range(self.layers + 1))
        self.magnification = int(magnification)
        if self.magnification < 1:
            raise ValueError(f"magnification={magnification!r} must be a positive integer")
        side = self.n * self.magnification
        self.frame_shape = tuple(frame_shape) if frame_shape is not None else (side + 20, side + 36)
        self.offsets = _per_plane(offset, self.cameras, "offset")
        for p, (r, c) in self.offsets.items():
            if r < 0 or c < 0 or r + side > self.frame_shape[0] or c + side > self.frame_shape[1]:
                raise ValueError(f"plane {p}: a {side}x{side} image at offset {(r, c)} does not fit "
                                 f"the {self.frame_shape[0]}x{self.frame_shape[1]} camera frame")
        self.sensitivity = float(sensitivity)
        self.exposure = {p: float(e) for p, e in _per_plane(exposure_s, self.cameras, "exposure_s").items()}
        self.dark_counts, self.full_scale = float(dark_counts), float(2**int(bits) - 1)
        level0 = float(self.slm_lut.to_phase(self.slm_lut.levels[0]))
        self._phases = [torch.full((self.n, self.n), level0) for _ in range(self.layers)]
        self._dirty = True
        self._amp: torch.Tensor | None = None
        self._planes: list[torch.Tensor] | None = None
        self.uploads = 0
        self.frames = 0

    def upload_phase(self, layer: int, levels: np.ndarray) -> None:
        if not 0 <= int(layer) < self.layers:
            raise IndexError(f"layer {layer} out of range 0..{self.layers - 1}")
        levels = np.asarray(levels)
        if levels.shape != (self.n, self.n) or not np.issubdtype(levels.dtype, np.integer):
            raise ValueError(f"SLM levels must be an integer ({self.n}, {self.n}) array, got "
                             f"{levels.dtype} {levels.shape}")
        self._phases[int(layer)] = torch.from_numpy(self.slm_lut.to_phase(levels)).to(torch.float32)
        self._dirty, self._planes = True, None
        self.uploads += 1

    def show_input(self, amplitude: np.ndarray) -> None:
        a = np.asarray(amplitude, dtype=np.float32)
        if a.shape != (self.n, self.n) or not np.all(np.isfinite(a)) or a.min() < 0:
            raise ValueError(f"the input amplitude must be a finite, non-negative ({self.n}, {self.n}) array")
        self._amp = torch.from_numpy(a.copy())
        self._planes = None

    def set_exposure(self, plane: int, exposure_s: float) -> None:
        if plane not in self.cameras:
            raise IndexError(f"no camera at plane {plane} (cameras: {self.cameras})")
        if not exposure_s > 0:
            raise ValueError(f"exposure {exposure_s!r} s must be > 0")
        self.exposure[plane] = float(exposure_s)

    def _intensities(self) -> list[torch.Tensor]:
        if self._planes is None:
            if self._dirty:
                self._system.program(dict(zip(self._names, self._phases, strict=True)))
                self._dirty = False
            if self._amp is None or not bool(self._amp.any()):
                self._planes = [torch.zeros(self.n, self.n) for _ in range(self.layers + 1)]
            else:
                meas = self._system.measure(self._amp.to(torch.complex64)[None], internal=True)
                self._planes = [p[0] for p in meas.planes()]
        return self._planes

    def grab_frame(self, plane: int) -> np.ndarray:
        if plane not in self.cameras:
            raise IndexError(f"no camera at plane {plane} (cameras: {self.cameras})")
        img = self._intensities()[plane].to(torch.float64).numpy()
        m = self.magnification
        up = np.repeat(np.repeat(img, m, axis=0), m, axis=1)
        frame = np.zeros(self.frame_shape, np.float64)
        r, c = self.offsets[plane]
        frame[r:r + up.shape[0], c:c + up.shape[1]] = self.sensitivity * self.exposure[plane] * up
        self.frames += 1
        return np.clip(np.rint(frame + self.dark_counts), 0, self.full_scale).astype(np.uint16)
