"""draw_graph: the graph a forward pass built, as a graphviz Digraph.

Values are boxes (name or op, shape and dtype, and the numbers: in full when
small, as min / mean / max when large); ops are ellipses between them; edges
run from inputs to outputs in input order. Colours tell the roles apart
(inputs, parameters, intermediate values, ops, the output) and a small legend
says which is which.

``step=k`` draws the graph as it stands after k steps of the backward pass
(``backward_steps``): the node being processed is highlighted, the gradients
known so far are filled in and the pending ones are left empty. With
``params=dict(model.named_parameters())`` the nodes of each module sit in a
labelled box (``layers.0``, ``layers.1``...), so an MLP reads layer by layer.

Rendering needs graphviz's ``dot`` program. Without it the returned graph
still works: its DOT text is there (``g.source``), ``g.render(...)`` prints
that text and how to install graphviz instead of failing, and Jupyter shows
the text.
"""

from __future__ import annotations

import shutil
import subprocess
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from .engine import Node, toposort
from .gradients import backward_steps

__all__ = ["draw_graph", "dot_available", "render_svgs", "INSTALL_HINT", "node_id", "node_title"]

THRESHOLD = 6  # values with at most this many elements print in full; larger ones as a summary
MAX_NODES = 150  # values drawn before the rest of a graph is collapsed into one box

INSTALL_HINT = (
    "graphviz's `dot` program is not installed, so no picture was made: install it with "
    "`apt-get install graphviz` (Debian/Ubuntu) or `brew install graphviz` (macOS)."
)

# fill colours by role, shared with the legend and the stepper page
COLOURS = {
    "input": "#e8e8e8",  # a leaf without gradient: data, targets
    "parameter": "lightblue",  # a leaf that requires grad: weights, biases
    "value": "white",  # an intermediate result
    "output": "#b8e6b8",  # the root
    "op": "#fff1c1",  # an op
    "current": "#ff9f43",  # the node being processed at this step of the backward pass
}
HIGHLIGHT = "#d62728"  # border and edges of the current step

# fused layer ops drawn as their parts with expand_fused=True:
# op name -> (activation name, activation, derivative written with its output)
FUSED_PARTS: dict[str, tuple[str, Callable, Callable]] = {
    "LinearTanh": ("Tanh", np.tanh, lambda out: 1.0 - out * out),
    "LinearRelu": ("Relu", lambda s: np.maximum(s, 0), lambda out: (out > 0).astype(out.dtype)),
}


def dot_available() -> bool:
    """Whether graphviz's ``dot`` program is on the PATH (needed to render pictures)."""
    return shutil.which("dot") is not None


def node_id(node: Node) -> str:
    """The DOT (and SVG) id of a value's box in the pictures of this process."""
    return f"v{id(node)}"


# --------------------------------------------------------------------------
# the returned graph: a graphviz.Digraph that degrades to text without `dot`
# --------------------------------------------------------------------------

_graph_class: type | None = None


def _graph_type() -> type:
    """``Graph``, a ``graphviz.Digraph`` subclass (made on first use: graphviz loads lazily)."""
    global _graph_class
    if _graph_class is not None:
        return _graph_class
    import graphviz

    class Graph(graphviz.Digraph):
        """A ``graphviz.Digraph`` that shows its DOT text when ``dot`` is missing.

        ``render`` writes the picture when ``dot`` exists; without it, it writes
        nothing, prints the DOT text and how to install graphviz, and returns None.
        In Jupyter the graph shows as SVG, or as that text without ``dot``.
        """

        def render(self, *args: Any, **kwargs: Any) -> Any:
            if dot_available():
                return super().render(*args, **kwargs)
            print(self.source)
            print(INSTALL_HINT)
            return None

        def _repr_mimebundle_(self, include: Any = None, exclude: Any = None,
                              **kwargs: Any) -> dict:
            if dot_available():
                return super()._repr_mimebundle_(include, exclude, **kwargs)
            return {"text/plain": f"{self.source}\n{INSTALL_HINT}"}

        def _repr_svg_(self) -> str | None:
            return self.pipe(format="svg", encoding="utf-8") if dot_available() else None

    _graph_class = Graph
    return Graph


def render_svgs(sources: Iterable[str], timeout: float = 600.0) -> list[str]:
    """Render DOT texts to SVG documents with one run of ``dot`` (a process per graph
    would cost more than the layout of a small graph). Raises RuntimeError without dot."""
    sources = list(sources)
    if not sources:
        return []
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError(INSTALL_HINT)
    done = subprocess.run([exe, "-Tsvg"], input="\n".join(sources).encode("utf-8"),
                          capture_output=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"dot failed: {done.stderr.decode('utf-8', 'replace').strip()}")
    text = done.stdout.decode("utf-8")
    svgs = ["<svg" + part.split("</svg>")[0] + "</svg>" for part in text.split("<svg")[1:]]
    if len(svgs) != len(sources):
        raise RuntimeError(f"dot returned {len(svgs)} pictures for {len(sources)} graphs.")
    return svgs


# --------------------------------------------------------------------------
# labels
# --------------------------------------------------------------------------


def _array_text(arr: np.ndarray) -> str:
    """Every element of ``arr`` with 4 significant digits, rows on their own lines."""
    fmt = {"float_kind": lambda v: f"{v:.4g}"}
    return np.array2string(arr, separator=", ", threshold=arr.size + 1, formatter=fmt,
                           max_line_width=10**6)


def _fmt(value: Any, threshold: int = THRESHOLD) -> str:
    """A number or an array: in full up to ``threshold`` elements, else min / mean / max."""
    arr = np.asarray(value)
    if arr.ndim == 0:
        return f"{arr.item():.4g}" if arr.dtype.kind in "fc" else str(arr.item())
    if arr.size <= threshold:
        return _array_text(arr)
    if arr.dtype.kind not in "fiub":
        return f"{arr.dtype} array"
    a = arr.astype(np.float64, copy=False)
    return f"min {a.min():.4g}, mean {a.mean():.4g}, max {a.max():.4g}"


def node_title(node: Node, names: dict | None = None) -> str:
    """What a value is called in pictures: its parameter name (``names``: {id: name}), its
    ``.name``, the op that made it, or 'leaf' / 'input' for an unnamed leaf."""
    return ((names or {}).get(id(node)) or node.name or node.op
            or ("leaf" if node.requires_grad else "input"))


def _header(node: Node, title: str, data: Any = None) -> list[str]:
    data = node.data if data is None else data
    lines = [title]
    if isinstance(data, np.ndarray):
        lines.append(f"{data.shape} {data.dtype}")
    return lines


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _quote_left(lines: list[str]) -> str:
    """A label whose first line is centred and the others left-aligned (DOT's \\l)."""
    head = _quote(lines[0] + "\n")[:-1]
    rest = "".join(_quote(sub)[1:-1] + "\\l" for line in lines[1:] for sub in line.split("\n"))
    return f'{head}{rest}"'


def _const_label(x: Any, threshold: int) -> str:
    if x is None:
        return "None"
    arr = np.asarray(x)
    if arr.size <= threshold:
        return _fmt(arr, threshold)
    return f"const {arr.shape} {arr.dtype}"


# --------------------------------------------------------------------------
# the backward pass after k steps
# --------------------------------------------------------------------------


@dataclass
class _Progress:
    """What a backward walk has done after k steps: the current node, the gradients
    complete so far (visited nodes), the partial sums pending, and the box (columns,
    rows) each node's gradient text needs over the whole walk: padded to it, every
    label keeps its size and the layout never moves from one step to the next."""

    current: Node | None = None
    done: dict = field(default_factory=dict)  # id(node) -> upstream gradient
    partial: dict = field(default_factory=dict)  # id(node) -> sum received so far
    sent: set = field(default_factory=set)  # ids of the inputs the current node sent to
    box: dict = field(default_factory=dict)  # id(node), or ('s', id) -> (columns, rows)

    def pad(self, key: Any, text: str) -> str:
        """``text`` padded with spaces to the box of ``key``."""
        cols, rows = self.box.get(key, (0, 1))
        lines = text.split("\n")
        lines += [""] * (rows - len(lines))
        return "\n".join(line.ljust(cols) for line in lines)


def _grad_lines(steps: list, threshold: int) -> list[dict]:
    """For k = 0..n, {id(node): gradient text} after k steps (only the changed nodes; a
    fused layer's signal under ('s', id))."""
    partial: dict = {}
    changes = [{}]
    for s in steps:
        new = {id(s.node): f"grad {_fmt(s.upstream, threshold)}"}
        if s.node.op in FUSED_PARTS:
            new[("s", id(s.node))] = f"grad {_fmt(_signal_grad(s.node, s.upstream), threshold)}"
        for x, g in s.contributions:
            partial[id(x)] = g if id(x) not in partial else partial[id(x)] + g
            new[id(x)] = f"grad so far {_fmt(partial[id(x)], threshold)}"
        changes.append(new)
    return changes


def _progress(steps: list, k: int, threshold: int) -> _Progress:
    p = _Progress()
    for s in steps[:k]:
        p.done[id(s.node)] = s.upstream
        p.partial.pop(id(s.node), None)
        for x, g in s.contributions:
            if id(x) not in p.done:
                p.partial[id(x)] = g if id(x) not in p.partial else p.partial[id(x)] + g
    if k:
        p.current = steps[k - 1].node
        p.sent = {id(x) for x, _ in steps[k - 1].contributions}
    for change in _grad_lines(steps, threshold):
        for key, text in change.items():
            lines = text.split("\n")
            cols, rows = p.box.get(key, (len("grad ?"), 1))
            p.box[key] = (max(cols, *map(len, lines)), max(rows, len(lines)))
    return p


def _signal_grad(node: Node, upstream: Any) -> np.ndarray:
    """delta = dE/ds of a fused layer: its upstream gradient times activation'(s)."""
    act_prime = FUSED_PARTS[node.op][2]
    return np.asarray(upstream) * act_prime(np.asarray(node.data))


def _steps_of(root: Node, where: str) -> list:
    return list(backward_steps(root))


# --------------------------------------------------------------------------
# draw_graph
# --------------------------------------------------------------------------


def draw_graph(root: Node, params: dict | None = None, rankdir: str = "LR",
               show_data: bool = True, show_grad: bool = True, step: int | None = None,
               threshold: int = THRESHOLD, expand_fused: bool = False,
               max_nodes: int | None = MAX_NODES, legend: bool = True) -> Any:
    """Everything ``root`` depends on, as a ``graphviz.Digraph``.

    ``params`` ({name: tensor}, e.g. ``dict(model.named_parameters())``) labels
    leaves and groups each module's nodes in a box named by the dotted prefix
    (``layers.0``); otherwise a value's ``.name`` labels it. ``threshold``: values
    with at most this many elements show their numbers, larger ones min / mean /
    max. ``step=k`` draws the graph after k steps of ``backward_steps(root)``
    (k = 0 .. number of steps). ``expand_fused=True`` draws a fused layer op
    (LinearTanh, LinearRelu) as its parts: the signal s = x W^T + b, then the
    activation. Graphs of more than ``max_nodes`` values keep the values nearest
    the output and collapse the rest into one box, with a warning
    (``max_nodes=None`` draws everything). ``g.source`` is the DOT text;
    ``g.render('graph', format='svg')`` needs graphviz's ``dot`` program.
    """
    if not isinstance(root, Node) and hasattr(root, "_draw_graph"):  # ag.compile's step.graph
        return root._draw_graph(rankdir=rankdir)
    if not isinstance(root, Node):
        raise TypeError(f"draw_graph: root must be a Tensor or Scalar, got {type(root).__name__}.")
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"draw_graph: rankdir must be 'LR', 'TB', 'RL' or 'BT', got {rankdir!r}.")
    if not isinstance(threshold, (int, np.integer)) or threshold < 0:
        raise ValueError(f"draw_graph: threshold must be an int >= 0, got {threshold!r}.")
    if max_nodes is not None and (not isinstance(max_nodes, (int, np.integer)) or max_nodes < 1):
        raise ValueError(f"draw_graph: max_nodes must be an int >= 1 or None, got {max_nodes!r}.")
    progress = None
    if step is not None:
        steps = _steps_of(root, "draw_graph")
        if not isinstance(step, (int, np.integer)) or not 0 <= step <= len(steps):
            raise ValueError(
                f"draw_graph: step must be an int from 0 to {len(steps)} (the backward pass "
                f"of this graph has {len(steps)} steps), got {step!r}."
            )
        progress = _progress(steps, int(step), threshold)
    builder = _Builder(root, params, show_data, show_grad, threshold, expand_fused, progress)
    builder.build(max_nodes)
    graph_attr = {"rankdir": rankdir}
    if step is not None:
        graph_attr["label"] = f"backward pass, step {step}"
        graph_attr["labelloc"] = "t"
    node_attr = {"fontsize": "10"}
    if progress is not None:
        node_attr["fontname"] = "Courier"  # fixed width: the layout is the same at every step
    dot = _graph_type()(graph_attr=graph_attr, node_attr=node_attr)
    dot.body.extend(builder.lines(legend))
    return dot


class _Builder:
    """Collects the DOT lines of one picture: nodes grouped by module, then edges."""

    def __init__(self, root: Node, params: dict | None, show_data: bool, show_grad: bool,
                 threshold: int, expand_fused: bool, progress: _Progress | None) -> None:
        self.root = root
        self.names = {id(v): k for k, v in (params or {}).items()}
        self.prefix = {id(v): k.rpartition(".")[0] for k, v in (params or {}).items()}
        self.show_data, self.show_grad = show_data, show_grad
        self.threshold = threshold
        self.expand_fused = expand_fused
        self.progress = progress
        self.clusters: dict[str, list[str]] = {}  # cluster name ('' for none) -> node lines
        self.edges: list[str] = []
        self.roles: set[str] = set()

    # ---- which nodes are drawn, and where ----------------------------------
    def build(self, max_nodes: int | None) -> None:
        nodes = toposort(self.root, grad_only=False)
        hidden: set = set()
        if max_nodes is not None and len(nodes) > max_nodes:
            kept = _nearest(self.root, max_nodes)
            hidden = {id(n) for n in nodes if id(n) not in kept}
            warnings.warn(
                f"draw_graph: the graph has {len(nodes)} values, more than max_nodes="
                f"{max_nodes}; drawing the {max_nodes} nearest the output and collapsing the "
                f"other {len(hidden)} into one box. Pass max_nodes=None (or a larger number) "
                "to draw every value; dot may then take long and make a very large picture.",
                stacklevel=3,
            )
            nodes = [n for n in nodes if id(n) not in hidden]
            self.clusters.setdefault("", []).append(
                f"\tmore [label={_quote(f'... {len(hidden)} more values')} shape=box "
                f"style=\"filled,dashed\" fillcolor=\"{COLOURS['input']}\"]\n")
        cluster_of: dict[int, str] = {}
        for node in nodes:  # inputs come before the values made from them
            cluster = self._cluster(node, cluster_of)
            cluster_of[id(node)] = cluster
            self._value(node, cluster, hidden)

    def _cluster(self, node: Node, cluster_of: dict) -> str:
        """The module a node belongs to: a parameter's own prefix; an op that uses a
        parameter goes with it; a one-input op of the same shape (an activation) follows
        its input's module."""
        if id(node) in self.prefix:
            return self.prefix[id(node)]
        ctx = node._ctx
        if ctx is None:
            return ""
        for x in ctx.inputs:
            if isinstance(x, Node) and self.prefix.get(id(x)):
                return self.prefix[id(x)]
        if len(ctx.inputs) == 1 and isinstance(ctx.inputs[0], Node):
            x = ctx.inputs[0]
            if id(x) not in self.prefix and np.shape(x.data) == np.shape(node.data):
                return cluster_of.get(id(x), "")
        return ""

    def _label(self, lines: list[str]) -> str:
        """Centred lines; at a step of the backward pass, left-aligned ones under the title
        (the gradient lines are padded to a fixed width so that the layout never moves)."""
        return _quote("\n".join(lines)) if self.progress is None else _quote_left(lines)

    def _role(self, node: Node) -> str:
        if node is self.root:
            return "output"
        if node._ctx is None:
            return "parameter" if node.requires_grad else "input"
        return "value"

    # ---- one value and the op that made it --------------------------------
    def _value(self, node: Node, cluster: str, hidden: set) -> None:
        out = self.clusters.setdefault(cluster, [])
        vid = node_id(node)
        role = self._role(node)
        self.roles.add(role)
        lines = _header(node, node_title(node, self.names))
        if self.show_data:
            lines.append(f"data {_fmt(node.data, self.threshold)}")
        attrs = self._value_attrs(node, role, lines)
        out.append(f"\t{vid} [label={self._label(lines)} {attrs}]\n")
        ctx = node._ctx
        if ctx is None:
            return
        self.roles.add("op")
        current = self.progress is not None and self.progress.current is node
        op_attrs = f'shape=ellipse style=filled fillcolor="{COLOURS["op"]}"'
        if current:
            op_attrs += f' color="{HIGHLIGHT}" penwidth=2'
        oid = f"o{id(node)}"
        parts = FUSED_PARTS.get(node.op) if self.expand_fused else None
        if parts is None:
            out.append(f"\t{oid} [label={_quote(node.op)} {op_attrs}]\n")
            self.edges.append(f"\t{oid} -> {vid}\n")
        else:
            self._fused(node, ctx, parts, out, op_attrs)
        self._inputs(node, ctx, oid, hidden)

    def _fused(self, node: Node, ctx: Any, parts: tuple, out: list, op_attrs: str) -> None:
        """A fused layer drawn as Linear -> s (the signal) -> activation -> the node."""
        act_name = parts[0]
        oid, sid, aid = f"o{id(node)}", f"s{id(node)}", f"a{id(node)}"
        x, w = ctx.inputs[0], ctx.inputs[1]
        s = np.asarray(x.data if isinstance(x, Node) else x) @ np.asarray(w.data).T
        if len(ctx.inputs) > 2 and ctx.inputs[2] is not None:
            b = ctx.inputs[2]
            s = s + np.asarray(b.data if isinstance(b, Node) else b)
        lines = _header(node, "s = x W^T + b", s)
        if self.show_data:
            lines.append(f"data {_fmt(s, self.threshold)}")
        p = self.progress
        if p is not None:
            if id(node) in p.done:  # delta = dE/ds = upstream * activation'(s)
                delta = _signal_grad(node, p.done[id(node)])
                lines.append(p.pad(("s", id(node)), f"grad {_fmt(delta, self.threshold)}"))
            else:
                lines.append(p.pad(("s", id(node)), "grad ?"))
        style = '"filled,dashed"' if p is not None and id(node) not in p.done else "filled"
        out.append(f"\t{sid} [label={self._label(lines)} shape=box style={style} "
                   f"fillcolor=\"{COLOURS['value']}\"]\n")
        out.append(f"\t{oid} [label=\"Linear\" {op_attrs}]\n")
        out.append(f"\t{aid} [label={_quote(act_name)} {op_attrs}]\n")
        self.edges.append(f"\t{oid} -> {sid}\n")
        self.edges.append(f"\t{sid} -> {aid}\n")
        self.edges.append(f"\t{aid} -> {node_id(node)}\n")

    def _inputs(self, node: Node, ctx: Any, oid: str, hidden: set) -> None:
        p = self.progress
        current = p is not None and p.current is node
        from_hidden = False
        for k, x in enumerate(ctx.inputs):
            if isinstance(x, Node):
                if id(x) in hidden:
                    from_hidden = True
                    continue
                attrs = (f' [color="{HIGHLIGHT}" penwidth=2.5]'
                         if current and id(x) in p.sent else "")
                self.edges.append(f"\t{node_id(x)} -> {oid}{attrs}\n")
            else:
                cid = f"c{id(node)}_{k}"
                label = _quote(_const_label(x, self.threshold))
                self.clusters.setdefault("", []).append(f"\t{cid} [label={label} shape=plain]\n")
                self.edges.append(f"\t{cid} -> {oid}\n")
        if from_hidden:
            self.edges.append(f"\tmore -> {oid} [style=dashed]\n")

    def _value_attrs(self, node: Node, role: str, lines: list) -> str:
        """Append the gradient line (if any) to ``lines``; return the box's attributes."""
        fill = COLOURS[role]
        style = "filled"
        extra = ""
        p = self.progress
        if p is None:
            grad = node.grad
            if self.show_grad and grad is not None and node.requires_grad:
                lines.append(f"grad {_fmt(grad, self.threshold)}")
        elif node.requires_grad:
            if id(node) in p.done:
                line = f"grad {_fmt(p.done[id(node)], self.threshold)}"
            elif id(node) in p.partial:
                line = f"grad so far {_fmt(p.partial[id(node)], self.threshold)}"
                style = '"filled,dashed"'
            else:
                line = "grad ?"
                style = '"filled,dashed"'
            lines.append(p.pad(id(node), line))
            if p.current is node:
                fill = COLOURS["current"]
                style = '"filled,bold"'
                extra = f' color="{HIGHLIGHT}" penwidth=3'
        return f"shape=box style={style} fillcolor=\"{fill}\" id={node_id(node)}{extra}"

    # ---- the DOT text -----------------------------------------------------
    def lines(self, legend: bool) -> list[str]:
        out: list[str] = []
        out.extend(self.clusters.get("", []))
        for name, lines in self.clusters.items():
            if not name:
                continue
            cid = "cluster_" + "".join(c if c.isalnum() else "_" for c in name)
            out.append(f"\tsubgraph {cid} {{\n")
            out.append(f"\t\tlabel={_quote(name)} style=rounded color=grey50 fontsize=11\n")
            out.extend("\t" + line for line in lines)
            out.append("\t}\n")
        out.extend(self.edges)
        if legend:
            out.extend(self._legend())
        return out

    def _legend(self) -> list[str]:
        """One small table node naming the colours used in this picture."""
        entries = [r for r in ("input", "parameter", "value", "op", "output") if r in self.roles]
        if self.progress is not None:
            entries.append("current")
        if len(entries) < 2:
            return []
        names = {"input": "input (no grad)", "parameter": "parameter / leaf",
                 "value": "intermediate", "op": "op", "output": "output",
                 "current": "current step"}
        cells = "".join(f'<td bgcolor="{COLOURS[r]}">{names[r]}</td>' for r in entries)
        table = (f'<table border="0" cellborder="1" cellspacing="2" cellpadding="2">'
                 f'<tr><td border="0">legend</td>{cells}</tr></table>')
        return [f"\tlegend [label=<{table}> shape=plain fontsize=8 fontname=Helvetica]\n"]


def _nearest(root: Node, limit: int) -> set:
    """Ids of the ``limit`` values nearest ``root`` (breadth first through the inputs)."""
    kept = {id(root)}
    frontier = [root]
    while frontier and len(kept) < limit:
        nxt = []
        for node in frontier:
            ctx = node._ctx
            if ctx is None:
                continue
            for x in ctx.inputs:
                if isinstance(x, Node) and id(x) not in kept:
                    if len(kept) >= limit:
                        return kept
                    kept.add(id(x))
                    nxt.append(x)
        frontier = nxt
    return kept
