"""DataLoader: every sample once per epoch, repeatable shuffles, drop_last, len, inputs."""

from __future__ import annotations

import numpy as np
import pytest

import autograd as ag
from autograd import Tensor
from nn.data import DataLoader


def _data(n=10, d=3):
    X = np.arange(n * d, dtype=np.float32).reshape(n, d)
    y = np.arange(n, dtype=np.int64)
    return X, y


def _epoch(loader):
    return [(xb, yb) for xb, yb in loader]


@pytest.mark.parametrize("n,batch_size,shuffle", [(10, 3, True), (10, 3, False), (10, 5, True),
                                                   (7, 32, True), (1, 1, False)])
def test_each_sample_exactly_once_per_epoch(n, batch_size, shuffle):
    X, y = _data(n)
    loader = DataLoader(X, y, batch_size=batch_size, shuffle=shuffle, seed=0)
    for _ in range(3):
        batches = _epoch(loader)
        assert len(batches) == len(loader) == -(-n // batch_size)
        assert all(isinstance(xb, Tensor) and isinstance(yb, Tensor) for xb, yb in batches)
        assert [len(yb) for _, yb in batches[:-1]] == [batch_size] * (len(batches) - 1)
        ids = np.concatenate([yb.data for _, yb in batches])
        assert sorted(ids.tolist()) == list(range(n))
        for xb, yb in batches:  # inputs stay paired with their targets
            np.testing.assert_array_equal(xb.data, X[yb.data])
        if not shuffle:
            assert ids.tolist() == list(range(n))


def test_batches_keep_dtypes_do_not_require_grad_and_own_their_memory():
    X, y = _data()
    loader = DataLoader(X, y, batch_size=4, shuffle=False)
    xb, yb = next(iter(loader))
    assert xb.dtype == np.float32 and yb.dtype == np.int64
    assert not xb.requires_grad and not yb.requires_grad
    assert not np.shares_memory(xb.data, X) and not np.shares_memory(yb.data, y)
    xb.data[...] = -1
    assert X.min() == 0
    X64 = X.astype(np.float64)
    y32 = y.astype(np.int32)
    xb, yb = next(iter(DataLoader(X64, y32, batch_size=4)))
    assert xb.dtype == np.float64 and yb.dtype == np.int32


def test_same_seed_same_sequence_of_epochs():
    X, y = _data(50)
    a = DataLoader(X, y, batch_size=8, seed=42)
    b = DataLoader(X, y, batch_size=8, seed=42)
    for _ in range(3):
        ea = [yb.data for _, yb in a]
        eb = [yb.data for _, yb in b]
        assert all(np.array_equal(u, v) for u, v in zip(ea, eb, strict=True))
    c = DataLoader(X, y, batch_size=8, seed=43)
    assert not np.array_equal(next(iter(DataLoader(X, y, batch_size=50, seed=42)))[1].data,
                              next(iter(c))[1].data)


def test_epochs_differ_when_shuffling():
    X, y = _data(50)
    loader = DataLoader(X, y, batch_size=50, seed=0)
    orders = [next(iter(loader))[1].data.tolist() for _ in range(3)]
    assert orders[0] != orders[1] != orders[2]
    assert orders[0] != list(range(50))
    fixed = DataLoader(X, y, batch_size=50, shuffle=False)
    assert [next(iter(fixed))[1].data.tolist() for _ in range(2)] == [list(range(50))] * 2


def test_seed_none_follows_manual_seed():
    X, y = _data(30)
    ag.manual_seed(5)
    a = [yb.data.tolist() for _, yb in DataLoader(X, y, batch_size=30)]
    ag.manual_seed(5)
    b = [yb.data.tolist() for _, yb in DataLoader(X, y, batch_size=30)]
    assert a == b
    c = [yb.data.tolist() for _, yb in DataLoader(X, y, batch_size=30)]
    assert c != a  # the shared generator moved on


def test_drop_last():
    X, y = _data(10)
    loader = DataLoader(X, y, batch_size=3, drop_last=True, seed=1)
    assert len(loader) == 3
    batches = _epoch(loader)
    assert [len(yb) for _, yb in batches] == [3, 3, 3]
    assert len(set(np.concatenate([yb.data for _, yb in batches]).tolist())) == 9
    assert len(DataLoader(X, y, batch_size=5, drop_last=True)) == 2
    assert len(DataLoader(X, y, batch_size=11, drop_last=True)) == 0
    assert _epoch(DataLoader(X, y, batch_size=11, drop_last=True)) == []
    assert len(DataLoader(X, y, batch_size=11)) == 1


def test_tensor_and_list_inputs():
    X, y = _data(6)
    loader = DataLoader(Tensor(X), Tensor(y), batch_size=4, shuffle=False)
    xb, yb = next(iter(loader))
    np.testing.assert_array_equal(xb.data, X[:4])
    assert yb.dtype == np.int64
    xb, yb = next(iter(DataLoader([[0.5], [1.5]], [0, 1], batch_size=2, shuffle=False)))
    assert xb.dtype == np.float32 and yb.dtype == np.int64  # Tensor's rules for lists


def test_mismatched_lengths_and_bad_arguments():
    X, y = _data(10)
    with pytest.raises(ValueError, match=r"same number of samples, got 10 inputs \(X of shape "
                                         r"\(10, 3\)\) and 9 targets"):
        DataLoader(X, y[:9])
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        DataLoader(X, y, batch_size=0)
    with pytest.raises(TypeError, match="batch_size must be an int, got 2.5"):
        DataLoader(X, y, batch_size=2.5)
    with pytest.raises(ValueError, match="the data set is empty"):
        DataLoader(X[:0], y[:0])
    with pytest.raises(ValueError, match="X must have a sample axis first"):
        DataLoader(np.float32(1.0), y)
    with pytest.raises(TypeError, match="y must be an ndarray or a Tensor, got object"):
        DataLoader(X, object())


def test_repr():
    X, y = _data(10)
    assert repr(DataLoader(X, y, batch_size=4)) == (
        "DataLoader(10 samples, batch_size=4, shuffle=True, drop_last=False, 3 batches)")


def test_epoch_orders_are_successive_permutations_of_the_seeded_generator():
    # documented order (benchmarks/workloads.py relies on it): epoch k visits the samples in
    # the k-th np.random.default_rng(seed).permutation(n)
    n = 23
    ids = np.arange(n)
    loader = DataLoader(ids, ids, batch_size=5, seed=11)
    rng = np.random.default_rng(11)
    for _ in range(3):
        order = np.concatenate([yb.data for _, yb in loader])
        np.testing.assert_array_equal(order, rng.permutation(n))
