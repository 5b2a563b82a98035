"""Anomaly mode's check (``ag.detect_anomaly()``): the first op whose forward or backward
produces NaN or inf raises ``AnomalyError``, naming the op and its inputs' shapes.

The engine calls ``check_finite`` only while the mode is on; this module imports
nothing of the package, so the engine can import it.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class AnomalyError(RuntimeError):
    """Raised in anomaly mode when an op's forward or backward produces NaN or inf."""


def check_finite(fn: type, where: str, values: Any, inputs: tuple) -> None:
    """Raise naming ``fn`` and its input shapes when ``values`` hold NaN/inf."""
    for v in values:
        if v is None:
            continue
        arr = np.asarray(v)
        if arr.dtype.kind in "fc" and not np.isfinite(arr).all():
            what = "NaN" if np.isnan(arr).any() else "inf"
            # a graph node (it has _ctx) holds its value in .data; constants are values
            shapes = ", ".join(str(tuple(np.shape(x.data if hasattr(x, "_ctx") else x)))
                               for x in inputs)
            raise AnomalyError(
                f"anomaly: {fn.__name__} {where} produced {what} (input shapes: {shapes}). "
                f"Check the inputs of this op, or the step size that made them."
            )
