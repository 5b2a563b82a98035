"""The ``.safetensors`` format of ``nn.save`` / ``nn.load``, through the ``safetensors`` package.

A .safetensors file is an 8-byte little-endian header length, a JSON header
({name: {dtype, shape, data_offsets}}) and the raw bytes of every array: no code
inside, and PyTorch reads it with ``safetensors.torch.load_file``. The package is
the reference implementation and validates every header; it is an optional
dependency (``python -m pip install -e ".[interop]"`` from a clone), imported only when a
.safetensors file is saved or loaded.

``nn.save`` does the atomic write (temporary file, fsync, rename); this module
only turns a state dict into the file's bytes and a file back into arrays.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import BinaryIO, Callable, Mapping

import numpy as np

__all__ = ["writer", "read"]

INSTALL_HINT = 'python -m pip install -e ".[interop]" (from a clone of the repository)'
# The largest JSON header the safetensors package itself accepts (100 MB).
MAX_HEADER_BYTES = 100_000_000
# numpy dtypes that every safetensors reader (PyTorch's included) understands: what save writes.
_DTYPES = ("bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
           "float16", "float32", "float64")
# What load reads, as the file names the dtypes: the same plus complex64, which numpy holds too
# (bfloat16 and the float8 kinds it cannot).
_FILE_DTYPES = ("BOOL", "I8", "U8", "I16", "U16", "I32", "U32", "I64", "U64", "F16", "F32",
                "F64", "C64")


def _package(caller: str) -> ModuleType:
    """The safetensors package, or an ImportError that says how to install it."""
    try:
        import safetensors
        import safetensors.numpy  # noqa: F401  (loads the numpy half of the package)
    except ImportError as exc:
        raise ImportError(
            f"{caller}: .safetensors files need the optional safetensors package: "
            f'{INSTALL_HINT} (or pip install safetensors); .npz files need nothing extra.'
        ) from exc
    return safetensors


def writer(state: Mapping[str, np.ndarray], path: str) -> Callable[[BinaryIO], None]:
    """Serialize ``state`` now -> a function that writes the bytes to an open file.

    Serializing first means that an unsupported dtype or a missing package raises
    before the temporary file exists.
    """
    safetensors = _package("save")
    arrays = {}
    for key, arr in state.items():
        if key == "__metadata__":
            raise ValueError(f"save: {path!r}: the key '__metadata__' is reserved by the "
                             ".safetensors format; rename that entry or save as .npz.")
        if arr.dtype.name not in _DTYPES:
            raise TypeError(f"save: {key!r} has dtype {arr.dtype}, which .safetensors files "
                            f"do not hold ({', '.join(_DTYPES)}); save as .npz instead.")
        # C order and little-endian: the layout the format stores
        arrays[key] = np.asarray(arr, dtype=arr.dtype.newbyteorder("<"), order="C")
    data = safetensors.numpy.save(arrays)

    def write(f: BinaryIO) -> None:
        f.write(data)

    return write


def _bad(path: str, problem: str) -> ValueError:
    return ValueError(f"load: cannot read {path!r}: {problem}.")


def read(path: str) -> dict[str, np.ndarray]:
    """Read a .safetensors file -> {name: ndarray}; ValueError naming the file if it is bad.

    The 8-byte header length is checked against the file size here, so that a
    hostile length never reaches an allocation; the package validates the rest
    (JSON, dtypes, shapes against offsets, offsets against the file).
    """
    safetensors = _package("load")
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        prefix = f.read(8)
    if len(prefix) < 8:
        raise _bad(path, f"{size} bytes is too short for a .safetensors file, which starts "
                         "with an 8-byte header length")
    header_len = int.from_bytes(prefix, "little")
    if header_len > size - 8:
        raise _bad(path, f"its header length is {header_len} bytes but only {size - 8} bytes "
                         "follow; the file is truncated or not a .safetensors file")
    if header_len > MAX_HEADER_BYTES:
        raise _bad(path, f"its header length {header_len} is over the {MAX_HEADER_BYTES} bytes "
                         "a .safetensors header may have")
    try:
        with safetensors.safe_open(path, framework="numpy") as f:
            state = {}
            for key in f.keys():
                dtype = f.get_slice(key).get_dtype()
                if dtype not in _FILE_DTYPES:
                    unsupported = (key, dtype)
                    break
                state[key] = f.get_tensor(key)
            else:
                return state
    except Exception as exc:  # the package reports every problem as SafetensorError
        raise _bad(path, f"not a valid .safetensors file ({type(exc).__name__}: {exc})") from exc
    key, dtype = unsupported
    raise _bad(path, f"{key!r} has dtype {dtype}, which numpy cannot hold; convert it to "
                     "float32 before saving (in PyTorch: tensor.float())")
