"""What one op remembers for its backward: ``Context``, and the marker of a freed one.

The bottom of the engine: it imports only the first-order array namespace
(``xp_numpy``), which imports nothing of the package.
"""

from __future__ import annotations

import copy
from typing import Any

from . import xp_numpy

_new = object.__new__
_NO_PARAMS: dict = {}  # never modified

FREED = object()  # marks a Context whose saved buffers backward() released


class Context:
    """What one op remembers for its backward.

    ``fn`` is the Function, ``inputs`` the forward inputs in order (Nodes, or the
    constants they were combined with), ``saved`` the values the forward kept
    (``ctx.saved = (x, out)`` or ``ctx.save_for_backward(x, out)``; read them back as
    ``ctx.saved`` or ``ctx.saved_tensors``) and ``needs_input_grad`` one bool per input.
    Ops may set small attributes (an axis, a shape) for their backward; arrays belong
    in ``saved``, which backward() releases. ``params`` holds the keyword arguments
    the op was applied with (so that a released context can be made again).
    """

    __slots__ = ("fn", "inputs", "saved", "needs_input_grad", "__dict__")

    # The array namespace backward formulas use (``xp.py``): numpy here; a backward
    # recorded under create_graph sees a context whose ``xp`` is the graph's. A class
    # attribute, not a slot: ops pay nothing for it, only backwards that read it.
    xp = xp_numpy
    # Keyword arguments of the op (an axis, a shape): set only when there were any.
    params = _NO_PARAMS

    def __deepcopy__(self, memo: dict) -> "Context":
        """A deep copy of what the op saved (its class attribute ``xp``, a module, is shared)."""
        new = _new(Context)
        memo[id(self)] = new
        for slot in ("fn", "inputs", "saved", "needs_input_grad"):
            if hasattr(self, slot):
                setattr(new, slot, copy.deepcopy(getattr(self, slot), memo))
        if getattr(self, "__dict__", None):
            new.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return new

    def save_for_backward(self, *values: Any) -> None:
        """Keep values for backward (PyTorch's spelling of ``ctx.saved = values``);
        released after backward unless retain_graph=True."""
        self.saved = values

    @property
    def saved_tensors(self) -> tuple:
        """What the forward saved (PyTorch's name for ``ctx.saved``)."""
        return self.saved
