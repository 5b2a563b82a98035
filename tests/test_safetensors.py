"""nn.save / nn.load in the .safetensors format: round trips, PyTorch interop, hostile files."""

from __future__ import annotations

import builtins
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from helpers import require_torch

import nn
from nn import safetensors_io, serialization

safetensors = pytest.importorskip("safetensors")


def _files(directory) -> list[str]:
    return sorted(os.listdir(directory))


def _raw(header: dict | bytes, data: bytes) -> bytes:
    """A .safetensors file by hand: 8-byte little-endian header length, JSON header, data."""
    text = json.dumps(header).encode() if isinstance(header, dict) else header
    return len(text).to_bytes(8, "little") + text + data


# ----------------------------------------------------------------------------- round trips


def test_round_trip_of_a_module(tmp_path):
    model = nn.MLP([4, 5, 3])
    path = tmp_path / "model.safetensors"
    assert nn.save(model, path) is None
    assert _files(tmp_path) == ["model.safetensors"]
    state = nn.load(path)
    assert sorted(state) == sorted(n for n, _ in model.named_parameters())
    for name, p in model.named_parameters():
        assert state[name].dtype == np.float32 and state[name].shape == p.shape
        np.testing.assert_array_equal(state[name], p.data)
        assert state[name].flags.writeable
    other = nn.MLP([4, 5, 3])
    other.load_state_dict(state)
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    np.testing.assert_array_equal(other(x).data, model(x).data)
    # the package's own reader agrees
    from safetensors.numpy import load_file

    assert sorted(load_file(str(path))) == sorted(state)


def test_round_trip_of_awkward_arrays(tmp_path):
    state = {
        "scalar": np.float64(2.5),
        "empty": np.ones((2, 0), dtype=np.float32),
        "flag": np.array([True, False]),
        "count": np.arange(3, dtype=np.int64),
        "strided": np.arange(16.0).reshape(4, 4)[:, ::2],  # not contiguous
        "big_endian": np.arange(3, dtype=">f4"),
        "half": np.array([0.5, -1.0], dtype=np.float16),
    }
    path = tmp_path / "s.safetensors"
    nn.save(state, path)
    back = nn.load(path)
    assert sorted(back) == sorted(state)
    for key, value in state.items():
        assert back[key].shape == np.shape(value), key
        assert back[key].dtype == np.asarray(value).dtype.newbyteorder("="), key
        np.testing.assert_array_equal(back[key], value)


def test_save_refuses_what_the_format_cannot_hold(tmp_path):
    path = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match=r"'z' has dtype complex128, which .safetensors files "
                                        r"do not hold.*save as .npz"):
        nn.save({"z": np.ones(2, dtype=np.complex128)}, path)
    with pytest.raises(ValueError, match=r"x.safetensors.*'__metadata__' is reserved"):
        nn.save({"__metadata__": np.ones(2)}, path)
    assert _files(tmp_path) == []
    # both are fine in .npz
    nn.save({"z": np.ones(2, dtype=np.complex128), "__metadata__": np.ones(2)},
            tmp_path / "x.npz")


# ----------------------------------------------------------------------------- PyTorch


def _twins():
    torch = require_torch()
    ours = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))
    return torch, ours, theirs


def test_a_file_we_write_loads_into_the_pytorch_twin(tmp_path):
    torch, ours, theirs = _twins()
    pytest.importorskip("safetensors.torch")
    from safetensors.torch import load_file

    path = tmp_path / "ours.safetensors"
    nn.save(ours, path)
    theirs.load_state_dict(load_file(str(path)), strict=True)
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(x).data, expected, rtol=1e-6, atol=1e-6)


def test_a_file_pytorch_writes_loads_into_our_model(tmp_path):
    torch, ours, theirs = _twins()
    pytest.importorskip("safetensors.torch")
    from safetensors.torch import save_file

    path = tmp_path / "theirs.safetensors"
    save_file(theirs.state_dict(), str(path))
    ours.load_state_dict(nn.load(path))
    x = np.random.default_rng(2).standard_normal((5, 4)).astype(np.float32)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(x).data, expected, rtol=1e-6, atol=1e-6)


# ----------------------------------------------------------------------------- optional package


def _hide_safetensors(monkeypatch):
    for name in list(sys.modules):
        if name == "safetensors" or name.startswith("safetensors."):
            monkeypatch.delitem(sys.modules, name)
    real_import = builtins.__import__

    def no_safetensors(name, *args, **kwargs):
        if name == "safetensors" or name.startswith("safetensors."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_safetensors)


def test_without_the_package_the_error_says_how_to_install_it(tmp_path, monkeypatch):
    existing = tmp_path / "old.safetensors"
    nn.save({"w": np.zeros(2)}, existing)
    _hide_safetensors(monkeypatch)
    hint = r'pip install "lecturegrad\[interop\]"'
    with pytest.raises(ImportError, match=rf"save: .safetensors files need .*{hint}"):
        nn.save({"w": np.zeros(2)}, tmp_path / "new.safetensors")
    with pytest.raises(ImportError, match=rf"load: .safetensors files need .*{hint}"):
        nn.load(existing)
    assert _files(tmp_path) == ["old.safetensors"]  # nothing written, not even a temporary
    nn.save({"w": np.ones(2)}, tmp_path / "w.npz")  # .npz needs nothing extra
    np.testing.assert_array_equal(nn.load(tmp_path / "w.npz")["w"], np.ones(2))


# ----------------------------------------------------------------------------- atomic writes


def test_a_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    nn.save({"w": np.zeros(3)}, path)
    before = path.read_bytes()

    def failing_replace(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(serialization.os, "replace", failing_replace)
    with pytest.raises(KeyboardInterrupt):
        nn.save({"w": np.ones(3)}, path)
    assert path.read_bytes() == before
    assert _files(tmp_path) == ["model.safetensors"]


def test_save_follows_a_symlink(tmp_path):
    run = tmp_path / "run1.safetensors"
    nn.save({"w": np.zeros(2)}, run)
    latest = tmp_path / "latest.safetensors"
    latest.symlink_to("run1.safetensors")
    nn.save({"w": np.ones(2)}, latest)
    assert latest.is_symlink() and os.readlink(latest) == "run1.safetensors"
    np.testing.assert_array_equal(nn.load(run)["w"], np.ones(2))
    assert _files(tmp_path) == ["latest.safetensors", "run1.safetensors"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX process ids")
def test_save_removes_the_temporary_of_a_dead_process(tmp_path):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    dead = int(finished.stdout)
    stale = tmp_path / f".m.safetensors.{dead}.0badf00d.tmp"
    live = tmp_path / f".m.safetensors.{os.getppid()}.600dcafe.tmp"
    stale.write_bytes(b"partial")
    live.write_bytes(b"partial")
    nn.save({"w": np.zeros(2)}, tmp_path / "m.safetensors")
    assert _files(tmp_path) == sorted([live.name, "m.safetensors"])


# ----------------------------------------------------------------------------- hostile files

_W = {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}

HOSTILE = {
    "too_short": (b"\x01\x02\x03", r"3 bytes is too short for a .safetensors file"),
    "length_beyond_file": (
        (1000).to_bytes(8, "little") + b"{}",
        r"header length is 1000 bytes but only 2 bytes follow"),
    "length_2_60": ((2**60).to_bytes(8, "little") + bytes(64),
                    r"header length is 1152921504606846976 bytes but only 64 bytes follow"),
    "invalid_json": (_raw(b"{not json", bytes(8)), r"invalid JSON"),
    "not_an_object": (_raw(b"[1, 2]", bytes(8)), r"invalid JSON"),
    "overlapping_offsets": (_raw({
        "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, bytes(12)),
        r"invalid offset for tensor `b`"),
    "offsets_past_the_end": (
        _raw({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, bytes(8)),
        r"not fully covered"),
    "unknown_dtype": (_raw({"w": {"dtype": "Q7", "shape": [2], "data_offsets": [0, 8]}},
                           bytes(8)), r"unknown variant `Q7`"),
    "shape_against_offsets": (
        _raw({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, bytes(8)),
        r"invalid shape"),
    "overflowing_shape": (
        _raw({"w": {"dtype": "F32", "shape": [2**40, 2**40], "data_offsets": [0, 8]}},
             bytes(8)),
        r"overflow"),
    "truncated_data": (_raw(_W, bytes(8))[:-3], r"not fully covered"),
    "bfloat16": (_raw({"w": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}, bytes(4)),
                 r"'w' has dtype BF16, which numpy cannot hold"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_load_refuses_hostile_files(tmp_path, case):
    data, problem = HOSTILE[case]
    path = tmp_path / f"{case}.safetensors"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=rf"load: cannot read .*{case}.safetensors.*{problem}"):
        nn.load(path)


def test_the_header_length_is_checked_before_the_package_sees_the_file(tmp_path, monkeypatch):
    def must_not_open(*args, **kwargs):
        raise AssertionError("the file reached the package")

    monkeypatch.setattr(safetensors, "safe_open", must_not_open)
    path = tmp_path / "huge.safetensors"
    path.write_bytes((2**60).to_bytes(8, "little") + b"{}")
    with pytest.raises(ValueError, match=r"huge.safetensors.*header length is "
                                         r"1152921504606846976 bytes but only 2 bytes follow"):
        nn.load(path)
    # a header within the file but over the format's limit (at a small scale)
    monkeypatch.setattr(safetensors_io, "MAX_HEADER_BYTES", 16)
    path.write_bytes(_raw(_W, bytes(8)))
    with pytest.raises(ValueError, match=r"huge.safetensors.*header length \d+ is over the 16 "
                                         r"bytes a .safetensors header may have"):
        nn.load(path)


def test_load_refuses_an_npz_named_safetensors_and_the_reverse(tmp_path):
    npz = tmp_path / "real.npz"
    nn.save({"w": np.zeros(2)}, npz)
    disguised = tmp_path / "disguised.safetensors"
    disguised.write_bytes(npz.read_bytes())
    with pytest.raises(ValueError, match=r"disguised.safetensors"):
        nn.load(disguised)
    st = tmp_path / "real.safetensors"
    nn.save({"w": np.zeros(2)}, st)
    other = tmp_path / "other.npz"
    other.write_bytes(st.read_bytes())
    with pytest.raises(ValueError, match=r"other.npz.*not an .npz archive"):
        nn.load(other)
