"""DataLoader and TensorDataset: every sample once per epoch, repeatable shuffles,
drop_last, len, inputs either way PyTorch users write them, non-numeric data refused."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import require_torch

import autograd as ag
from autograd import Tensor
from nn.data import DataLoader, TensorDataset


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


# ---- PyTorch's form: DataLoader(dataset, batch_size=1, shuffle=False, ...) ------------------

def _same_batch(ours, theirs):
    """Our batch and torch's: the same structure, values and dtypes."""
    if isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs, strict=True):
            _same_batch(o, t)
    elif isinstance(theirs, dict):
        assert list(ours) == list(theirs)
        for key in theirs:
            _same_batch(ours[key], theirs[key])
    elif hasattr(theirs, "numpy"):
        assert isinstance(ours, Tensor)
        np.testing.assert_array_equal(ours.data, theirs.numpy())
        assert ours.data.dtype == theirs.numpy().dtype
    else:
        assert ours == theirs


@pytest.mark.parametrize("kwargs", [{}, dict(batch_size=4), dict(batch_size=3, drop_last=True),
                                    dict(batch_size=None)])
def test_tensor_dataset_batches_equal_torch(kwargs):
    torch = require_torch()
    from torch.utils.data import DataLoader as TorchLoader
    from torch.utils.data import TensorDataset as TorchTensorDataset

    from nn.data import TensorDataset
    X, y = _data(10)
    ours = DataLoader(TensorDataset(X, y), **kwargs)
    theirs = TorchLoader(TorchTensorDataset(torch.from_numpy(X), torch.from_numpy(y)), **kwargs)
    assert len(ours) == len(theirs)
    batches = list(ours)
    assert len(batches) == len(list(theirs))
    for o, t in zip(batches, theirs, strict=True):
        _same_batch(list(o), list(t))
    assert ours.batch_size == theirs.batch_size and not ours.shuffle


class Samples:
    """A map-style data set with no base class: samples of mixed kinds."""

    def __init__(self, n=7):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        x = np.full(3, i, dtype=np.float32)
        return x, i, i / 2, f"s{i}", {"mask": i % 2 == 0, "w": np.float32(i)}


def test_generic_dataset_is_collated_as_torch_default_collate():
    require_torch()
    from torch.utils.data import DataLoader as TorchLoader
    for kwargs in [dict(batch_size=3), dict(batch_size=2, drop_last=True), {}]:
        ours, theirs = DataLoader(Samples(), **kwargs), TorchLoader(Samples(), **kwargs)
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs, strict=True):
            _same_batch(o, t)
    # a list is a data set too, and plain numbers become a Tensor (floats: float64)
    pairs = [(np.ones(2) * i, i) for i in range(5)]
    for o, t in zip(DataLoader(pairs, 2), TorchLoader(pairs, 2), strict=True):
        _same_batch(o, t)
    for o, t in zip(DataLoader([0.5, 1.5, 2.5], 2), TorchLoader([0.5, 1.5, 2.5], 2),
                    strict=True):
        _same_batch(o, t)


def test_positional_order_sampler_batch_sampler_and_collate_fn_as_torch():
    torch = require_torch()
    from torch.utils.data import BatchSampler, SequentialSampler
    from torch.utils.data import DataLoader as TorchLoader
    ds = Samples(9)
    loader = DataLoader(ds, 4, True, generator=ag.Generator().manual_seed(0))
    assert loader.batch_size == 4 and loader.shuffle and len(loader) == 3
    ids = np.concatenate([b[1].data for b in loader])
    assert sorted(ids.tolist()) == list(range(9)) and ids.tolist() != list(range(9))
    order = [8, 1, 5, 0, 2]
    for ours, theirs in [
        (DataLoader(ds, batch_size=2, sampler=order), TorchLoader(ds, batch_size=2, sampler=order)),
        (DataLoader(ds, batch_sampler=[[3, 1], [0], [2, 2]]),
         TorchLoader(ds, batch_sampler=[[3, 1], [0], [2, 2]])),
        # torch's own samplers are iterables of indices: they work here too
        (DataLoader(ds, batch_sampler=BatchSampler(SequentialSampler(ds), 4, False)),
         TorchLoader(ds, batch_sampler=BatchSampler(SequentialSampler(ds), 4, False))),
        (DataLoader(ds, batch_size=None, sampler=order),
         TorchLoader(ds, batch_size=None, sampler=order)),
    ]:
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs, strict=True):
            _same_batch(o, t)

    def firsts(batch):
        return [sample[1] for sample in batch]

    assert list(DataLoader(ds, 5, collate_fn=firsts)) == [[0, 1, 2, 3, 4], [5, 6, 7, 8]]
    assert list(DataLoader(ds, 5, collate_fn=firsts, num_workers=2)) == list(
        TorchLoader(ds, 5, collate_fn=firsts))
    assert torch is not None


def test_torch_form_argument_errors():
    ds = Samples(4)
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(ds, sampler=[0, 1], shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, 2, batch_sampler=[[0, 1]])
    with pytest.raises(ValueError, match="batch_size=None option disables auto-batching"):
        DataLoader(ds, batch_size=None, drop_last=True)
    with pytest.raises(NotImplementedError, match="worker_init_fn"):
        DataLoader(ds, num_workers=2, worker_init_fn=print)
    with pytest.raises(ValueError, match="prefetch_factor and persistent_workers need"):
        DataLoader(ds, persistent_workers=True)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        DataLoader(ds, 0)
    with pytest.raises(TypeError, match="batch_size must be an int, got 2.5"):
        DataLoader(ds, 2.5)
    with pytest.raises(TypeError, match="generator= must be an ag.Generator"):
        DataLoader(ds, generator=np.random.default_rng(0))
    with pytest.raises(ValueError, match="give seed= or generator=, not both"):
        DataLoader(ds, seed=1, generator=ag.Generator())
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal"):
        next(iter(DataLoader([[1, 2], [3]], batch_size=2)))
    with pytest.raises(RuntimeError, match=r"same shape, got \(2,\) and \(3,\)"):
        next(iter(DataLoader([np.ones(2), np.ones(3)], batch_size=2)))
    with pytest.raises(TypeError, match="default_collate: .*found object"):
        next(iter(DataLoader([object()], batch_size=1)))


def test_an_int_where_y_goes_says_what_to_write():
    X, y = _data(10)
    with pytest.raises(TypeError, match=r"the second argument is the targets y, got the int 64\. "
                                        r"Write DataLoader\(X, y, batch_size=64\)"):
        DataLoader(X, 64)
    with pytest.raises(TypeError, match="TensorDataset\\(X, y\\), 8\\) in PyTorch's order"):
        DataLoader(Tensor(X), 8)


def test_generator_gives_repeatable_epochs_and_leaves_the_shared_stream_alone():
    X, y = _data(40)
    from nn.data import TensorDataset

    def epochs(loader, k=3):
        return [np.concatenate([b[1].data for b in loader]).tolist() for _ in range(k)]

    for make in (lambda g: DataLoader(X, y, batch_size=8, generator=g),
                 lambda g: DataLoader(TensorDataset(X, y), 8, shuffle=True, generator=g)):
        ag.manual_seed(0)
        shared = ag.randn(3).data
        ag.manual_seed(0)
        a = epochs(make(ag.Generator().manual_seed(5)))
        np.testing.assert_array_equal(ag.randn(3).data, shared)  # the shared stream untouched
        b = epochs(make(ag.Generator().manual_seed(5)))
        c = epochs(make(ag.Generator().manual_seed(6)))
        assert a == b and a != c
        assert a[0] != a[1]  # each epoch draws a new order from the generator
    # both forms, the same seed: the same epochs
    assert epochs(DataLoader(X, y, batch_size=8, seed=3)) == epochs(
        DataLoader(TensorDataset(X, y), 8, shuffle=True, seed=3))


def test_dataset_base_class_and_seed_none_follows_manual_seed_in_torch_form():
    from nn.data import Dataset

    class Squares(Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            return np.float64(i * i)

    loader = DataLoader(Squares(), batch_size=6, shuffle=True)
    ag.manual_seed(2)
    a = next(iter(DataLoader(Squares(), batch_size=6, shuffle=True))).data.tolist()
    ag.manual_seed(2)
    b = next(iter(DataLoader(Squares(), batch_size=6, shuffle=True))).data.tolist()
    assert a == b and sorted(a) == [0, 1, 4, 9, 16, 25]
    assert len(loader) == 1 and "6 samples, batch_size=6, shuffle=True" in repr(loader)
    with pytest.raises(NotImplementedError, match="must define __getitem__"):
        Dataset()[0]


def test_tensor_dataset_len_and_rows():
    X, y = np.arange(12.0).reshape(6, 2), np.arange(6)
    ds = TensorDataset(X, y)
    assert len(ds) == 6
    xi, yi = ds[4]
    np.testing.assert_array_equal(xi.data, X[4])
    assert yi.item() == 4


# ---- TensorDataset and DataLoader, as PyTorch users write them ---------------------------


def _xy(n=10):
    X = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64)
    return X, y


def test_tensor_dataset_len_indexing_and_tensors():
    X, y = _xy()
    ds = TensorDataset(X, y)
    assert len(ds) == 10
    xi, yi = ds[3]
    assert isinstance(xi, Tensor) and isinstance(yi, Tensor)
    np.testing.assert_array_equal(xi.data, X[3])
    assert yi.item() == 3
    assert len(ds.tensors) == 2 and all(isinstance(t, Tensor) for t in ds.tensors)
    np.testing.assert_array_equal(ds.tensors[0].data, X)
    tx = Tensor(X)
    assert TensorDataset(tx, y).tensors[0] is tx  # Tensors are kept, as PyTorch does


def test_dataloader_over_a_dataset_equals_dataloader_over_arrays():
    X, y = _xy(23)
    # the same arguments (a data set first takes PyTorch's defaults: shuffle=False)
    a = DataLoader(TensorDataset(X, y), batch_size=5, shuffle=True, seed=7)
    b = DataLoader(X, y, batch_size=5, seed=7)
    assert len(a) == len(b) == 5
    for _ in range(2):  # two epochs
        for (xa, ya), (xb, yb) in zip(a, b, strict=True):
            np.testing.assert_array_equal(xa.data, xb.data)
            np.testing.assert_array_equal(ya.data, yb.data)


@pytest.mark.parametrize("k", [1, 3])
def test_dataloader_over_one_or_three_tensors_gives_lists_of_that_length(k):
    X, y = _xy(10)
    w = np.linspace(0, 1, 10)
    tensors = (X, y, w)[:k]
    batches = list(DataLoader(TensorDataset(*tensors), batch_size=4, shuffle=False))
    assert [len(b) for b in batches] == [k] * 3
    assert all(isinstance(b, list) for b in batches)  # as PyTorch's default_collate
    for i, t in enumerate(tensors):
        np.testing.assert_array_equal(np.concatenate([b[i].data for b in batches]), t)


def test_dataloader_over_x_alone_yields_tensors():
    X, _ = _xy(10)
    batches = list(DataLoader(X, batch_size=4, shuffle=False))
    assert all(isinstance(b, Tensor) for b in batches)
    np.testing.assert_array_equal(np.concatenate([b.data for b in batches]), X)


def test_dataset_with_y_again_and_length_mismatch_raise():
    X, y = _xy(10)
    with pytest.raises(TypeError, match="already holds the targets"):
        DataLoader(TensorDataset(X, y), y)
    with pytest.raises(ValueError, match=r"TensorDataset: the tensors must hold the same number "
                                         r"of samples, got 10 in tensor 0 \(shape \(10, 3\)\), "
                                         r"9 in tensor 1"):
        TensorDataset(X, y[:9])
    with pytest.raises(TypeError, match="at least one tensor"):
        TensorDataset()


@pytest.mark.parametrize("bad, dtype", [
    (np.array(["cat", "dog"]), "<U3"),
    (["cat", "dog"], "<U3"),
    (np.array([1, "a"], dtype=object), "object"),
    (np.array([{"a": 1}, None], dtype=object), "object"),
])
def test_dataloader_refuses_non_numeric_data_naming_the_dtype(bad, dtype):
    X, _ = _xy(2)
    with pytest.raises(TypeError, match=rf"DataLoader: y must hold numbers .*dtype {dtype}"):
        DataLoader(X, bad)
    if isinstance(bad, list):  # a list alone is a data set, as in PyTorch: strings stay
        assert list(DataLoader(bad, batch_size=2)) == [bad]
    else:
        with pytest.raises(TypeError, match=rf"DataLoader: X must hold numbers .*{dtype}"):
            DataLoader(bad)
    with pytest.raises(TypeError, match=rf"TensorDataset: tensor 1 must hold numbers .*{dtype}"):
        TensorDataset(X, bad)
