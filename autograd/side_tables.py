"""What few nodes carry is kept beside them, by id: the names users give and gradient hooks.

Not a slot of every node: an op pays nothing for it, and a node stays in obmalloc's
96-byte size class (a ninth slot moved every node of every graph to the 112-byte one).
Each entry is (a weak reference that removes it when the node dies, the value).
``RemovableHandle`` is what registering a hook returns (``Node.register_hook`` and
the Module hooks).
"""

from __future__ import annotations

import functools
import itertools
import weakref
from typing import Any, Callable

_NODE_HOOKS: dict = {}  # {handle id: hook} per hooked node; a backward checks one local
_NODE_NAMES: dict = {}  # the names users give (Tensor(..., name="x"), t.name = "h1")


def _forget_entry(table: dict, key: int, _ref: Any) -> None:
    """A node with an entry died: drop it (the table is bound now: this may run at exit)."""
    table.pop(key, None)


def _set_entry(table: dict, node: Any, value: Any) -> None:
    """Keep ``value`` for ``node`` in ``table`` until the node dies."""
    key = id(node)
    entry = table.get(key)
    ref = entry[0] if entry is not None else weakref.ref(
        node, functools.partial(_forget_entry, table, key))
    table[key] = (ref, value)


class RemovableHandle:
    """What ``register_hook`` (and the Module hooks) return: ``remove()`` unregisters it."""

    _ids = itertools.count()

    def __init__(self, hooks: dict, fn: Callable) -> None:
        self._hooks = hooks
        self.id = next(self._ids)
        hooks[self.id] = fn

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()
