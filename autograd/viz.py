"""draw_graph: the graph a forward pass built, as a graphviz Digraph.

Values are boxes (name or op, shape and dtype, and the numbers when small);
ops are ellipses between them; edges run from inputs to outputs in input order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .engine import Node, toposort

_SMALL = 6  # show data and grad of values with at most this many elements


def _fmt(value: Any) -> str:
    arr = np.asarray(value)
    if arr.ndim == 0:
        return f"{arr.item():.4g}" if arr.dtype.kind in "fc" else str(arr.item())
    return np.array2string(arr, precision=4, separator=", ", threshold=_SMALL)


def _value_label(node: Node, name: str | None, show_data: bool, show_grad: bool) -> str:
    lines = [name or node.name or node.op or "leaf"]
    data = node.data
    is_array = isinstance(data, np.ndarray)
    if is_array:
        lines.append(f"{data.shape} {data.dtype}")
    small = (not is_array) or data.size <= _SMALL
    if show_data and small:
        lines.append(f"data {_fmt(data)}")
    if show_grad and small and node.grad is not None and node.requires_grad:
        lines.append(f"grad {_fmt(node.grad)}")
    return "\n".join(lines)


def draw_graph(root: Node, params: dict | None = None, rankdir: str = "LR",
               show_data: bool = True, show_grad: bool = True) -> Any:
    """Everything ``root`` depends on, as a ``graphviz.Digraph``.

    ``params`` ({name: tensor}, e.g. ``dict(model.named_parameters())``) labels
    leaves; otherwise a value's ``.name`` does. ``g.source`` is the DOT text;
    ``g.render('graph', format='svg')`` needs graphviz's ``dot`` program.
    """
    import graphviz  # imported here: only pictures need it

    if not isinstance(root, Node):
        raise TypeError(f"draw_graph: root must be a Tensor or Scalar, got {type(root).__name__}.")
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"draw_graph: rankdir must be 'LR', 'TB', 'RL' or 'BT', got {rankdir!r}.")
    names = {id(v): k for k, v in (params or {}).items()}
    dot = graphviz.Digraph(graph_attr={"rankdir": rankdir}, node_attr={"fontsize": "10"})
    body = dot.body
    nodes = toposort(root, grad_only=False)
    for node in nodes:
        vid = f"v{id(node)}"
        label = _value_label(node, names.get(id(node)), show_data, show_grad)
        fill = "lightblue" if node._ctx is None and node.requires_grad else "white"
        body.append(f"\t{vid} [label={_quote(label)} shape=box style=filled fillcolor={fill}]\n")
        ctx = node._ctx
        if ctx is None:
            continue
        oid = f"o{id(node)}"
        body.append(f"\t{oid} [label={_quote(node.op)} shape=ellipse]\n")
        body.append(f"\t{oid} -> {vid}\n")
        for k, x in enumerate(ctx.inputs):
            if isinstance(x, Node):
                body.append(f"\tv{id(x)} -> {oid}\n")
            else:
                cid = f"c{id(node)}_{k}"
                body.append(f"\t{cid} [label={_quote(_const_label(x))} shape=plain]\n")
                body.append(f"\t{cid} -> {oid}\n")
    return dot


def _const_label(x: Any) -> str:
    if x is None:
        return "None"
    arr = np.asarray(x)
    if arr.size <= _SMALL:
        return _fmt(arr)
    return f"const {arr.shape} {arr.dtype}"


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
