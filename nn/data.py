"""DataLoader: mini-batches of (inputs, targets) for a training loop."""

from __future__ import annotations

import operator
from typing import Any, Iterator

import numpy as np

from autograd import Tensor, defaults

__all__ = ["DataLoader"]


def _array(x: Any, what: str) -> np.ndarray:
    """The samples as an ndarray: a Tensor's values, an ndarray as is, else Tensor's rules."""
    if isinstance(x, Tensor):
        arr = x.data
    elif isinstance(x, np.ndarray):
        arr = x
    else:
        try:
            arr = Tensor(x).data  # lists follow Tensor's dtype rules (floats -> default dtype)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"DataLoader: {what} must be an ndarray or a Tensor, got {type(x).__name__}."
            ) from exc
    if arr.ndim == 0:
        raise ValueError(
            f"DataLoader: {what} must have a sample axis first, got a 0-d array."
        )
    return arr


class DataLoader:
    """Iterate ``(Tensor, Tensor)`` mini-batches of ``(X, y)``, each sample once per epoch.

    Every ``for`` loop over the loader is one epoch; with ``shuffle`` each epoch
    visits the samples in a new random order. The loader owns a generator made
    from ``seed`` at construction, so the same seed gives the same sequence of
    epochs; with ``seed=None`` that seed is drawn from the shared generator, so
    ``ag.manual_seed`` makes it repeatable. Batches are fresh copies (changing
    them never changes the data set); ``y`` keeps its dtype. ``len()`` is the
    number of batches per epoch; ``drop_last`` drops a final smaller batch.
    """

    def __init__(self, X: Any, y: Any, batch_size: int = 32, shuffle: bool = True,
                 seed: int | None = None, drop_last: bool = False) -> None:
        X, y = _array(X, "X"), _array(y, "y")
        if len(X) != len(y):
            raise ValueError(
                f"DataLoader: X and y must hold the same number of samples, got {len(X)} "
                f"inputs (X of shape {X.shape}) and {len(y)} targets (y of shape {y.shape})."
            )
        if len(X) == 0:
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
        self.X, self.y = X, y
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        if seed is None:
            seed = int(defaults.generator().integers(2**63))
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        n, b = len(self.X), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        n, b = len(self.X), self.batch_size
        order = self._rng.permutation(n) if self.shuffle else np.arange(n)
        stop = n - n % b if self.drop_last else n
        X, y, wrap = self.X, self.y, Tensor._wrap
        for start in range(0, stop, b):
            idx = order[start:start + b]
            # fancy indexing copies, so the batch owns its memory
            yield wrap(X[idx]), wrap(y[idx])

    def __repr__(self) -> str:
        return (f"DataLoader({len(self.X)} samples, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, {len(self)} batches)")
