"""ModuleList, ModuleDict, ParameterList, ParameterDict: PyTorch's containers.

A Module already finds Modules and Parameters in plain lists and dicts among its
attributes; these containers are what PyTorch code writes instead, and they name
their members the same way (``layers.0.weight``, ``blocks.encoder.weight``,
``params.0``), so ``named_parameters()`` and ``state_dict()`` match PyTorch's.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping

import numpy as np

from autograd import Tensor

from .module import Module, Parameter, _ModuleSequence

__all__ = ["ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]


class ModuleList(_ModuleSequence):
    """A list of Modules, each registered as a submodule named by its position.

    ``ModuleList([a, b])``; ``append``, ``extend``, ``insert``, ``+=``, ``del``,
    ``ml[i]``, ``ml[1:]`` (a ModuleList), ``len``, ``for m in ml``. It has no
    ``forward``: the owning module decides how to call its members.
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__(() if modules is None else modules)

    def __repr__(self) -> str:
        """As PyTorch: a run of identical members prints once, ``(0-2): 3 x Linear(...)``."""
        reprs = [repr(m) for m in self._layers]
        if not reprs:
            return "ModuleList()"
        lines, start = [], 0
        for end in range(1, len(reprs) + 1):
            if end == len(reprs) or reprs[end] != reprs[start]:
                body = reprs[start].replace("\n", "\n  ")
                if end - start == 1:
                    lines.append(f"({start}): {body}")
                else:
                    lines.append(f"({start}-{end - 1}): {end - start} x {body}")
                start = end
        return "ModuleList(\n  " + "\n  ".join(lines) + "\n)"


def _check_key(owner: str, key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"{owner}: keys must be strings, got {type(key).__name__} ({key!r}).")
    if not key or "." in key:
        raise KeyError(f"{owner}: a key must be non-empty and contain no '.', got {key!r}.")
    return key


def _pairs(owner: str, items: Any) -> list[tuple[Any, Any]]:
    """(key, value) pairs from a mapping (in its order) or an iterable of pairs."""
    if isinstance(items, (Mapping, ModuleDict, ParameterDict)):
        return list(items.items())
    pairs = []
    for i, item in enumerate(items):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise TypeError(
                f"{owner}: element {i} of the iterable should be a (key, value) pair, got "
                f"{type(item).__name__}."
            )
        pairs.append((item[0], item[1]))
    return pairs


class _Dict(Module):
    """What ModuleDict and ParameterDict share: an insertion-ordered dict of members."""

    def __init__(self, items: Any = None) -> None:
        super().__init__()
        self._items: dict[str, Any] = {}
        if items is not None:
            self.update(items)

    def _member(self, key: str, value: Any) -> Any:
        raise NotImplementedError

    def _named_members(self) -> Iterator[tuple[str, Any]]:
        return iter(self._items.items())

    def __getitem__(self, key: str) -> Any:
        try:
            return self._items[key]
        except KeyError:
            raise KeyError(
                f"{type(self).__name__} has no key {key!r}; its keys are {list(self._items)}."
            ) from None

    def __getattr__(self, name: str) -> Any:
        # d.encoder as well as d['encoder'], as in PyTorch (called only when the usual
        # lookup fails, so methods and attributes come first)
        items = self.__dict__.get("_items")
        if items is not None and name in items:
            return items[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setitem__(self, key: str, value: Any) -> None:
        key = _check_key(f"{type(self).__name__}[{key!r}]", key)
        self._items[key] = self._member(key, value)

    def __delitem__(self, key: str) -> None:
        del self._items[key]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def keys(self) -> Any:
        return self._items.keys()

    def values(self) -> Any:
        return self._items.values()

    def items(self) -> Any:
        return self._items.items()

    def pop(self, key: str) -> Any:
        """Remove ``key`` and return its member."""
        value = self[key]
        del self._items[key]
        return value

    def clear(self) -> None:
        self._items.clear()

    def update(self, items: Any) -> None:
        """Add or replace members from a mapping (in its order) or (key, value) pairs."""
        owner = f"{type(self).__name__}.update"
        if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
            raise TypeError(f"{owner}: expected a mapping or an iterable of (key, value) "
                            f"pairs, got {type(items).__name__}.")
        pairs = _pairs(owner, items)
        checked = [(_check_key(owner, k), self._member(k, v)) for k, v in pairs]
        self._items.update(checked)  # every pair checked first: a failure changes nothing


class ModuleDict(_Dict):
    """A dict of Modules, each a submodule named by its key (``blocks.encoder.weight``).

    ``ModuleDict({'encoder': a, 'decoder': b})`` (or a list of pairs); ``d['encoder']``
    and ``d.encoder``; ``keys``, ``values``, ``items``, ``update``, ``pop``, ``in``,
    ``len``; iteration gives the keys, in insertion order.
    """

    def __init__(self, modules: Any = None) -> None:
        super().__init__(modules)

    def _member(self, key: str, value: Any) -> Module:
        if not isinstance(value, Module):
            raise TypeError(
                f"ModuleDict[{key!r}]: expected a Module, got {type(value).__name__}."
            )
        return value


def _as_parameter(owner: str, value: Any) -> Parameter:
    """A Parameter stays itself; a Tensor or array becomes one (as PyTorch wraps Tensors)."""
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):
        return Parameter(value.data)
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return Parameter(value)
    raise TypeError(
        f"{owner}: expected an nn.Parameter (or a floating Tensor/ndarray to wrap in one), "
        f"got {type(value).__name__}."
    )


def _describe(p: Parameter) -> str:
    size = "x".join(str(n) for n in p.shape)
    return f"Parameter containing: [{p.data.dtype} of size {size}]"


class ParameterList(Module):
    """A list of Parameters named by position (``params.0``), as ``torch.nn.ParameterList``.

    A Tensor or floating array given to it becomes a Parameter, as PyTorch wraps
    Tensors. ``append``, ``extend``, ``pl[i]``, ``pl[i] = p``, ``len``, iteration.
    """

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        self._params: list[Parameter] = []
        if values is not None:
            self.extend(values)

    def _named_members(self) -> Iterator[tuple[str, Any]]:
        for i, p in enumerate(self._params):
            yield str(i), p

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return ParameterList(self._params[index])
        return self._params[index]

    def __setitem__(self, index: int, value: Any) -> None:
        self._params[index] = _as_parameter(f"ParameterList[{index}]", value)

    def __len__(self) -> int:
        return len(self._params)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._params)

    def append(self, value: Any) -> "ParameterList":
        """Add ``value`` at the end (named by its position). Returns self."""
        self._params.append(_as_parameter("ParameterList.append", value))
        return self

    def extend(self, values: Iterable[Any]) -> "ParameterList":
        """Append each of ``values``. Returns self."""
        if isinstance(values, Tensor) or not isinstance(values, Iterable):
            raise TypeError(f"ParameterList.extend: expected an iterable of Parameters, got "
                            f"{type(values).__name__}; use append for one.")
        new = [_as_parameter("ParameterList.extend", v) for v in values]
        self._params.extend(new)
        return self

    def __iadd__(self, values: Iterable[Any]) -> "ParameterList":
        return self.extend(values)

    def extra_repr(self) -> str:
        return "\n".join(f"  ({i}): {_describe(p)}" for i, p in enumerate(self._params))


class ParameterDict(_Dict):
    """A dict of Parameters named by key (``params.scale``), as ``torch.nn.ParameterDict``.

    The same methods as ModuleDict; a Tensor or floating array becomes a Parameter.
    """

    def __init__(self, parameters: Any = None) -> None:
        super().__init__(parameters)

    def _member(self, key: str, value: Any) -> Parameter:
        return _as_parameter(f"ParameterDict[{key!r}]", value)

    def extra_repr(self) -> str:
        return "\n".join(f"  ({k}): {_describe(p)}" for k, p in self._items.items())
