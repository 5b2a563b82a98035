"""Data for a training loop: TensorDataset (samples as rows of arrays) and DataLoader.

``DataLoader(X, y)`` and ``DataLoader(TensorDataset(X, y))`` give the same
mini-batches for the same seed, as PyTorch users write it either way.
"""

from __future__ import annotations

import operator
from typing import Any, Iterator

import numpy as np

from autograd import Tensor, defaults

__all__ = ["TensorDataset", "DataLoader"]


def _array(x: Any, what: str, where: str = "DataLoader") -> np.ndarray:
    """The samples as a numeric ndarray with a sample axis first.

    A Tensor's values and an ndarray are used as they are (dtype kept); lists
    follow Tensor's rules (floats -> the default dtype). Strings, objects and
    other non-numeric data raise, naming the dtype.
    """
    if isinstance(x, Tensor):
        arr = x.data
    elif isinstance(x, np.ndarray):
        arr = x
    else:
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{where}: {what} must be an ndarray or a Tensor, got {type(x).__name__}."
            ) from exc
        if arr.dtype.kind == "O" and arr.ndim == 0:  # not array-like at all
            raise TypeError(
                f"{where}: {what} must be an ndarray or a Tensor, got {type(x).__name__}."
            )
        if arr.dtype.kind in "fiub":
            arr = Tensor(x).data  # lists follow Tensor's dtype rules (floats -> default dtype)
    if arr.dtype.kind not in "fiub":
        raise TypeError(
            f"{where}: {what} must hold numbers (float, int or bool), got data of dtype "
            f"{arr.dtype} (a {type(x).__name__}); convert it first, e.g. to class ids with "
            "np.unique(labels, return_inverse=True)[1], or to floats with "
            "np.asarray(data, dtype=np.float32)."
        )
    if arr.ndim == 0:
        raise ValueError(f"{where}: {what} must have a sample axis first, got a 0-d array.")
    return arr


def _same_length(arrays: list[np.ndarray], names: list[str], where: str) -> None:
    n = len(arrays[0])
    if names == ["X", "y"] and len(arrays[1]) != n:
        X, y = arrays
        raise ValueError(
            f"{where}: X and y must hold the same number of samples, got {len(X)} inputs "
            f"(X of shape {X.shape}) and {len(y)} targets (y of shape {y.shape})."
        )
    if any(len(a) != n for a in arrays):
        sizes = ", ".join(f"{len(a)} in {name} (shape {a.shape})"
                          for a, name in zip(arrays, names, strict=True))
        raise ValueError(
            f"{where}: the tensors must hold the same number of samples, got {sizes}."
        )


class TensorDataset:
    """Samples as the rows of one or more arrays: ``TensorDataset(X, y)``, as PyTorch's.

    ``len(ds)`` is the number of samples, ``ds[i]`` the tuple of i-th rows
    (Tensors), ``ds.tensors`` the whole Tensors. Any number of tensors works
    (inputs only, or inputs, targets and weights); all hold the same number
    of samples.
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise TypeError("TensorDataset: give at least one tensor, e.g. TensorDataset(X, y).")
        names = [f"tensor {i}" for i in range(len(tensors))]
        self._arrays = [_array(t, name, "TensorDataset") for t, name in zip(tensors, names,
                                                                              strict=True)]
        _same_length(self._arrays, names, "TensorDataset")
        self.tensors: tuple[Tensor, ...] = tuple(
            t if isinstance(t, Tensor) else Tensor._wrap(a)
            for t, a in zip(tensors, self._arrays, strict=True)
        )

    def __len__(self) -> int:
        return len(self._arrays[0])

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(Tensor._wrap(np.array(a[index])) for a in self._arrays)

    def __repr__(self) -> str:
        shapes = ", ".join(str(a.shape) for a in self._arrays)
        return f"TensorDataset({len(self)} samples; shapes {shapes})"


class DataLoader:
    """Iterate mini-batches of a data set, each sample once per epoch.

    ``DataLoader(X, y)`` yields ``(Tensor, Tensor)`` batches;
    ``DataLoader(TensorDataset(X, y))`` yields the same batches for the same
    seed; a TensorDataset of k tensors yields k-tuples; ``DataLoader(X)``
    alone yields single Tensors (as PyTorch's loader over one tensor).

    Every ``for`` loop over the loader is one epoch; with ``shuffle`` each epoch
    visits the samples in a new random order. The loader owns a generator made
    from ``seed`` at construction, so the same seed gives the same sequence of
    epochs; with ``seed=None`` that seed is drawn from the shared generator, so
    ``ag.manual_seed`` makes it repeatable. Batches are fresh copies (changing
    them never changes the data set) and keep the data's dtypes. ``len()`` is
    the number of batches per epoch; ``drop_last`` drops a final smaller batch.
    """

    def __init__(self, dataset_or_X: Any, y: Any = None, batch_size: int = 32,
                 shuffle: bool = True, seed: int | None = None,
                 drop_last: bool = False) -> None:
        if isinstance(dataset_or_X, TensorDataset):
            if y is not None:
                raise TypeError(
                    "DataLoader: y was given with a TensorDataset, which already holds the "
                    "targets; pass DataLoader(TensorDataset(X, y)) or DataLoader(X, y)."
                )
            self.dataset = dataset_or_X
            self._arrays, self._single = dataset_or_X._arrays, False
        elif y is None:
            self._arrays, self._single = [_array(dataset_or_X, "X")], True
            self.dataset = TensorDataset(*self._arrays)
        else:
            self._arrays, self._single = [_array(dataset_or_X, "X"), _array(y, "y")], False
            _same_length(self._arrays, ["X", "y"], "DataLoader")
            self.dataset = TensorDataset(*self._arrays)
        if len(self._arrays[0]) == 0:
            raise ValueError("DataLoader: the data set is empty (0 samples).")
        try:
            if isinstance(batch_size, bool):
                raise TypeError
            batch_size = operator.index(batch_size)
        except TypeError:
            raise TypeError(
                f"DataLoader: batch_size must be an int, got {batch_size!r}."
            ) from None
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}.")
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        if seed is None:
            seed = int(defaults.generator().integers(2**63))
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        n, b = len(self._arrays[0]), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator[Any]:
        n, b = len(self._arrays[0]), self.batch_size
        order = self._rng.permutation(n) if self.shuffle else np.arange(n)
        stop = n - n % b if self.drop_last else n
        arrays, wrap = self._arrays, Tensor._wrap
        for start in range(0, stop, b):
            idx = order[start:start + b]
            # fancy indexing copies, so the batch owns its memory
            if self._single:
                yield wrap(arrays[0][idx])
            elif len(arrays) == 2:
                yield wrap(arrays[0][idx]), wrap(arrays[1][idx])
            else:
                yield tuple(wrap(a[idx]) for a in arrays)

    def __repr__(self) -> str:
        return (f"DataLoader({len(self._arrays[0])} samples, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, {len(self)} batches)")
