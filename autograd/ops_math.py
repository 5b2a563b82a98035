"""PyTorch's elementwise math, reductions and products beyond ``ops.py``'s core.

Each op is a ``Function`` with its forward beside its backward, the backward
written with ``ctx.xp`` so that it is twice differentiable (see ``xp.py``).
``MathMethods`` gives them to ``Tensor`` as methods (``t.sin()``).
"""

from __future__ import annotations


class MathMethods:
    """Tensor methods for the ops of this module (a mixin of ``Tensor``)."""

    __slots__ = ()
