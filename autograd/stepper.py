"""Backpropagation step by step: a page for any browser, and a stepper for Jupyter.

Both walk through ``backward_steps(root)``: at each step one node receives its
upstream gradient (the sum of what its consumers sent) and sends one product
to each of its inputs (the chain rule: upstream times the local derivative).
The pictures are ``draw_graph(root, step=k)`` for k = 0 .. number of steps.

``animate_backward(root, path)`` writes one self-contained HTML file (pictures
rendered by graphviz's ``dot`` when it is written, the script inline, no network)
with Step / Back / Play / Reset buttons. ``BackwardStepper(root)`` shows the same
in Jupyter: with ipywidgets as widgets, otherwise as that page.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

import numpy as np

from . import viz
from ._stepper_page import page
from .engine import Node

__all__ = ["animate_backward", "BackwardStepper"]

PANEL_THRESHOLD = 30  # the panel prints arrays with up to this many elements in full


def _text(value: Any, threshold: int) -> str:
    """A gradient for the panel: numbers in full when small, else min / mean / max."""
    arr = np.asarray(value)
    if arr.ndim == 0 or arr.size > threshold:
        return viz._fmt(arr, threshold)
    return viz._array_text(arr)


def _shape(node: Node) -> str:
    data = node.data
    return f" {data.shape}" if isinstance(data, np.ndarray) else ""


class BackwardStepper:
    """The backward pass of ``root``, one step at a time, for Jupyter.

    ``stepper.step()``, ``back()``, ``reset()`` and ``goto(k)`` move through the
    ``len(stepper)`` steps (each returns the stepper, so a cell ending in one shows
    it); ``stepper.current`` is the step just taken (a ``BackwardStep``, None at
    k = 0), ``stepper.graph()`` the picture at the current step. In Jupyter the
    stepper displays itself: with ipywidgets as buttons and a slider, otherwise
    as the self-contained page of ``animate_backward``. The other arguments are
    those of ``draw_graph``. Build it before calling ``backward()`` on the graph (or
    after ``backward(retain_graph=True)``): the steps need the saved buffers.
    """

    def __init__(self, root: Node, params: dict | None = None, rankdir: str = "LR",
                 threshold: int = viz.THRESHOLD, expand_fused: bool = False,
                 max_nodes: int | None = viz.MAX_NODES, title: str | None = None,
                 interval_ms: int = 900) -> None:
        if not isinstance(root, Node):
            raise TypeError(
                f"BackwardStepper: root must be a Tensor or Scalar, got {type(root).__name__}."
            )
        self.root = root
        self.steps = viz._steps_of(root, "BackwardStepper")
        self.params = params
        self.names = {id(v): k for k, v in (params or {}).items()}
        self.options = dict(params=params, rankdir=rankdir, threshold=threshold,
                            expand_fused=expand_fused, max_nodes=max_nodes)
        self.title = title or f"Backpropagation through {viz.node_title(root, self.names)}, " \
                              f"step by step"
        self.interval_ms = int(interval_ms)
        self.k = 0
        self._svgs: list[str] | None = None
        self._widget: Any = None

    # ---- moving through the steps ----------------------------------------
    def __len__(self) -> int:
        return len(self.steps)

    def goto(self, k: int) -> "BackwardStepper":
        """Show the graph after ``k`` steps (0 .. len(self))."""
        if not isinstance(k, (int, np.integer)) or not 0 <= k <= len(self.steps):
            raise ValueError(
                f"BackwardStepper.goto: k must be an int from 0 to {len(self.steps)} (the "
                f"number of steps), got {k!r}."
            )
        self.k = int(k)
        if self._widget is not None:
            self._widget.children[1].value = self.k  # the slider; it redraws the widget
        return self

    def step(self) -> "BackwardStepper":
        """One step forward (stays at the last step)."""
        return self.goto(min(self.k + 1, len(self.steps)))

    def back(self) -> "BackwardStepper":
        """One step back (stays at step 0)."""
        return self.goto(max(self.k - 1, 0))

    def reset(self) -> "BackwardStepper":
        """Back to step 0, before the backward pass."""
        return self.goto(0)

    @property
    def current(self) -> Any:
        """The step just taken (``node``, ``upstream``, ``contributions``), None at k = 0."""
        return self.steps[self.k - 1] if self.k else None

    # ---- what is shown ----------------------------------------------------
    def graph(self, k: int | None = None) -> Any:
        """``draw_graph(root, step=k)`` (the current step when k is None)."""
        return viz.draw_graph(self.root, step=self.k if k is None else k, **self.options)

    def describe(self, k: int | None = None) -> dict:
        """Step ``k`` (1-based; the current one when None) in words and numbers: the node,
        its upstream gradient and what it sends to each input."""
        k = self.k if k is None else k
        if not 1 <= k <= len(self.steps):
            raise ValueError(f"BackwardStepper.describe: k must be from 1 to {len(self.steps)}, "
                             f"got {k!r}.")
        s = self.steps[k - 1]
        node = s.node
        title = viz.node_title(node, self.names)
        if node is self.root:
            what = "The output: its gradient is the seed, 1."
        elif node._ctx is None:
            what = "A leaf: every consumer has sent its part; the sum is its gradient."
        else:
            what = f"Made by {node.op}: every consumer has sent its part; it now runs " \
                   f"{node.op}'s backward."
        return {
            "index": k,
            "node_id": viz.node_id(node),
            "title": title + _shape(node),
            "what": what,
            "upstream": _text(s.upstream, PANEL_THRESHOLD),
            "leaf": "This is its .grad after backward()." if node.requires_grad else "",
            "contributions": [
                {"to": viz.node_title(x, self.names) + _shape(x), "to_id": viz.node_id(x),
                 "grad": _text(g, PANEL_THRESHOLD)}
                for x, g in s.contributions
            ],
        }

    def text(self, k: int | None = None) -> str:
        """The panel of step ``k`` as plain text (the current step when None)."""
        k = self.k if k is None else k
        if k == 0:
            return f"step 0 of {len(self.steps)}: before the backward pass"
        d = self.describe(k)
        lines = [f"step {k} of {len(self.steps)}: {d['title']}", d["what"],
                 f"  upstream gradient: {d['upstream']}"]
        lines += [f"  sends to {c['to']}: {c['grad']}" for c in d["contributions"]]
        return "\n".join(lines)

    def svgs(self) -> list[str]:
        """The SVG picture of every step k = 0 .. len(self) (rendered once, with ``dot``)."""
        if self._svgs is None:
            sources = [self.graph(k).source for k in range(len(self.steps) + 1)]
            self._svgs = viz.render_svgs(sources)
        return self._svgs

    def html(self) -> str:
        """The self-contained page (no network): pictures, panel, Step/Back/Play/Reset."""
        data = {
            "steps": [self.describe(k) for k in range(1, len(self.steps) + 1)],
            "svgs": self.svgs() if viz.dot_available() else None,
            "hint": viz.INSTALL_HINT,
            "intro": (f"{len(self.steps)} steps. Each step takes the youngest node whose "
                      "gradient is complete, and sends one product to each of its inputs. "
                      "Press Step."),
            "start": self.k,
            "interval_ms": self.interval_ms,
        }
        return page(self.title, data)

    # ---- Jupyter -----------------------------------------------------------
    def _repr_html_(self) -> str:
        """The page in an iframe (its script and ids stay apart from the notebook's)."""
        return (f'<iframe srcdoc="{html.escape(self.html(), quote=True)}" '
                'style="width: 100%; height: 640px; border: 1px solid #ddd;" '
                'title="backward pass, step by step"></iframe>')

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None,
                          **kwargs: Any) -> dict:
        bundle = {"text/plain": self.text(), "text/html": self._repr_html_()}
        try:
            widget = self.widget()
        except ImportError:
            return bundle
        bundle.update(widget._repr_mimebundle_(include=include, exclude=exclude, **kwargs))
        bundle["text/plain"] = self.text()
        return bundle

    def __repr__(self) -> str:
        return f"<BackwardStepper: {len(self.steps)} steps, at step {self.k}>\n{self.text()}"

    def widget(self) -> Any:
        """The stepper as ipywidgets: Reset / Back / Step buttons, Play and a slider, the
        picture and the panel. Raises ImportError without ipywidgets."""
        if self._widget is not None:
            return self._widget
        import ipywidgets as w

        n = len(self.steps)
        buttons = {name: w.Button(description=name, layout=w.Layout(width="80px"))
                   for name in ("Reset", "Back", "Step")}
        slider = w.IntSlider(value=self.k, min=0, max=n, description="step")
        play = w.Play(value=self.k, min=0, max=n, interval=self.interval_ms)
        w.jslink((play, "value"), (slider, "value"))
        picture, panel = w.HTML(), w.HTML()

        def redraw(change: Any = None) -> None:
            self.k = slider.value
            if viz.dot_available():
                picture.value = self.svgs()[self.k]
            else:
                picture.value = f"<pre>{html.escape(viz.INSTALL_HINT)}</pre>"
            panel.value = f"<pre>{html.escape(self.text())}</pre>"

        slider.observe(redraw, names="value")
        buttons["Reset"].on_click(lambda _: self.reset())
        buttons["Back"].on_click(lambda _: self.back())
        buttons["Step"].on_click(lambda _: self.step())
        controls = w.HBox([buttons["Reset"], buttons["Back"], buttons["Step"], play])
        self._widget = w.VBox([controls, slider, w.HBox([picture, panel])])
        redraw()
        return self._widget


def animate_backward(root: Node, path: str | os.PathLike, params: dict | None = None,
                     rankdir: str = "LR", threshold: int = viz.THRESHOLD,
                     expand_fused: bool = False, max_nodes: int | None = viz.MAX_NODES,
                     title: str | None = None, interval_ms: int = 900) -> str:
    """Write the backward pass of ``root`` as one self-contained HTML page; return its path.

    The page needs no network (everything is inline) and opens in any modern
    browser: the graph at each step (``draw_graph(root, step=k)``), Step / Back /
    Play / Reset buttons (and the arrow keys), and a panel with the node being
    processed, its upstream gradient and the products it sends to its inputs. The
    pictures are rendered now, with graphviz's ``dot``; without it this raises.
    """
    if not viz.dot_available():
        raise RuntimeError(f"animate_backward: {viz.INSTALL_HINT}")
    stepper = BackwardStepper(root, params=params, rankdir=rankdir, threshold=threshold,
                              expand_fused=expand_fused, max_nodes=max_nodes, title=title,
                              interval_ms=interval_ms)
    path = Path(path)
    path.write_text(stepper.html(), encoding="utf-8")
    return str(path)
