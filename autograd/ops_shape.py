"""PyTorch's shape, indexing and ordering ops beyond ``ops.py``'s core.

Each op is a ``Function`` with its forward beside its backward, the backward
written with ``ctx.xp`` so that it is twice differentiable (see ``xp.py``).
``ShapeMethods`` gives them to ``Tensor`` as methods (``t.gather(dim, index)``).
"""

from __future__ import annotations


class ShapeMethods:
    """Tensor methods for the ops of this module (a mixin of ``Tensor``)."""

    __slots__ = ()
