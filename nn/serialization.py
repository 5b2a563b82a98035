"""Saving and loading parameters without pickle, as ``.npz`` or ``.safetensors``.

The file's suffix picks the format: ``.npz`` (a zip of ``.npy`` files, readable by
``np.load``) or ``.safetensors`` (readable by PyTorch's ``safetensors.torch``;
needs the optional ``safetensors`` package).

``save`` writes atomically: the file goes to a temporary file in the target's
directory, is flushed to disk, and only then renamed over the target, so a
crash mid-write leaves the old file intact. A symlink is followed (the file it
points to is replaced, the link stays), and the temporary files that crashed
saves left behind are removed by the next save to the same target. Saving never
touches process-wide state such as the umask.

``load`` reads with pickling disabled and checks every member before reading it,
so a malformed or hostile file gives a ValueError naming the file and the
problem, never code execution. Decompression bombs are refused before anything
is allocated: only stored or deflated members, which do not overlap and do not
claim more than deflate's 1032:1 can produce; and all members together may
inflate to at most ``max(INFLATE_FACTOR * file size, INFLATE_SLACK)`` bytes
(32 times the file, or 64 MiB for a small file). Real weights compress about
1.1:1, a pruned or all-zero layer far more, which the 64 MiB slack covers; a
2 MB file can no longer make a load allocate 2 GiB. The bound is checked on the
sizes the zip directory declares and again while inflating, since declared
sizes can lie.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import zipfile
from typing import Any, BinaryIO, Callable, Mapping

import numpy as np
from numpy.lib import format as npy_format

from autograd import Tensor

from . import safetensors_io
from .module import Module

__all__ = ["save", "load"]

_NUMERIC_KINDS = "biufc"
_SUFFIXES = (".npz", ".safetensors")

# Deflate emits at least 2 bits for a copy of at most 258 bytes, so one compressed byte
# can never expand to more than 4 * 258 = 1032 bytes.
DEFLATE_MAX_RATIO = 1032
# What an .npz may inflate to, all members together: INFLATE_FACTOR times the file's size,
# but at least INFLATE_SLACK bytes (a small file of zeros is honest and highly compressed).
INFLATE_FACTOR = 32
INFLATE_SLACK = 64 * 2**20


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


def _format_of(path: str, caller: str) -> str:
    """'.npz' or '.safetensors', from the file name; anything else is an error."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in _SUFFIXES:
        found = f"its suffix {suffix!r}" if suffix else "its name, which has no suffix"
        raise ValueError(
            f"{caller}: cannot tell the format of {path!r} from {found}; name the file "
            "'*.npz' (numpy archive) or '*.safetensors' (safetensors, readable by PyTorch)."
        )
    return suffix


def _write_npz(f: BinaryIO, state: Mapping[str, np.ndarray]) -> None:
    """Write ``state`` as an uncompressed .npz (what np.savez writes) to the open file ``f``.

    Written directly rather than through np.savez, whose own keyword arguments
    (``file``, ``allow_pickle``) would clash with parameters of those names.
    """
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, arr in state.items():
            with zf.open(key + ".npy", mode="w", force_zip64=True) as member:
                npy_format.write_array(member, np.asanyarray(arr), allow_pickle=False)


def save(module_or_state_dict: Module | Mapping[str, Any], path: str | os.PathLike) -> None:
    """Save a Module's ``state_dict()`` (or a state dict) to ``path``, atomically.

    The suffix of ``path`` picks the format: ``.npz`` or ``.safetensors``. Either the
    whole new file is in place afterwards or, if anything fails, the previous file is
    untouched and no temporary file is left behind.
    """
    state = _state_of(module_or_state_dict)
    path = os.fspath(path)
    if _format_of(path, "save") == ".safetensors":
        write = safetensors_io.writer(state, path)  # checks the package before touching disk
    else:
        def write(f: BinaryIO) -> None:
            _write_npz(f, state)
    _atomic_write(path, write)


# ---------------------------------------------------------------------------- atomic writes


def _temporary_pattern(name: str) -> re.Pattern:
    """Names of the temporary files that saves to ``name`` create: .NAME.PID.HEX.tmp"""
    return re.compile(rf"\.{re.escape(name)}\.(\d+)\.[0-9a-f]+\.tmp")


def _process_is_running(pid: int) -> bool:
    """True unless the process ``pid`` is known to be gone (when unsure, True)."""
    if pid <= 0 or pid == os.getpid():  # 0 would signal our own process group
        return True
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # e.g. PermissionError: it exists, owned by someone else
        return True
    return True


def _remove_stale_temporaries(directory: str, name: str) -> None:
    """Delete the temporaries that saves to ``name`` left when their process died.

    A save in progress in another live process keeps its temporary. POSIX only: on
    Windows os.kill(pid, 0) would terminate the process instead of probing it.
    """
    if os.name != "posix":
        return
    pattern = _temporary_pattern(name)
    try:
        entries = os.listdir(directory)
    except OSError:
        return
    for entry in entries:
        match = pattern.fullmatch(entry)
        if match and not _process_is_running(int(match.group(1))):
            try:
                os.unlink(os.path.join(directory, entry))
            except OSError:  # already gone (another save cleaned it) or not ours to remove
                pass


def _create_temporary(directory: str, name: str) -> tuple[int, str]:
    """Open a new temporary file next to the target -> (fd, path).

    Created with mode 0o666 so that the umask applies, as it does for open(): the
    result gets the mode a plain open() would give it, without reading the umask.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(directory, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"save: could not create a temporary file in {directory!r}.")


def _atomic_write(path: str, write: Callable[[BinaryIO], None]) -> None:
    """Write a file through ``write(f)`` to a temporary, fsync it, rename it over ``path``."""
    target = os.path.realpath(path)  # like open(): a symlink's target is written, not the link
    directory, name = os.path.split(target)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save: directory {directory!r} (of {path!r}) does not exist.")
    _remove_stale_temporaries(directory, name)
    fd, tmp = _create_temporary(directory, name)
    try:
        with os.fdopen(fd, "wb") as f:
            try:  # an existing file keeps its mode, as it would when overwritten with open()
                os.chmod(f.fileno(), os.stat(target).st_mode & 0o7777)
            except (OSError, NotImplementedError):
                pass
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
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


# ---------------------------------------------------------------------------- loading .npz


class _Bad(Exception):
    """A problem found in the file (turned into the ValueError that load raises)."""


def _read_header(fh: BinaryIO) -> tuple[tuple, bool, np.dtype]:
    """(shape, fortran_order, dtype) from an .npy header."""
    version = npy_format.read_magic(fh)
    if version == (1, 0):
        return npy_format.read_array_header_1_0(fh)
    if version == (2, 0):
        return npy_format.read_array_header_2_0(fh)
    raise _Bad(f"unsupported .npy format version {version}")


def _check_sizes(info: zipfile.ZipInfo, file_size: int) -> None:
    """Refuse a member whose sizes no honest archive of ``file_size`` bytes could have.

    Checked from the zip directory alone, before a byte is decompressed: the member
    must be stored or deflated (what np.savez and np.savez_compressed write), its
    compressed bytes must fit in the file, and it cannot expand more than the
    compression method allows.
    """
    name = info.filename
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        method = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma"}.get(
            info.compress_type, f"method {info.compress_type}")
        raise _Bad(f"{name!r} is compressed with {method}; only stored or deflated members "
                   "(what np.savez and np.savez_compressed write) are read")
    if info.compress_size > file_size:
        raise _Bad(f"{name!r} claims {info.compress_size} compressed bytes but the whole file "
                   f"has {file_size}")
    if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
        raise _Bad(f"{name!r} is stored uncompressed but claims {info.file_size} bytes in "
                   f"{info.compress_size}")
    if info.file_size > DEFLATE_MAX_RATIO * info.compress_size:
        raise _Bad(f"{name!r} claims to expand from {info.compress_size} to {info.file_size} "
                   f"bytes, more than deflate's maximum ratio of {DEFLATE_MAX_RATIO}:1 "
                   "(a decompression bomb or a corrupt archive)")


def inflate_limit(file_size: int) -> int:
    """The most bytes ``load`` inflates from an .npz of ``file_size`` bytes, in all."""
    return max(INFLATE_FACTOR * file_size, INFLATE_SLACK)


class _CappedReader:
    """A member's inflating stream that refuses to yield more bytes than the member
    declares: declared sizes can lie, and the declared ones are what the bound checked."""

    def __init__(self, fh: BinaryIO, name: str, declared: int) -> None:
        self.fh, self.name, self.left = fh, name, declared

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(self.left + 1 if n < 0 else min(n, self.left + 1))
        self.left -= len(data)
        if self.left < 0:
            raise _Bad(f"{self.name!r} inflates to more bytes than the zip directory declares "
                       "(a decompression bomb or a corrupt archive)")
        return data


_CHUNK = 2**20  # bytes inflated at a time


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """The member's array, inflated through a capped stream in chunks into an array
    allocated only after the header's shape was checked against the declared size."""
    name = info.filename
    with zf.open(info) as raw:
        fh = _CappedReader(raw, name, info.file_size)
        shape, fortran, dtype = _read_header(fh)  # type: ignore[arg-type]
        if dtype.hasobject or dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None:
            raise _Bad(f"{name!r} holds an array of dtype {dtype}; only plain numeric arrays "
                       "are accepted (object arrays would need pickle)")
        nbytes = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
        if nbytes != fh.left:
            raise _Bad(f"{name!r} declares {shape} {dtype} ({nbytes} bytes) but holds "
                       f"{fh.left} bytes of data")
        flat = np.empty(math.prod(shape), dtype=dtype)
        buffer = memoryview(flat.view(np.uint8)) if nbytes else memoryview(b"")
        done = 0
        while done < nbytes:
            chunk = fh.read(min(_CHUNK, nbytes - done))
            if not chunk:
                raise _Bad(f"{name!r} ends after {done} of its {nbytes} bytes of data")
            buffer[done:done + len(chunk)] = chunk
            done += len(chunk)
        fh.read(1)  # at the end: reaches zipfile's CRC check, or refuses extra bytes
    if fortran:
        return flat.reshape(shape[::-1]).transpose()
    return flat.reshape(shape)


def _load_npz(path: str) -> dict[str, np.ndarray]:
    with open(path, "rb") as f:
        if f.read(len(npy_format.MAGIC_PREFIX)) == npy_format.MAGIC_PREFIX:
            raise _Bad("it is a single .npy array, not an .npz state dict (use np.load)")
    if not zipfile.is_zipfile(path):
        raise _Bad("not an .npz archive (not a zip file); save() writes .npz archives")
    file_size = os.path.getsize(path)
    limit = inflate_limit(file_size)
    state: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        compressed = sum(info.compress_size for info in infos)
        if compressed > file_size:  # members that share their bytes: an overlapping zip bomb
            raise _Bad(f"its members claim {compressed} compressed bytes in all but the file has "
                       f"{file_size}; members overlap (a decompression bomb or a corrupt archive)")
        declared = 0
        for info in infos:  # the zip directory alone, before a byte is inflated
            name = info.filename
            if not name.endswith(".npy") or info.is_dir():
                raise _Bad(f"unexpected member {name!r} (an .npz holds only .npy files)")
            _check_sizes(info, file_size)
            declared += info.file_size
            if declared > limit:
                raise _Bad(
                    f"{name!r} brings what the members inflate to to {declared} bytes, more "
                    f"than load reads from a file of {file_size} bytes ({limit}: "
                    f"max({INFLATE_FACTOR} x the file, {INFLATE_SLACK // 2**20} MiB)); a "
                    "decompression bomb? Save it uncompressed (nn.save or np.savez) to load "
                    "it")
        for info in infos:
            key = info.filename[:-4]
            if key in state:
                raise _Bad(f"the key {key!r} appears twice")
            state[key] = _read_member(zf, info)
    return state


def load(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a file written by ``save`` -> {name: ndarray}, ready for ``load_state_dict``.

    The suffix picks the format (``.npz`` or ``.safetensors``). Raises
    FileNotFoundError for a missing file and ValueError naming the file for anything
    else wrong with it (truncated, object arrays, foreign members, decompression bombs).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file {path!r}.")
    if os.path.isdir(path):
        raise ValueError(f"load: {path!r} is a directory, not a saved state dict.")
    if _format_of(path, "load") == ".safetensors":
        return safetensors_io.read(path)
    try:
        return _load_npz(path)
    except _Bad as exc:
        raise ValueError(f"load: cannot read {path!r}: {exc}.") from None
    except Exception as exc:  # truncated/corrupt archives fail in many ways (zipfile, zlib, numpy)
        raise ValueError(
            f"load: cannot read {path!r}: the file is corrupt or truncated "
            f"({type(exc).__name__}: {exc})."
        ) from exc
