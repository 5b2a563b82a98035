"""Data for a training loop: Dataset, TensorDataset, default_collate and DataLoader.

Two ways in, as people write it: the lecture's ``DataLoader(X, y, batch_size=32)``
over arrays, and PyTorch's ``DataLoader(dataset, batch_size=1, shuffle=False, ...)``
over a data set (a TensorDataset, or any object with ``__getitem__`` and
``__len__``), whose samples ``default_collate`` stacks into batches as PyTorch's
does. For the same arguments and seed both give the same mini-batches.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from autograd import Tensor, defaults
from autograd.random import Generator, numpy_generator

__all__ = ["Dataset", "TensorDataset", "default_collate", "DataLoader"]


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


class Dataset:
    """Base class of a map-style data set, as ``torch.utils.data.Dataset``: subclass it
    and write ``__getitem__(i)`` (the i-th sample) and ``__len__`` (how many)."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__.")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__.")


class TensorDataset(Dataset):
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


# ---- collating samples into a batch, as torch.utils.data.default_collate ---------------

def default_collate(batch: Sequence) -> Any:
    """Samples -> one batch, as PyTorch's ``default_collate``: Tensors and arrays are
    stacked along a new first axis (dtype kept); Python floats become a float64 Tensor,
    ints int64, bools bool; numpy scalars keep their dtype; strings stay as they are;
    tuples and lists are collated position by position (a list of batches), dicts key
    by key, named tuples field by field."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return Tensor._wrap(np.stack([_check_same(t, elem).data for t in batch]))
    if isinstance(elem, (np.ndarray, np.generic)) and elem.dtype.kind in "fiub":
        return Tensor._wrap(np.stack([np.asarray(_check_same(a, elem)) for a in batch]))
    if isinstance(elem, bool):
        return Tensor._wrap(np.array(batch, dtype=np.bool_))
    if isinstance(elem, int):
        return Tensor._wrap(np.array(batch, dtype=np.int64))
    if isinstance(elem, float):
        return Tensor._wrap(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, Mapping):
        return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a named tuple
        return type(elem)(*(default_collate(s) for s in zip(*batch, strict=True)))
    if isinstance(elem, Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise RuntimeError(
                "default_collate: each element in list of batch should be of equal size; "
                f"got samples of lengths {sorted({len(sample) for sample in batch})}."
            )
        return [default_collate(s) for s in zip(*batch, strict=True)]
    raise TypeError(
        "default_collate: a batch must hold Tensors, numpy arrays, numbers, strings, dicts "
        f"or lists/tuples of them; found {type(elem).__name__}. Pass collate_fn= to "
        "combine such samples yourself."
    )


def _check_same(x: Any, first: Any) -> Any:
    if np.shape(x) != np.shape(first):
        raise RuntimeError(
            f"default_collate: stack expects each sample to have the same shape, got "
            f"{np.shape(first)} and {np.shape(x)}; pad the samples, or pass collate_fn=."
        )
    return x


def _convert(data: Any) -> Any:
    """One sample as PyTorch's ``default_convert`` leaves it (batch_size=None): numeric
    arrays and numpy scalars become Tensors, containers are converted inside, the rest
    (Python numbers, strings, Tensors) is kept."""
    if isinstance(data, (np.ndarray, np.generic)) and data.dtype.kind in "fiub":
        return Tensor._wrap(np.array(data))
    if isinstance(data, Mapping):
        return {k: _convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(_convert(d) for d in data))
    if isinstance(data, (list, tuple)):
        return [_convert(d) for d in data]
    return data


def _is_dataset(x: Any) -> bool:
    """A map-style data set: not an array or Tensor, but indexable and sized."""
    if isinstance(x, (Dataset, TensorDataset)):
        return True
    if isinstance(x, (np.ndarray, Tensor)):
        return False
    return hasattr(x, "__getitem__") and hasattr(x, "__len__")


def _int(value: Any, name: str) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        return operator.index(value)
    except TypeError:
        raise TypeError(f"DataLoader: {name} must be an int, got {value!r}.") from None


# ---- the loader --------------------------------------------------------------------------

class DataLoader:
    """Iterate mini-batches of a data set, each sample once per epoch.

    Two forms, told apart by the first argument:

    * PyTorch's, when it is a data set (a ``TensorDataset``, or any object with
      ``__getitem__`` and ``__len__`` that is not an array or Tensor, a list included),
      with PyTorch's positional order and defaults::

          DataLoader(dataset, batch_size=1, shuffle=False, sampler=None,
                     batch_sampler=None, num_workers=0, collate_fn=None,
                     pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                     multiprocessing_context=None, generator=None, *, seed=None, ...)

      Each batch is ``collate_fn`` (``default_collate``) of the samples
      ``dataset[i]``: a TensorDataset of k tensors gives lists of k Tensors, as
      PyTorch. ``sampler`` (indices) and ``batch_sampler`` (lists of indices) may be
      any iterables, PyTorch's samplers included; ``batch_size=None`` yields single
      samples. Everything is loaded in this process: ``num_workers`` changes nothing
      (the batches are the same), and ``pin_memory`` has nothing to pin on a CPU.

    * The lecture's, when it is an array or Tensor::

          DataLoader(X, y=None, batch_size=32, shuffle=True, seed=None, drop_last=False,
                     generator=None)

      yields ``(Tensor, Tensor)`` batches of rows (``X`` alone: single Tensors).

    Every ``for`` loop over the loader is one epoch; with ``shuffle`` each epoch visits
    the samples in a new order. With ``generator=`` (an ``ag.Generator``) the orders
    are drawn from it, so the same generator seed gives the same epochs; otherwise the
    loader owns a numpy generator made from ``seed`` (the k-th epoch is its k-th
    permutation), and with neither, that seed is drawn from the shared stream, so
    ``ag.manual_seed`` makes it repeatable. Batches are fresh copies that keep the
    data's dtypes. ``len()`` is the number of batches per epoch; ``drop_last`` drops a
    final smaller batch.
    """

    def __init__(self, dataset: Any, *args: Any, **kwargs: Any) -> None:
        if _is_dataset(dataset) and not (isinstance(dataset, (list, tuple)) and _has_y(args,
                                                                                         kwargs)):
            self._from_dataset(dataset, *args, **kwargs)
        else:
            self._from_arrays(dataset, *args, **kwargs)

    # ---- PyTorch's form ---------------------------------------------------------------
    def _from_dataset(self, dataset: Any, batch_size: int | None = 1, shuffle: bool = False,
                      sampler: Iterable | None = None, batch_sampler: Iterable | None = None,
                      num_workers: int = 0, collate_fn: Callable | None = None,
                      pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                      worker_init_fn: Callable | None = None,
                      multiprocessing_context: Any = None,
                      generator: Generator | None = None, *, prefetch_factor: int | None = None,
                      persistent_workers: bool = False, pin_memory_device: str = "",
                      in_order: bool = True, seed: int | None = None) -> None:
        if isinstance(dataset, TensorDataset) and not isinstance(batch_size, (int, type(None))):
            raise TypeError(
                "DataLoader: with a data set first, the second argument is batch_size "
                f"(PyTorch's order), got a {type(batch_size).__name__}; a TensorDataset "
                "already holds the targets: pass DataLoader(TensorDataset(X, y), batch_size) "
                "or DataLoader(X, y)."
            )
        if batch_size is not None:
            batch_size = _int(batch_size, "batch_size")
            if batch_size < 1:
                raise ValueError(f"DataLoader: batch_size must be >= 1 (or None), got "
                                 f"{batch_size}.")
        if _int(num_workers, "num_workers") < 0:
            raise ValueError(f"DataLoader: num_workers must be >= 0, got {num_workers}.")
        if timeout < 0:
            raise ValueError(f"DataLoader: timeout must be >= 0, got {timeout}.")
        if num_workers == 0 and (prefetch_factor is not None or persistent_workers):
            raise ValueError("DataLoader: prefetch_factor and persistent_workers need "
                             "num_workers > 0 (as in PyTorch).")
        if worker_init_fn is not None or multiprocessing_context is not None:
            raise NotImplementedError(
                "DataLoader: this loader reads every batch in the main process (no worker "
                "processes), so worker_init_fn / multiprocessing_context would never be "
                "used; leave them out (seed with generator= instead)."
            )
        shuffle, drop_last = bool(shuffle), bool(drop_last)
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle.")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None
                                          or drop_last):
            raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                             "batch_size, shuffle, sampler, and drop_last.")
        if batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and "
                             "is mutually exclusive with drop_last.")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be a function, got "
                            f"{type(collate_fn).__name__}.")
        self.dataset = dataset
        self._n = len(dataset)
        if batch_sampler is not None:
            batch_size = None
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.num_workers, self.pin_memory, self.timeout = num_workers, bool(pin_memory), timeout
        self.collate_fn = collate_fn
        self._torch_form = True
        # a TensorDataset without a collate_fn is batched by fancy indexing: the same
        # batches default_collate would stack, without a Python loop over the samples
        self._arrays = dataset._arrays if isinstance(dataset, TensorDataset) else None
        self._single = False
        self._set_rng(seed, generator)

    # ---- the lecture's form -------------------------------------------------------------
    def _from_arrays(self, X: Any, y: Any = None, batch_size: int = 32, shuffle: bool = True,
                     seed: int | None = None, drop_last: bool = False, *,
                     generator: Generator | None = None) -> None:
        if (isinstance(y, (int, np.integer)) and not isinstance(y, bool)
                and isinstance(X, (np.ndarray, Tensor))):
            raise TypeError(
                f"DataLoader(X, y, ...): with an array or Tensor first, the second argument "
                f"is the targets y, got the int {y}. Write DataLoader(X, y, batch_size={y}), "
                f"or DataLoader(TensorDataset(X, y), {y}) in PyTorch's order."
            )
        if y is None:
            self._arrays, self._single = [_array(X, "X")], True
        else:
            self._arrays, self._single = [_array(X, "X"), _array(y, "y")], False
            _same_length(self._arrays, ["X", "y"], "DataLoader")
        self.dataset = TensorDataset(*self._arrays)
        self._n = len(self._arrays[0])
        if self._n == 0:
            raise ValueError("DataLoader: the data set is empty (0 samples).")
        batch_size = _int(batch_size, "batch_size")
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}.")
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.sampler = self.batch_sampler = self.collate_fn = None
        self._torch_form = False
        self._set_rng(seed, generator)

    def _set_rng(self, seed: int | None, generator: Generator | None) -> None:
        if generator is not None:
            if seed is not None:
                raise ValueError("DataLoader: give seed= or generator=, not both.")
            numpy_generator(generator, "DataLoader")  # checks its type
        elif seed is None:
            seed = int(defaults.generator().integers(2**63))
        self.generator, self.seed = generator, seed
        self._rng = None if seed is None else np.random.default_rng(seed)

    # ---- iteration -------------------------------------------------------------------
    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)  # type: ignore[arg-type]
        n = self._n if self.sampler is None else len(self.sampler)  # type: ignore[arg-type]
        b = self.batch_size
        if b is None:
            return n
        return n // b if self.drop_last else -(-n // b)

    def _order(self) -> Any:
        """The sample indices of one epoch."""
        if self.sampler is not None:
            return list(self.sampler)
        if not self.shuffle:
            return np.arange(self._n)
        rng = self._rng if self.generator is None else numpy_generator(self.generator,
                                                                        "DataLoader")
        return rng.permutation(self._n)

    def _batches(self) -> Iterator[Any]:
        """Lists (or arrays) of indices, one per batch."""
        if self.batch_sampler is not None:
            return iter(self.batch_sampler)
        return self._slices()

    def _slices(self) -> Any:
        """The order's consecutive slices of batch_size indices (a map object, not a
        generator: the training loop's next() then runs no Python frame of ours)."""
        order, b = self._order(), self.batch_size
        n = len(order)
        stop = n - n % b if self.drop_last else n
        return map(order.__getitem__, map(slice, range(0, stop, b), range(b, stop + b, b)))

    def __iter__(self) -> Iterator[Any]:
        if self._torch_form:
            return self._iter_dataset()
        return self._iter_arrays()

    def _iter_arrays(self) -> Iterator[Any]:
        arrays, wrap = self._arrays, Tensor._wrap
        for idx in self._batches():
            # fancy indexing copies, so the batch owns its memory
            if self._single:
                yield wrap(arrays[0][idx])
            elif len(arrays) == 2:
                yield wrap(arrays[0][idx]), wrap(arrays[1][idx])
            else:
                yield tuple(wrap(a[idx]) for a in arrays)

    def _iter_dataset(self) -> Iterator[Any]:
        dataset, collate = self.dataset, self.collate_fn
        if self.batch_size is None and self.batch_sampler is None:  # no batching
            for i in self._order():
                sample = dataset[int(i)]
                yield collate(sample) if collate is not None else _convert(sample)
            return
        for idx in self._batches():
            if collate is None and self._arrays is not None:
                idx = np.asarray(idx, dtype=np.intp)
                yield [Tensor._wrap(a[idx]) for a in self._arrays]
            else:
                yield (collate or default_collate)([dataset[int(i)] for i in idx])

    def __repr__(self) -> str:
        return (f"DataLoader({self._n} samples, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, {len(self)} batches)")


def _has_y(args: tuple, kwargs: dict) -> bool:
    """Whether a list first argument is followed by targets (the X, y form)."""
    if "y" in kwargs:
        return True
    return bool(args) and not isinstance(args[0], (int, np.integer, type(None)))
