"""Named (values, indices) results, as ``torch.return_types.max`` and its kin.

``t.max(dim)`` returns one: unpack it (``v, i = t.max(1)``), index it or read
``.values`` / ``.indices``. Under numpy's habits ``x - x.max(axis=1, keepdims=True)``
meant the values; with PyTorch's meaning it would silently subtract a pair, so
arithmetic with it, and ``np.asarray`` of it, raise and say what to write.
"""

from __future__ import annotations

from typing import Any


class ValuesIndices(tuple):
    """A ``(values, indices)`` pair with names; ``_name`` is the function that made it."""

    __slots__ = ()
    _name = "max"
    __array_ufunc__ = None  # ndarray (op) result defers to the operators below, which raise

    def __new__(cls, values: Any, indices: Any) -> "ValuesIndices":
        return tuple.__new__(cls, (values, indices))

    @property
    def values(self) -> Any:  # type: ignore[override]  (tuple has no such attribute to keep)
        return self[0]

    @property
    def indices(self) -> Any:
        return self[1]

    def __repr__(self) -> str:
        return (f"torch.return_types.{self._name}(\nvalues={self[0]!r},\n"
                f"indices={self[1]!r})")

    def _refuse(self, *_: Any) -> Any:
        name = self._name
        raise TypeError(
            f"{name}(dim) returns a pair (values, indices), as torch.{name} does, not a "
            f"tensor: write t.{name}(dim).values (or t.a{name}(dim)) for the values, e.g. "
            f"x - x.a{name}(dim=1, keepdim=True)."
        )

    def __array__(self, *_: Any, **__: Any) -> Any:
        self._refuse()

    def __add__(self, other: Any) -> Any:
        if isinstance(other, (tuple, list)):  # concatenation, as for any tuple
            return tuple(self) + tuple(other)
        return self._refuse()

    def __radd__(self, other: Any) -> Any:
        if isinstance(other, (tuple, list)):
            return tuple(other) + tuple(self)
        return self._refuse()

    __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _refuse
    __floordiv__ = __rfloordiv__ = __pow__ = __rpow__ = __matmul__ = __rmatmul__ = _refuse
    __mod__ = __rmod__ = __neg__ = __pos__ = __abs__ = _refuse
    __lt__ = __le__ = __gt__ = __ge__ = _refuse


def _kind(name: str) -> type:
    return type(name, (ValuesIndices,), {"__slots__": (), "_name": name,
                                         "__module__": __name__})


max = _kind("max")  # noqa: A001 (torch.return_types' names)
min = _kind("min")  # noqa: A001
