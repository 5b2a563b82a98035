"""Tests for nn.datasets: the bundled digits and the MNIST IDX reader."""

from __future__ import annotations

import gzip
import hashlib
import re
import struct
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from helpers import peak_bytes_while
from hypothesis import given, settings
from hypothesis import strategies as st

from nn.datasets import load_digits, load_mnist, load_names, load_tiny_shakespeare

# ----------------------------------------------------------------------------- digits


def test_digits_shape_dtype_range():
    X, y = load_digits()
    assert X.shape == (1797, 64)
    assert y.shape == (1797,)
    assert X.dtype == np.float32
    assert y.dtype == np.int64
    assert X.min() == 0.0
    assert X.max() == 1.0
    assert np.all((X >= 0) & (X <= 1))
    # values are k/16 exactly
    np.testing.assert_array_equal(X * 16, np.round(X * 16))


def test_digits_class_counts():
    _, y = load_digits()
    assert set(np.unique(y).tolist()) == set(range(10))
    counts = np.bincount(y, minlength=10)
    assert counts.sum() == 1797
    assert np.all((counts >= 174) & (counts <= 183)), counts


def test_digits_deterministic_and_fresh():
    X1, y1 = load_digits()
    X2, y2 = load_digits()
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.shares_memory(X1, X2)
    assert not np.shares_memory(y1, y2)
    X1[:] = -1.0
    y1[:] = -1
    X3, y3 = load_digits()
    np.testing.assert_array_equal(X3, X2)
    np.testing.assert_array_equal(y3, y2)


def test_digits_arrays_writeable():
    X, y = load_digits()
    assert X.flags.writeable and y.flags.writeable


# ----------------------------------------------------------------------------- MNIST helpers

NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def idx_images(images: np.ndarray, magic: int = 2051) -> bytes:
    n, rows, cols = images.shape
    return struct.pack(">iiii", magic, n, rows, cols) + images.astype(np.uint8).tobytes()


def idx_labels(labels: np.ndarray, magic: int = 2049) -> bytes:
    return struct.pack(">ii", magic, len(labels)) + labels.astype(np.uint8).tobytes()


def write(path: Path, payload: bytes, gz: bool) -> Path:
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)
    return path


def make_split(
    directory: Path,
    split: str = "train",
    n: int = 5,
    rows: int = 4,
    cols: int = 3,
    gz: bool = False,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, rows, cols), dtype=np.uint8)
    if images.size > 1:  # make sure both ends of the range occur
        images.flat[0] = 255
        images.flat[1] = 0
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    img_name, lbl_name = NAMES[split]
    write(directory / img_name, idx_images(images), gz)
    write(directory / lbl_name, idx_labels(labels), gz)
    return images, labels


# ----------------------------------------------------------------------------- MNIST success


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("split", ["train", "test"])
def test_mnist_reads_tiny_files(tmp_path, split, gz):
    images, labels = make_split(tmp_path, split, n=7, rows=4, cols=3, gz=gz)
    X, y = load_mnist(tmp_path, split=split)
    assert X.shape == (7, 12)
    assert y.shape == (7,)
    assert X.dtype == np.float32
    assert y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_allclose(X, images.reshape(7, 12) / np.float32(255), rtol=0, atol=1e-7)
    np.testing.assert_array_equal(y, labels.astype(np.int64))


def test_mnist_default_split_is_train_and_accepts_str(tmp_path):
    train_images, train_labels = make_split(tmp_path, "train", n=3, seed=1)
    make_split(tmp_path, "test", n=2, seed=2)
    X, y = load_mnist(str(tmp_path))
    assert X.shape[0] == 3
    np.testing.assert_array_equal(y, train_labels)
    X_test, _ = load_mnist(tmp_path, split="test")
    assert X_test.shape[0] == 2


def test_mnist_mixed_plain_and_gzip(tmp_path):
    images = np.arange(2 * 2 * 2, dtype=np.uint8).reshape(2, 2, 2)
    labels = np.array([3, 9], dtype=np.uint8)
    write(tmp_path / "train-images-idx3-ubyte", idx_images(images), gz=True)
    write(tmp_path / "train-labels-idx1-ubyte", idx_labels(labels), gz=False)
    X, y = load_mnist(tmp_path)
    np.testing.assert_allclose(X, images.reshape(2, 4) / 255.0, atol=1e-7)
    np.testing.assert_array_equal(y, [3, 9])


def test_mnist_dotted_spelling(tmp_path):
    images = np.full((2, 3, 3), 51, dtype=np.uint8)
    labels = np.array([1, 2], dtype=np.uint8)
    write(tmp_path / "train-images.idx3-ubyte", idx_images(images), gz=False)
    write(tmp_path / "train-labels.idx1-ubyte", idx_labels(labels), gz=True)
    X, y = load_mnist(tmp_path)
    np.testing.assert_allclose(X, np.full((2, 9), 0.2, dtype=np.float32), atol=1e-7)
    np.testing.assert_array_equal(y, [1, 2])


def test_mnist_empty_split(tmp_path):
    make_split(tmp_path, "train", n=0, rows=28, cols=28)
    X, y = load_mnist(tmp_path)
    assert X.shape == (0, 784) and X.dtype == np.float32
    assert y.shape == (0,) and y.dtype == np.int64


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(0, 6),
    rows=st.integers(1, 5),
    cols=st.integers(1, 5),
    gz=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_mnist_roundtrip_property(tmp_path_factory, n, rows, cols, gz, seed):
    directory = tmp_path_factory.mktemp("mnist")
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, rows, cols), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    write(directory / NAMES["test"][0], idx_images(images), gz)
    write(directory / NAMES["test"][1], idx_labels(labels), gz)
    X, y = load_mnist(directory, split="test")
    assert X.shape == (n, rows * cols)
    assert X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(
        np.round(X * 255).astype(np.uint8), images.reshape(n, rows * cols)
    )
    np.testing.assert_array_equal(y, labels)


# ----------------------------------------------------------------------------- MNIST errors


def test_mnist_bad_split(tmp_path):
    make_split(tmp_path, "train")
    with pytest.raises(ValueError, match=r"split must be 'train' or 'test', got 'valid'"):
        load_mnist(tmp_path, split="valid")


def test_mnist_missing_directory(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match=r"nope.*does not exist.*train-images-idx3-ubyte"):
        load_mnist(missing)


def test_mnist_directory_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="not a directory"):
        load_mnist(f)


def test_mnist_missing_files(tmp_path):
    with pytest.raises(
        FileNotFoundError,
        match=r"'train-images-idx3-ubyte' not found.*train-labels-idx1-ubyte\[\.gz\].*put them",
    ):
        load_mnist(tmp_path)


def test_mnist_missing_label_file_only(tmp_path):
    make_split(tmp_path, "test")
    (tmp_path / NAMES["test"][1]).unlink()
    with pytest.raises(FileNotFoundError, match=r"'t10k-labels-idx1-ubyte' not found"):
        load_mnist(tmp_path, split="test")


def test_mnist_wrong_magic_images(tmp_path):
    images = np.zeros((2, 2, 2), dtype=np.uint8)
    labels = np.zeros(2, dtype=np.uint8)
    write(tmp_path / NAMES["train"][0], idx_images(images, magic=2049), gz=False)
    write(tmp_path / NAMES["train"][1], idx_labels(labels), gz=False)
    with pytest.raises(
        ValueError, match=r"train-images-idx3-ubyte.*magic number 2049.*expected 2051"
    ):
        load_mnist(tmp_path)


def test_mnist_wrong_magic_labels_gz(tmp_path):
    images = np.zeros((2, 2, 2), dtype=np.uint8)
    labels = np.zeros(2, dtype=np.uint8)
    write(tmp_path / NAMES["train"][0], idx_images(images), gz=True)
    write(tmp_path / NAMES["train"][1], idx_labels(labels, magic=1234), gz=True)
    with pytest.raises(
        ValueError, match=r"train-labels-idx1-ubyte\.gz.*magic number 1234.*expected 2049"
    ):
        load_mnist(tmp_path)


def test_mnist_swapped_files(tmp_path):
    images = np.zeros((2, 2, 2), dtype=np.uint8)
    labels = np.zeros(2, dtype=np.uint8)
    # label data under the image name
    write(tmp_path / NAMES["train"][0], idx_labels(labels), gz=False)
    write(tmp_path / NAMES["train"][1], idx_images(images), gz=False)
    with pytest.raises(ValueError, match=r"magic number 2049.*expected 2051"):
        load_mnist(tmp_path)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_mnist_truncated_data(tmp_path, gz):
    images = np.zeros((4, 3, 3), dtype=np.uint8)
    labels = np.zeros(4, dtype=np.uint8)
    write(tmp_path / NAMES["train"][0], idx_images(images)[:-5], gz)
    write(tmp_path / NAMES["train"][1], idx_labels(labels), gz)
    with pytest.raises(ValueError, match=r"truncated.*promises.*36 bytes.*found only 31"):
        load_mnist(tmp_path)


def test_mnist_truncated_header(tmp_path):
    write(tmp_path / NAMES["train"][0], struct.pack(">ii", 2051, 3), gz=False)
    write(tmp_path / NAMES["train"][1], idx_labels(np.zeros(3, np.uint8)), gz=False)
    with pytest.raises(ValueError, match=r"truncated.*16-byte header.*found only 8"):
        load_mnist(tmp_path)


def test_mnist_truncated_labels(tmp_path):
    images = np.zeros((4, 2, 2), dtype=np.uint8)
    labels = np.zeros(4, dtype=np.uint8)
    write(tmp_path / NAMES["test"][0], idx_images(images), gz=False)
    write(tmp_path / NAMES["test"][1], idx_labels(labels)[:-1], gz=False)
    with pytest.raises(
        ValueError, match=r"t10k-labels-idx1-ubyte.*truncated.*4 bytes.*found only 3"
    ):
        load_mnist(tmp_path, split="test")


def test_mnist_truncated_gzip_stream(tmp_path):
    images = np.zeros((4, 2, 2), dtype=np.uint8)
    labels = np.zeros(4, dtype=np.uint8)
    blob = gzip.compress(idx_images(images))
    (tmp_path / (NAMES["train"][0] + ".gz")).write_bytes(blob[: len(blob) // 2])
    write(tmp_path / NAMES["train"][1], idx_labels(labels), gz=True)
    with pytest.raises(ValueError, match=r"could not be decompressed.*truncated or corrupt"):
        load_mnist(tmp_path)


def test_mnist_count_mismatch(tmp_path):
    images = np.zeros((5, 2, 2), dtype=np.uint8)
    labels = np.zeros(4, dtype=np.uint8)
    write(tmp_path / NAMES["train"][0], idx_images(images), gz=True)
    write(tmp_path / NAMES["train"][1], idx_labels(labels), gz=False)
    with pytest.raises(ValueError, match=r"count mismatch.*5 images.*4 labels"):
        load_mnist(tmp_path)


def test_mnist_empty_file(tmp_path):
    (tmp_path / NAMES["train"][0]).write_bytes(b"")
    write(tmp_path / NAMES["train"][1], idx_labels(np.zeros(1, np.uint8)), gz=False)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.*truncated.*found only 0 bytes"):
        load_mnist(tmp_path)


def test_public_api():
    import nn.datasets

    assert sorted(nn.datasets.__all__) == [
        "load_digits", "load_mnist", "load_names", "load_tiny_shakespeare"
    ]


# ----------------------------------------------------------------------------- MNIST hostile files


def _labels_for(directory: Path, n: int) -> None:
    write(directory / NAMES["train"][1], idx_labels(np.zeros(n, np.uint8)), gz=False)


def test_mnist_refuses_headers_beyond_the_size_bound(tmp_path):
    # a million 28x28 images (784 MB) announced by a gzip file of a few hundred bytes
    header = struct.pack(">iiii", 2051, 10**6, 28, 28)
    (tmp_path / (NAMES["train"][0] + ".gz")).write_bytes(gzip.compress(header + bytes(784)))
    _labels_for(tmp_path, 10**6)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.gz.*claims \(1000000, 28, 28\) "
                                         r"= 784000000 bytes of images data, more than the "
                                         r"268435456 this reader accepts"):
        load_mnist(tmp_path)


def test_mnist_refuses_a_consistent_gzip_bomb_without_decompressing_it(tmp_path, monkeypatch):
    from nn.datasets import mnist

    # the same guard at a small scale: an honest 4 MiB of pixels against a 64 KiB bound
    monkeypatch.setattr(mnist, "MAX_DATA_BYTES", 2**16)
    write(tmp_path / NAMES["train"][0], idx_images(np.zeros((2**12, 32, 32), np.uint8)), gz=True)
    _labels_for(tmp_path, 2**12)
    assert (tmp_path / (NAMES["train"][0] + ".gz")).stat().st_size < 2**14

    def attempt():
        with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.gz.*4194304 bytes of "
                                             r"images data, more than the 65536"):
            load_mnist(tmp_path)

    assert peak_bytes_while(attempt) < 2**20


def test_mnist_refuses_a_header_its_gzip_file_cannot_hold(tmp_path):
    # 60000 28x28 images need at least 45 KB of gzip; this file has a few dozen bytes
    header = struct.pack(">iiii", 2051, 60000, 28, 28)
    (tmp_path / (NAMES["train"][0] + ".gz")).write_bytes(gzip.compress(header + bytes(10)))
    _labels_for(tmp_path, 60000)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.gz.*claims \(60000, 28, 28\) = "
                                         r"47040000 bytes.*gzip file of \d+ bytes decompresses "
                                         r"to at most 1032 times that"):
        load_mnist(tmp_path)


def test_mnist_decompresses_no_more_than_the_header_promises(tmp_path):
    # two 2x2 images, followed by 16 MiB of zeros the header does not mention
    payload = idx_images(np.ones((2, 2, 2), np.uint8)) + bytes(2**24)
    (tmp_path / (NAMES["train"][0] + ".gz")).write_bytes(gzip.compress(payload))
    _labels_for(tmp_path, 2)

    def attempt():
        with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.gz.*holds more data than "
                                             r"its header promises \(\(2, 2, 2\) = 8 bytes"):
            load_mnist(tmp_path)

    assert peak_bytes_while(attempt) < 2**21


def test_mnist_refuses_surplus_data_in_a_plain_file(tmp_path):
    write(tmp_path / NAMES["train"][0], idx_images(np.ones((2, 2, 2), np.uint8)) + b"\0",
          gz=False)
    _labels_for(tmp_path, 2)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.*holds more data"):
        load_mnist(tmp_path)


def test_mnist_header_whose_size_overflows_int64(tmp_path):
    # 2^21 * 2^21 * 2^22 = 2^64 wraps to 0 in int64 arithmetic
    header = struct.pack(">iiii", 2051, 2**21, 2**21, 2**22)
    write(tmp_path / NAMES["train"][0], header, gz=False)
    _labels_for(tmp_path, 2)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.*claims \(2097152, 2097152, "
                                         r"4194304\) = 18446744073709551616 bytes"):
        load_mnist(tmp_path)


@pytest.mark.parametrize("bad", [10, 255])
@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_mnist_refuses_labels_outside_0_to_9(tmp_path, bad, gz):
    write(tmp_path / NAMES["test"][0], idx_images(np.zeros((4, 2, 2), np.uint8)), gz)
    write(tmp_path / NAMES["test"][1], idx_labels(np.array([3, 9, bad, 0], np.uint8)), gz)
    with pytest.raises(ValueError, match=rf"t10k-labels-idx1-ubyte.*holds label {bad} at index "
                                         r"2; MNIST labels are the digits 0..9"):
        load_mnist(tmp_path, split="test")


# ----------------------------------------------------------------------------- text corpora

# the sha256 of the files as /work/shared/data/README.md lists them (makemore, char-rnn)
_SHA256 = {
    "names.txt": "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d",
    "tiny_shakespeare.txt": "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
}


@pytest.mark.parametrize("name", sorted(_SHA256))
def test_bundled_text_files_are_the_published_ones(name):
    data = resources.files("nn.datasets").joinpath(name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == _SHA256[name]
    licence = {"names.txt": "NAMES_LICENSE.md", "tiny_shakespeare.txt": "SHAKESPEARE_LICENSE.md"}
    note = resources.files("nn.datasets").joinpath(licence[name]).read_text(encoding="utf-8")
    assert "public domain" in note and _SHA256[name] in note


def test_names_counts_and_alphabet():
    words = load_names()
    assert isinstance(words, list) and len(words) == 32_033
    assert words[:3] == ["emma", "olivia", "ava"] and words[-1] == "zzyzx"
    assert all(re.fullmatch("[a-z]{2,15}", w) for w in words)
    assert min(map(len, words)) == 2 and max(map(len, words)) == 15
    assert sorted(set("".join(words))) == [chr(c) for c in range(ord("a"), ord("z") + 1)]


def test_names_fresh_list_per_call():
    a = load_names()
    a.clear()
    assert len(load_names()) == 32_033


def test_tiny_shakespeare_counts():
    text = load_tiny_shakespeare()
    assert isinstance(text, str) and len(text) == 1_115_394
    assert len(set(text)) == 65
    assert text.startswith("First Citizen:\nBefore we proceed any further, hear me speak.")
    assert "\r" not in text and text.count("\n") == 40_000


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is in the std library from 3.11")
def test_text_files_are_package_data():
    import tomllib

    root = Path(__file__).resolve().parent.parent
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    assert "*.txt" in config["tool"]["setuptools"]["package-data"]["nn.datasets"]
