"""Read the MNIST IDX files (plain or gzip) from a local directory.

Nothing is downloaded: get the four standard files (for example from a mirror
of http://yann.lecun.com/exdb/mnist/) and put them in one directory.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

_IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions
_LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension

# Deflate (inside gzip) emits at least 2 bits per copy of at most 258 bytes: one compressed
# byte never expands to more than 1032.
GZIP_MAX_RATIO = 1032
# The largest data part of one IDX file accepted (bytes, one per pixel or label): over five
# times MNIST's 60000 x 28 x 28 training images, and 1 GiB once converted to float32.
MAX_DATA_BYTES = 2**28
_CHUNK = 2**20  # read and decompress at most this many bytes at a time

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _candidates(name: str) -> list[str]:
    # "train-images-idx3-ubyte" -> also "train-images.idx3-ubyte" (a common spelling)
    dotted = name.replace("-idx", ".idx")
    names = [name, name + ".gz"]
    if dotted != name:
        names += [dotted, dotted + ".gz"]
    return names


def _find(directory: Path, name: str, split: str) -> Path:
    for candidate in _candidates(name):
        path = directory / candidate
        if path.is_file():
            return path
    expected = ", ".join(f"{n}[.gz]" for n in _FILES[split])
    raise FileNotFoundError(
        f"MNIST file {name!r} not found in {str(directory)!r} "
        f"(looked for {', '.join(_candidates(name))}). "
        f"The {split!r} split needs {expected} in that directory: "
        "download them from an MNIST mirror and put them there, gzipped or not."
    )


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"  # gzip magic, whatever the file is called


def _gzip_error(path: Path, exc: Exception) -> ValueError:
    return ValueError(
        f"{str(path)!r} looks gzipped but could not be decompressed ({exc}); "
        "the file is probably truncated or corrupt: download it again."
    )


def _read_into(f: BinaryIO, buf: np.ndarray) -> int:
    """Fill the uint8 array ``buf`` from ``f`` in bounded chunks -> the number of bytes read.

    ``buf`` comes from np.empty, whose pages cost memory only once written: a header
    that promises more than the file holds costs no more than what the file holds.
    """
    view = memoryview(buf)
    got = 0
    while got < len(buf):
        k = f.readinto(view[got:got + min(_CHUNK, len(buf) - got)])
        if not k:
            break
        got += k
    return got


def _parse_idx(path: Path, magic: int, ndim: int) -> np.ndarray:
    """Read one IDX file of unsigned bytes, checking its header before reading its data."""
    if _is_gzip(path):
        try:
            with gzip.open(path, "rb") as f:
                return _parse_stream(f, path, magic, ndim, gzipped=True)
        except (OSError, EOFError, zlib.error) as exc:
            raise _gzip_error(path, exc) from exc
    with open(path, "rb") as f:
        return _parse_stream(f, path, magic, ndim, gzipped=False)


def _parse_stream(f: BinaryIO, path: Path, magic: int, ndim: int, gzipped: bool) -> np.ndarray:
    kind = "images" if magic == _IMAGES_MAGIC else "labels"
    header_len = 4 * (1 + ndim)
    header = f.read(header_len)
    if len(header) >= 4:  # check the magic number first: it best explains a wrong file
        found = int.from_bytes(header[:4], "big", signed=True)
        if found != magic:
            raise ValueError(
                f"{str(path)!r} has magic number {found} (0x{found & 0xFFFFFFFF:08x}), expected "
                f"{magic} (0x{magic:08x}) for an IDX {kind} file; check that this is the right "
                "file (images vs labels) and that it is not corrupt."
            )
    if len(header) < header_len:
        raise ValueError(
            f"{str(path)!r} is truncated: an IDX {kind} file needs a {header_len}-byte header, "
            f"found only {len(header)} bytes; download the file again."
        )
    dims = tuple(int.from_bytes(header[i:i + 4], "big", signed=True)
                 for i in range(4, header_len, 4))
    if any(d < 0 for d in dims):
        raise ValueError(f"{str(path)!r} has negative dimensions {dims} in its header.")
    expected = math.prod(dims)  # Python ints: a hostile header cannot overflow to 0
    if expected > MAX_DATA_BYTES:
        raise ValueError(
            f"{str(path)!r} claims {dims} = {expected} bytes of {kind} data, more than the "
            f"{MAX_DATA_BYTES} this reader accepts ({MAX_DATA_BYTES // 2**20} MiB, over five "
            "times MNIST's training set); the header is corrupt or this is not an MNIST file."
        )
    file_size = os.path.getsize(path)
    if not gzipped and header_len + expected > file_size:
        raise ValueError(
            f"{str(path)!r} is truncated: its header promises {dims} = {expected} bytes of "
            f"{kind} data, found only {file_size - header_len}; download the file again."
        )
    if gzipped and header_len + expected > GZIP_MAX_RATIO * file_size:
        raise ValueError(
            f"{str(path)!r} claims {dims} = {expected} bytes of {kind} data, but a gzip file of "
            f"{file_size} bytes decompresses to at most {GZIP_MAX_RATIO} times that; the "
            "header is corrupt (or the file is a decompression bomb): download it again."
        )
    # never decompress more than the header promises, plus one byte to detect a surplus
    data = np.empty(expected + 1, dtype=np.uint8)
    got = _read_into(f, data)
    if got < expected:
        raise ValueError(
            f"{str(path)!r} is truncated: its header promises {dims} = {expected} bytes of "
            f"{kind} data, found only {got}; download the file again."
        )
    if got > expected:
        raise ValueError(
            f"{str(path)!r} holds more data than its header promises ({dims} = {expected} "
            f"bytes of {kind}); the file is corrupt: download it again."
        )
    return data[:expected].reshape(dims)


def _check_labels(labels: np.ndarray, path: Path) -> None:
    bad = np.flatnonzero(labels > 9)
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"{str(path)!r} holds label {int(labels[i])} at index {i}; MNIST labels are the "
            f"digits 0..9 ({bad.size} labels out of range): this is not an MNIST label file "
            "or it is corrupt."
        )


def load_mnist(
    directory: str | os.PathLike[str], split: str = "train"
) -> tuple[np.ndarray, np.ndarray]:
    """Load an MNIST split from IDX files in ``directory``.

    Args:
        directory: folder holding ``train-images-idx3-ubyte``,
            ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
            ``t10k-labels-idx1-ubyte``, each plain or with a ``.gz`` suffix
            (the dotted ``train-images.idx3-ubyte`` spelling is accepted too).
        split: ``"train"`` or ``"test"``.

    Returns:
        ``(X, y)``: ``X`` is float32 of shape (n, rows*cols) with values in
        [0, 1] (pixels / 255); ``y`` is int64 of shape (n,).

    Raises:
        ValueError: bad split name, wrong magic number, truncated or oversized
            file, a header claiming more than ``MAX_DATA_BYTES`` (or more than its
            gzip file can hold), a label outside 0..9, or an image/label count
            mismatch; the message names the file.
        FileNotFoundError: the directory or one of the files is missing.
    """
    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    root = Path(directory)
    if not root.is_dir():
        names = ", ".join(f"{n}[.gz]" for pair in _FILES.values() for n in pair)
        raise FileNotFoundError(
            f"MNIST directory {str(root)!r} does not exist or is not a directory; "
            f"create it and put the MNIST files there: {names}."
        )
    images_name, labels_name = _FILES[split]
    images_path = _find(root, images_name, split)
    labels_path = _find(root, labels_name, split)
    images = _parse_idx(images_path, _IMAGES_MAGIC, ndim=3)
    labels = _parse_idx(labels_path, _LABELS_MAGIC, ndim=1)
    _check_labels(labels, labels_path)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"image/label count mismatch: {str(images_path)!r} holds {images.shape[0]} images "
            f"but {str(labels_path)!r} holds {labels.shape[0]} labels; both files must come "
            "from the same split."
        )
    n, rows, cols = images.shape
    X = images.reshape(n, rows * cols).astype(np.float32)
    X /= np.float32(255.0)  # in place: one float32 copy, not two
    y = labels.astype(np.int64)
    return X, y
