"""Read the MNIST IDX files (plain or gzip) from a local directory.

Nothing is downloaded: get the four standard files (for example from a mirror
of http://yann.lecun.com/exdb/mnist/) and put them in one directory.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

_IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions
_LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension

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


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as f:
        head = f.read(2)
    if head == b"\x1f\x8b":  # gzip magic, whatever the file is called
        try:
            with gzip.open(path, "rb") as f:
                return f.read()
        except (OSError, EOFError) as exc:
            raise ValueError(
                f"{str(path)!r} looks gzipped but could not be decompressed ({exc}); "
                "the file is probably truncated or corrupt: download it again."
            ) from exc
    return path.read_bytes()


def _parse_idx(path: Path, magic: int, ndim: int) -> np.ndarray:
    data = _read_bytes(path)
    kind = "images" if magic == _IMAGES_MAGIC else "labels"
    header_len = 4 * (1 + ndim)
    if len(data) >= 4:  # check the magic number first: it best explains a wrong file
        found = int(np.frombuffer(data, dtype=">i4", count=1)[0])
        if found != magic:
            raise ValueError(
                f"{str(path)!r} has magic number {found} (0x{found & 0xFFFFFFFF:08x}), expected "
                f"{magic} (0x{magic:08x}) for an IDX {kind} file; check that this is the right "
                "file (images vs labels) and that it is not corrupt."
            )
    if len(data) < header_len:
        raise ValueError(
            f"{str(path)!r} is truncated: an IDX {kind} file needs a {header_len}-byte header, "
            f"found only {len(data)} bytes; download the file again."
        )
    header = np.frombuffer(data, dtype=">i4", count=1 + ndim)
    dims = tuple(int(d) for d in header[1:])
    if any(d < 0 for d in dims):
        raise ValueError(f"{str(path)!r} has negative dimensions {dims} in its header.")
    expected = int(np.prod(dims, dtype=np.int64))
    available = len(data) - header_len
    if available < expected:
        raise ValueError(
            f"{str(path)!r} is truncated: its header promises {dims} = {expected} bytes of "
            f"{kind} data, found only {available}; download the file again."
        )
    return np.frombuffer(data, dtype=np.uint8, count=expected, offset=header_len).reshape(dims)


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
        ValueError: bad split name, wrong magic number, truncated file, or
            image/label count mismatch.
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
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"image/label count mismatch: {str(images_path)!r} holds {images.shape[0]} images "
            f"but {str(labels_path)!r} holds {labels.shape[0]} labels; both files must come "
            "from the same split."
        )
    n, rows, cols = images.shape
    X = images.reshape(n, rows * cols).astype(np.float32) / np.float32(255.0)
    y = labels.astype(np.int64)
    return X, y
