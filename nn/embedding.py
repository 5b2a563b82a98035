"""Embedding: a table of vectors looked up by integer id, as a function and as a layer.

Picking rows is indexing, an op the engine already differentiates: repeated ids
add up in the table's gradient with no backward of its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd import Tensor, defaults

from ._args import integer_ids, tensor_arg
from .module import Module, Parameter

__all__ = ["embedding", "Embedding"]


def embedding(ids: Any, weight: Tensor) -> Tensor:
    """The rows of ``weight`` (num_embeddings, dim) picked by integer ``ids`` (any shape)
    -> shape ids.shape + (dim,). Repeated ids add up in the weight's gradient."""
    weight = tensor_arg(weight, "embedding")
    if weight.ndim != 2:
        raise ValueError(
            f"embedding: weight must be (num_embeddings, embedding_dim), got {weight.shape}."
        )
    return weight[integer_ids(ids, weight.shape[0], "embedding", "id")]


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``, looked up by id;
    initialised N(0, 1) as PyTorch."""

    def __init__(self, num_embeddings: int, embedding_dim: int, dtype: Any = None) -> None:
        super().__init__()
        if num_embeddings < 1 or embedding_dim < 1:
            raise ValueError(
                f"Embedding: sizes must be >= 1, got ({num_embeddings}, {embedding_dim})."
            )
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        dtype = defaults.get_default_dtype() if dtype is None else np.dtype(dtype)
        self.weight = Parameter(
            defaults.generator().standard_normal((num_embeddings, embedding_dim)), dtype=dtype)

    def forward(self, ids: Any) -> Tensor:
        return self.weight[integer_ids(ids, self.num_embeddings,
                                       f"Embedding({self.num_embeddings}, {self.embedding_dim})",
                                       "id")]

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"
