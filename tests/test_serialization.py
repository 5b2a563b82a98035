"""nn.save / nn.load: round trips, atomic writes, and refusing malformed or hostile files."""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np
import pytest

import nn
from autograd import Tensor
from nn import serialization


def _files(directory) -> list[str]:
    return sorted(os.listdir(directory))


def test_round_trip_of_a_module(tmp_path):
    model = nn.MLP([4, 5, 3])
    path = tmp_path / "model.npz"
    assert nn.save(model, path) is None
    state = nn.load(path)
    assert list(state) == [n for n, _ in model.named_parameters()]
    for name, p in model.named_parameters():
        assert state[name].dtype == np.float32 and state[name].shape == p.shape
        np.testing.assert_array_equal(state[name], p.data)
    other = nn.MLP([4, 5, 3])
    other.load_state_dict(state)
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    np.testing.assert_array_equal(other(x).data, model(x).data)
    assert _files(tmp_path) == ["model.npz"]
    # a plain numpy reader understands the file too
    with np.load(path, allow_pickle=False) as data:
        assert sorted(data.files) == sorted(state)


def test_round_trip_of_a_dict_with_awkward_keys(tmp_path):
    state = {
        "file": np.arange(3, dtype=np.int64),  # clashes with np.savez's own argument names
        "allow_pickle": np.float64(2.5),
        "a.b.c": np.ones((2, 0), dtype=np.float32),
        "t": Tensor(np.eye(2)),
        "flag": np.array([True, False]),
    }
    path = str(tmp_path / "state")  # no '.npz': the path is used as given
    nn.save(state, path)
    assert _files(tmp_path) == ["state"]
    back = nn.load(path)
    assert list(back) == list(state)
    np.testing.assert_array_equal(back["file"], [0, 1, 2])
    assert back["allow_pickle"].shape == () and back["allow_pickle"] == 2.5
    assert back["a.b.c"].shape == (2, 0) and back["a.b.c"].dtype == np.float32
    np.testing.assert_array_equal(back["t"], np.eye(2))
    assert back["flag"].dtype == bool


def test_save_replaces_an_existing_file(tmp_path):
    path = tmp_path / "m.npz"
    nn.save({"w": np.zeros(2)}, path)
    nn.save({"w": np.ones(3)}, path)
    np.testing.assert_array_equal(nn.load(path)["w"], np.ones(3))
    assert _files(tmp_path) == ["m.npz"]


def test_save_refuses_what_it_cannot_store(tmp_path):
    with pytest.raises(TypeError, match="'names' has dtype object"):
        nn.save({"names": np.array(["a", None], dtype=object)}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="keys must be non-empty strings, got 3"):
        nn.save({3: np.zeros(1)}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="expected a Module or a state dict"):
        nn.save([np.zeros(1)], tmp_path / "x.npz")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        nn.save({"w": np.zeros(1)}, tmp_path / "missing" / "x.npz")
    assert _files(tmp_path) == []


def _crash_after_partial_write(monkeypatch):
    real = serialization.npy_format.write_array
    calls = []

    def write_then_crash(fh, arr, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            fh.write(b"\x93NUMPY partial")
            raise OSError("disk full (simulated)")
        return real(fh, arr, *args, **kwargs)

    monkeypatch.setattr(serialization.npy_format, "write_array", write_then_crash)
    return calls


def test_atomic_write_keeps_the_old_file_when_a_write_crashes(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    old = nn.MLP([3, 4, 2])
    nn.save(old, path)
    before = path.read_bytes()
    calls = _crash_after_partial_write(monkeypatch)
    with pytest.raises(OSError, match="disk full"):
        nn.save(nn.MLP([3, 4, 2]), path)
    assert len(calls) == 2  # it crashed in the middle of the archive
    assert path.read_bytes() == before
    assert _files(tmp_path) == ["model.npz"]  # no temporary file left behind
    for name, value in nn.load(path).items():
        np.testing.assert_array_equal(value, old.state_dict()[name])


def test_atomic_write_crash_before_the_rename_leaves_no_file(tmp_path, monkeypatch):
    def failing_replace(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(serialization.os, "replace", failing_replace)
    with pytest.raises(KeyboardInterrupt):
        nn.save({"w": np.zeros(4)}, tmp_path / "new.npz")
    assert _files(tmp_path) == []


def test_load_refuses_object_arrays(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, w=np.zeros(2), payload=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError, match=r"evil.npz.*'payload.npy' holds an array of dtype "
                                         r"object.*would need pickle"):
        nn.load(path)


def test_load_never_unpickles(tmp_path):
    import pickle

    class Boom:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    path = tmp_path / "pickle.npz"
    path.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(ValueError, match=r"pickle.npz.*not an .npz archive \(not a zip file\)"):
        nn.load(path)
    assert not (tmp_path / "pwned").exists()


def test_load_refuses_non_zip_and_npy_files(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match=r"notes.txt.*not a zip file"):
        nn.load(text)
    single = tmp_path / "one.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(ValueError, match=r"one.npy.*single .npy array, not an .npz"):
        nn.load(single)
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty.npz"):
        nn.load(empty)


def test_load_refuses_truncated_files(tmp_path):
    path = tmp_path / "model.npz"
    nn.save(nn.MLP([20, 30, 10]), path)
    data = path.read_bytes()
    for cut in (len(data) // 3, len(data) - 30, 100):
        cut_path = tmp_path / f"cut{cut}.npz"
        cut_path.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=rf"cut{cut}.npz"):
            nn.load(cut_path)


def test_load_refuses_corrupt_members(tmp_path):
    # a header that promises far more data than the member holds
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f8", "fortran_order": False, "shape": (10**10,)})
    fixed = buf.getvalue()
    path = tmp_path / "liar.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("w.npy", fixed + np.zeros(4).tobytes())
    with pytest.raises(ValueError, match=r"liar.npz.*'w.npy' declares"):
        nn.load(path)
    # a member that is no .npy at all
    other = tmp_path / "other.npz"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("w.npy", b"not an array")
    with pytest.raises(ValueError, match="other.npz.*corrupt or truncated"):
        nn.load(other)
    # a member that is not an .npy file
    extra = tmp_path / "extra.npz"
    with zipfile.ZipFile(extra, "w") as zf:
        zf.writestr("run.sh", b"rm -rf /")
    with pytest.raises(ValueError, match=r"extra.npz.*unexpected member 'run.sh'"):
        nn.load(extra)


def test_load_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no such file .*nothere.npz"):
        nn.load(tmp_path / "nothere.npz")
    with pytest.raises(ValueError, match="is a directory"):
        nn.load(tmp_path)


def test_load_reads_compressed_numpy_archives(tmp_path):
    path = tmp_path / "c.npz"
    np.savez_compressed(path, w=np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(nn.load(path)["w"], np.arange(6.0).reshape(2, 3))
