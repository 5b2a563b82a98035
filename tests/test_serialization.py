"""nn.save / nn.load: round trips, atomic writes, and refusing malformed or hostile files."""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np
import pytest
from helpers import peak_bytes_while

import autograd as ag
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
    path = str(tmp_path / "state.npz")
    nn.save(state, path)
    assert _files(tmp_path) == ["state.npz"]
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


@pytest.mark.parametrize("name", ["state", "model.pt", "model.npz.bak", "weights.json"])
def test_the_suffix_picks_the_format_and_others_are_refused(tmp_path, name):
    path = tmp_path / name
    with pytest.raises(ValueError, match=rf"save: cannot tell the format of .*{name}.*'\*\.npz'"
                                         r".*'\*\.safetensors'"):
        nn.save({"w": np.zeros(2)}, path)
    assert _files(tmp_path) == []
    path.write_bytes(b"anything")
    with pytest.raises(ValueError, match=rf"load: cannot tell the format of .*{name}.*'\*\.npz'"):
        nn.load(path)


def test_the_suffix_is_read_case_insensitively(tmp_path):
    nn.save({"w": np.arange(3.0)}, tmp_path / "MODEL.NPZ")
    np.testing.assert_array_equal(nn.load(tmp_path / "MODEL.NPZ")["w"], [0.0, 1.0, 2.0])


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
    text = tmp_path / "notes.npz"  # text under an .npz name
    text.write_text("hello")
    with pytest.raises(ValueError, match=r"notes.npz.*not a zip file"):
        nn.load(text)
    single = tmp_path / "one.npz"  # a single .npy array under an .npz name
    with open(single, "wb") as f:
        np.save(f, np.zeros(3))
    with pytest.raises(ValueError, match=r"one.npz.*single .npy array, not an .npz"):
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


def _deflated_zeros(path, header_shape: tuple, data_bytes: int) -> int:
    """An .npz whose one deflated member is an .npy header for ``header_shape`` float64
    followed by ``data_bytes`` zero bytes, streamed (the test never holds them at once);
    returns the header's length."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": header_shape})
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("w.npy", "w") as member:
            member.write(header.getvalue())
            chunk = bytes(2**20)
            for start in range(0, data_bytes, len(chunk)):
                member.write(chunk[:data_bytes - start])
    return len(header.getvalue())


def test_load_refuses_an_honest_bomb_before_allocating(tmp_path):
    # 128 MiB of zeros deflate ~1000:1 into ~130 KB, every size in the zip truthful: within
    # deflate's ratio, but beyond max(32 x the file, 64 MiB)
    path = tmp_path / "bomb.npz"
    _deflated_zeros(path, (2**24,), 2**27)
    assert path.stat().st_size < 2**18
    _expect_refusal(path, r"bomb.npz.*'w.npy' brings what the members inflate to to 134217856 "
                          r"bytes, more than load reads from a file of \d+ bytes \(67108864: "
                          r"max\(32 x the file, 64 MiB\)\)")


def test_load_refuses_a_member_that_inflates_past_its_declared_size(tmp_path):
    # the directory and the .npy header claim 16 float64s; the stream inflates to 64 MiB
    path = tmp_path / "liar.npz"
    header_size = _deflated_zeros(path, (16,), 2**26)
    _patch_uncompressed_size(path, header_size + 8 * 16)
    _expect_refusal(path, r"liar.npz.*'w.npy'")


def test_the_capped_stream_refuses_bytes_beyond_the_declared_size():
    fh = serialization._CappedReader(io.BytesIO(bytes(100)), "w.npy", 60)
    assert len(fh.read(50)) == 50 and fh.read(10) == bytes(10)
    with pytest.raises(serialization._Bad,
                       match="'w.npy' inflates to more bytes than the zip directory declares"):
        fh.read(1)


def test_load_reads_compressed_models_and_all_zero_layers(tmp_path):
    ag.manual_seed(0)
    model = nn.models.GPT(vocab_size=65, block_size=32, n_layer=2, n_head=4, n_embd=64)
    state = dict(model.state_dict())
    state["zeros"] = np.zeros((2048, 2048))  # 32 MiB that deflate ~1000:1: within the slack
    path = tmp_path / "model.npz"
    np.savez_compressed(path, **state)
    assert path.stat().st_size < 2**20
    back = nn.load(path)
    assert sorted(back) == sorted(state)
    for k, v in state.items():
        np.testing.assert_array_equal(back[k], v, err_msg=k)
        assert back[k].dtype == v.dtype


def test_load_reads_fortran_ordered_and_big_endian_members(tmp_path):
    path = tmp_path / "orders.npz"
    f = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    b = np.arange(5, dtype=">i4")
    np.savez_compressed(path, f=f, b=b, e=np.zeros((0, 3), dtype=np.float32))
    back = nn.load(path)
    np.testing.assert_array_equal(back["f"], f)
    np.testing.assert_array_equal(back["b"], b)
    assert back["e"].shape == (0, 3) and back["e"].dtype == np.float32


def test_load_reads_compressed_numpy_archives(tmp_path):
    path = tmp_path / "c.npz"
    np.savez_compressed(path, w=np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(nn.load(path)["w"], np.arange(6.0).reshape(2, 3))


# ----------------------------------------------------------------------------- process state


def _current_umask() -> int:
    umask = os.umask(0)  # the test reads it once, before save runs; save itself never does
    os.umask(umask)
    return umask


def test_save_never_touches_the_umask(tmp_path, monkeypatch):
    umask = _current_umask()

    def forbidden(mask):
        raise AssertionError("save changed the process umask")

    monkeypatch.setattr(os, "umask", forbidden)
    path = tmp_path / "new.npz"
    nn.save({"w": np.zeros(2)}, path)
    # the mode a plain open() gives a new file
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    # an existing file keeps its mode
    path.chmod(0o600)
    nn.save({"w": np.ones(2)}, path)
    assert path.stat().st_mode & 0o777 == 0o600
    np.testing.assert_array_equal(nn.load(path)["w"], np.ones(2))


def test_save_follows_a_symlink(tmp_path):
    run3 = tmp_path / "run3.npz"
    nn.save({"w": np.zeros(2)}, run3)
    latest = tmp_path / "latest.npz"
    latest.symlink_to("run3.npz")  # relative, as `ln -s run3.npz latest.npz` makes it
    nn.save({"w": np.ones(3)}, latest)
    assert latest.is_symlink() and os.readlink(latest) == "run3.npz"
    np.testing.assert_array_equal(nn.load(run3)["w"], np.ones(3))
    # a link into another directory, whose target does not exist yet: the target is created
    (tmp_path / "runs").mkdir()
    best = tmp_path / "best.npz"
    best.symlink_to(tmp_path / "runs" / "run4.npz")
    nn.save({"w": np.full(2, 7.0)}, best)
    assert best.is_symlink()
    np.testing.assert_array_equal(nn.load(tmp_path / "runs" / "run4.npz")["w"], [7.0, 7.0])
    assert _files(tmp_path) == ["best.npz", "latest.npz", "run3.npz", "runs"]
    assert _files(tmp_path / "runs") == ["run4.npz"]


_STALLED_SAVE = """
import sys, time
import numpy as np
from nn import serialization

real = serialization.npy_format.write_array

def write_then_stall(fh, arr, *args, **kwargs):
    real(fh, arr, *args, **kwargs)
    print("writing", flush=True)
    time.sleep(120)

serialization.npy_format.write_array = write_then_stall
serialization.save({"w": np.zeros(1000)}, sys.argv[1])
"""


@pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL and POSIX process ids")
def test_save_removes_temporaries_of_killed_saves_only(tmp_path):
    import signal
    import subprocess
    import sys

    path = tmp_path / "model.npz"
    root = os.path.dirname(os.path.dirname(os.path.abspath(nn.__file__)))
    proc = subprocess.Popen([sys.executable, "-c", _STALLED_SAVE, str(path)], cwd=root,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "writing\n"  # it stalls in the middle of the archive
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    (stale,) = _files(tmp_path)
    assert stale.startswith(".model.npz.") and f".{proc.pid}." in stale
    # temporaries of saves still running: another live process, this process (another thread)
    alive_elsewhere = f".model.npz.{os.getppid()}.0123abcd.tmp"
    alive_here = f".model.npz.{os.getpid()}.4567cdef.tmp"
    other_target = f".other.npz.{proc.pid}.89abcdef.tmp"
    for name in (alive_elsewhere, alive_here, other_target):
        (tmp_path / name).write_bytes(b"partial")
    nn.save({"w": np.ones(2)}, path)
    assert _files(tmp_path) == sorted([alive_elsewhere, alive_here, other_target, "model.npz"])
    np.testing.assert_array_equal(nn.load(path)["w"], np.ones(2))


# ----------------------------------------------------------------------------- zip bombs


def _npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr)
    return buf.getvalue()


def _expect_refusal(path, match: str) -> None:
    def attempt():
        with pytest.raises(ValueError, match=match):
            nn.load(path)

    assert peak_bytes_while(attempt) < 2**20  # refused before decompressing or allocating


def test_load_refuses_compression_methods_save_never_writes(tmp_path):
    path = tmp_path / "bomb.npz"  # 8 MiB of zeros in a few hundred bytes
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_BZIP2) as zf:
        zf.writestr("w.npy", _npy_bytes(np.zeros(2**20)))
    assert path.stat().st_size < 1000
    _expect_refusal(path, r"bomb.npz.*'w.npy' is compressed with bzip2; only stored or deflated")


def _patch_uncompressed_size(path, size: int) -> None:
    """Make the zip's central directory claim ``size`` uncompressed bytes for its member."""
    data = bytearray(path.read_bytes())
    at = data.rindex(b"PK\x01\x02")  # the central directory entry of the only member
    data[at + 24:at + 28] = size.to_bytes(4, "little")
    path.write_bytes(bytes(data))


def test_load_refuses_a_deflated_member_beyond_the_deflate_ratio(tmp_path):
    # the .npy header and the zip directory agree on 1 GiB; the deflate stream holds a few bytes
    n = 2**27
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (n,)})
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("w.npy", header.getvalue() + bytes(64))
    _patch_uncompressed_size(path, len(header.getvalue()) + 8 * n)
    _expect_refusal(path, r"bomb.npz.*'w.npy' claims to expand from \d+ to 1073741952 bytes, "
                          r"more than deflate's maximum ratio of 1032:1")


def test_load_refuses_members_that_overlap(tmp_path):
    path = tmp_path / "overlap.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.npy", _npy_bytes(np.zeros(80)))
        zf.writestr("b.npy", _npy_bytes(np.zeros(80)))
    # the first member now claims its bytes run on over the second member's
    data = bytearray(path.read_bytes())
    at = data.index(b"PK\x01\x02")
    size = int.from_bytes(data[at + 20:at + 24], "little") + 700
    data[at + 20:at + 28] = size.to_bytes(4, "little") * 2  # compressed and uncompressed
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"overlap.npz.*members claim \d+ compressed bytes in "
                                         r"all but the file has \d+; members overlap"):
        nn.load(path)


def test_load_refuses_a_header_that_disagrees_with_the_member_size(tmp_path):
    path = tmp_path / "short.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (2,)})
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("w.npy", header.getvalue() + np.zeros(4).tobytes())
    with pytest.raises(ValueError, match=r"short.npz.*'w.npy' declares \(2,\) float64 \(16 "
                                         r"bytes\) but holds 32 bytes"):
        nn.load(path)


def test_load_reads_highly_compressed_honest_archives(tmp_path):
    path = tmp_path / "zeros.npz"  # 2 MiB of zeros deflate about 1000:1, within the bound
    np.savez_compressed(path, w=np.zeros(2**18), b=np.arange(3.0))
    assert path.stat().st_size < 2**12
    state = nn.load(path)
    assert state["w"].shape == (2**18,) and not state["w"].any()
    np.testing.assert_array_equal(state["b"], [0.0, 1.0, 2.0])
