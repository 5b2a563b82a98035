"""Saving and loading parameters as ``.npz`` (a zip of ``.npy`` files), never with pickle.

``save`` writes atomically: the archive goes to a temporary file in the target's
directory, is flushed to disk, and only then renamed over the target, so a
crash mid-write leaves the old file intact. ``load`` reads with pickling
disabled and checks every member before reading it, so a malformed or hostile
file gives a ValueError naming the file and the problem, never code execution.
"""

from __future__ import annotations

import math
import os
import tempfile
import zipfile
from typing import Any, BinaryIO, Mapping

import numpy as np
from numpy.lib import format as npy_format

from autograd import Tensor

from .module import Module

__all__ = ["save", "load"]

_NUMERIC_KINDS = "biufc"


def _state_of(obj: Any) -> dict[str, np.ndarray]:
    """{name: ndarray} from a Module or a mapping of names to arrays/Tensors."""
    if isinstance(obj, Module):
        return obj.state_dict()
    if not isinstance(obj, Mapping):
        raise TypeError(
            f"save: expected a Module or a state dict {{name: array}}, got {type(obj).__name__}."
        )
    state = {}
    for key, value in obj.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"save: state dict keys must be non-empty strings, got {key!r}.")
        arr = np.asarray(value.data if isinstance(value, Tensor) else value)
        if arr.dtype.kind not in _NUMERIC_KINDS:
            raise TypeError(
                f"save: {key!r} has dtype {arr.dtype}; only numeric arrays can be saved "
                "(no objects, no strings: the format never pickles)."
            )
        state[key] = arr
    return state


def _write_npz(f: BinaryIO, state: Mapping[str, np.ndarray]) -> None:
    """Write ``state`` as an uncompressed .npz (what np.savez writes) to the open file ``f``.

    Written directly rather than through np.savez, whose own keyword arguments
    (``file``, ``allow_pickle``) would clash with parameters of those names.
    """
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, arr in state.items():
            with zf.open(key + ".npy", mode="w", force_zip64=True) as member:
                npy_format.write_array(member, np.asanyarray(arr), allow_pickle=False)


def _new_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def save(module_or_state_dict: Module | Mapping[str, Any], path: str | os.PathLike) -> None:
    """Save a Module's ``state_dict()`` (or a state dict) to ``path`` as .npz, atomically.

    ``path`` is used as given (no '.npz' is appended). Either the whole new file
    is in place afterwards or, if anything fails, the previous file is untouched
    and no temporary file is left behind.
    """
    state = _state_of(module_or_state_dict)
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save: directory {directory!r} (of {path!r}) does not exist.")
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            _write_npz(f, state)
            f.flush()
            os.fsync(f.fileno())
        try:  # mkstemp makes the file 0600: give it the mode a plain open() would
            os.chmod(tmp, os.stat(path).st_mode & 0o7777 if os.path.exists(path)
                     else _new_file_mode())
        except OSError:
            pass
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


class _Bad(Exception):
    """A problem found in the file (turned into the ValueError that load raises)."""


def _read_header(fh: BinaryIO) -> tuple[tuple, np.dtype]:
    version = npy_format.read_magic(fh)
    if version == (1, 0):
        shape, _, dtype = npy_format.read_array_header_1_0(fh)
    elif version == (2, 0):
        shape, _, dtype = npy_format.read_array_header_2_0(fh)
    else:
        raise _Bad(f"unsupported .npy format version {version}")
    return shape, dtype


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    name = info.filename
    with zf.open(info) as fh:
        shape, dtype = _read_header(fh)
        if dtype.hasobject or dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None:
            raise _Bad(f"{name!r} holds an array of dtype {dtype}; only plain numeric arrays "
                       "are accepted (object arrays would need pickle)")
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes > info.file_size:
            raise _Bad(f"{name!r} declares {shape} {dtype} ({nbytes} bytes) but holds only "
                       f"{info.file_size} bytes")
    with zf.open(info) as fh:
        return npy_format.read_array(fh, allow_pickle=False)


def load(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a file written by ``save`` -> {name: ndarray}, ready for ``load_state_dict``.

    Raises FileNotFoundError for a missing file and ValueError naming the file for
    anything else wrong with it (not a zip, truncated, object arrays, other members).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file {path!r}.")
    if os.path.isdir(path):
        raise ValueError(f"load: {path!r} is a directory, not an .npz file.")
    try:
        with open(path, "rb") as f:
            if f.read(len(npy_format.MAGIC_PREFIX)) == npy_format.MAGIC_PREFIX:
                raise _Bad("it is a single .npy array, not an .npz state dict (use np.load)")
        if not zipfile.is_zipfile(path):
            raise _Bad("not an .npz archive (not a zip file); save() writes .npz archives")
        state: dict[str, np.ndarray] = {}
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                name = info.filename
                if not name.endswith(".npy") or info.is_dir():
                    raise _Bad(f"unexpected member {name!r} (an .npz holds only .npy files)")
                key = name[:-4]
                if key in state:
                    raise _Bad(f"the key {key!r} appears twice")
                state[key] = _read_member(zf, info)
    except _Bad as exc:
        raise ValueError(f"load: cannot read {path!r}: {exc}.") from None
    except Exception as exc:  # truncated/corrupt archives fail in many ways (zipfile, zlib, numpy)
        raise ValueError(
            f"load: cannot read {path!r}: the file is corrupt or truncated "
            f"({type(exc).__name__}: {exc})."
        ) from exc
    return state
