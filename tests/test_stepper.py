"""animate_backward and BackwardStepper: the page's content and data, the stepper's moves,
its Jupyter displays (ipywidgets and plain HTML), what happens without graphviz's `dot`,
and examples/xor.py --stepper writing the page. The page in a browser: tests/test_browser.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import autograd as ag
from autograd import Scalar, Tensor
from autograd.stepper import BackwardStepper, animate_backward
from autograd.viz import COLOURS, INSTALL_HINT, node_id

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz `dot` not installed")


def scalar_graph():
    a, b = Scalar(2.0, name="a"), Scalar(-3.0, name="b")
    return (a * b + a.exp()).tanh()


def mlp_graph():
    import nn
    from nn import functional as F

    ag.manual_seed(0)
    model = nn.MLP([3, 4, 2])
    x = Tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), name="x")
    loss = F.mse_loss(model(x), np.ones((2, 2), dtype=np.float32))
    return loss, dict(model.named_parameters())


def page_data(text: str) -> dict:
    blob = re.search(r'<script id="data" type="application/json">(.*?)</script>', text, re.S)
    return json.loads(blob.group(1))


def numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text)]


# ----------------------------------------------------------------------------- the page


@needs_dot
def test_animate_backward_writes_one_self_contained_page(tmp_path):
    root = scalar_graph()
    steps = ag.backward_steps(root)
    path = animate_backward(root, tmp_path / "backward.html")
    assert path == str(tmp_path / "backward.html")
    text = open(path, encoding="utf-8").read()
    assert text.startswith("<!DOCTYPE html>")
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', text)
    assert csp and "default-src 'none'" in csp.group(1)
    # nothing that could load anything: no external scripts, styles, images or fonts
    for pattern in (r"<script[^>]*\ssrc=", r"<link\b", r"<img\b", r"@import", r"url\(",
                    r"<iframe\b"):
        assert not re.search(pattern, text, re.I), pattern
    urls = set(re.findall(r"https?://[^\s\\\"'<>]+", text))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls
    for button in ("step", "back", "play", "reset"):
        assert f'id="{button}"' in text

    data = page_data(text)
    assert len(data["steps"]) == len(steps) and len(data["svgs"]) == len(steps) + 1
    for k, (s, d) in enumerate(zip(steps, data["steps"], strict=True), start=1):
        assert d["index"] == k and d["node_id"] == node_id(s.node)
        assert numbers(d["upstream"]) == pytest.approx([s.upstream], rel=1e-3)
        assert [c["to_id"] for c in d["contributions"]] == [node_id(x) for x, _ in
                                                           s.contributions]
        for c, (_, g) in zip(d["contributions"], s.contributions, strict=True):
            assert numbers(c["grad"]) == pytest.approx([g], rel=1e-3)
        # the picture of step k highlights the node of step k, and only it
        svg = data["svgs"][k]
        marked = re.findall(r'<g id="(v\d+)" class="node">\s*<title>[^<]*</title>\s*'
                            r'<polygon fill="' + COLOURS["current"], svg)
        assert marked == [node_id(s.node)]
    assert COLOURS["current"] not in data["svgs"][0].split("legend")[0]


@needs_dot
def test_tensor_page_shows_arrays_and_module_boxes(tmp_path):
    loss, params = mlp_graph()
    steps = ag.backward_steps(loss)
    data = page_data(open(animate_backward(loss, tmp_path / "mlp.html", params=params,
                                           expand_fused=True)).read())
    titles = [d["title"] for d in data["steps"]]
    assert "layers.0.weight (4, 3)" in titles and "layers.1.bias (2,)" in titles
    for s, d in zip(steps, data["steps"], strict=True):
        assert numbers(d["upstream"]) == pytest.approx(np.ravel(s.upstream).tolist(), rel=1e-3)
    assert ">layers.0<" in data["svgs"][0] and ">s = x W^T + b<" in data["svgs"][0]


def test_animate_backward_without_dot_raises_and_writes_nothing(tmp_path, monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(RuntimeError, match="animate_backward: .*apt-get install graphviz"):
        animate_backward(scalar_graph(), tmp_path / "page.html")
    assert not (tmp_path / "page.html").exists()


# ----------------------------------------------------------------------------- the stepper


def test_stepper_moves_through_the_steps():
    root = scalar_graph()
    steps = ag.backward_steps(root)
    st = BackwardStepper(root)
    n = len(st)
    assert n == len(steps) and st.k == 0 and st.current is None
    assert st.step() is st and st.k == 1 and st.current.node is root
    st.step().step()
    assert st.current.node is steps[2].node
    assert st.back().k == 2 and st.reset().k == 0
    assert st.back().k == 0  # stays at the start
    assert st.goto(n).step().k == n  # and at the end
    with pytest.raises(ValueError, match=f"from 0 to {n}"):
        st.goto(n + 1)
    d = st.describe(3)
    assert d["node_id"] == node_id(steps[2].node)
    assert numbers(d["upstream"]) == pytest.approx([steps[2].upstream], rel=1e-3)
    st.goto(3)
    assert st.text().startswith(f"step 3 of {n}: ")
    graph = st.graph()
    assert 'label="backward pass, step 3"' in graph.source
    assert COLOURS["current"] in [line for line in graph.source.splitlines()
                                  if line.strip().startswith(node_id(steps[2].node))][0]
    with pytest.raises(TypeError, match="Tensor or Scalar"):
        BackwardStepper(np.ones(3))


def test_stepper_shows_itself_as_html_in_jupyter(monkeypatch):
    from IPython.core.formatters import DisplayFormatter

    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # as if it were not installed
    st = BackwardStepper(scalar_graph()).step()
    data, _ = DisplayFormatter().format(st)
    assert set(data) == {"text/plain", "text/html"}
    frame = data["text/html"]
    assert frame.startswith("<iframe srcdoc=") and "Content-Security-Policy" in frame
    assert "&lt;svg" in frame or not shutil.which("dot")
    assert "step 1 of" in data["text/plain"]


def test_stepper_widget_buttons_move_the_picture_and_the_panel():
    pytest.importorskip("ipywidgets")
    root = scalar_graph()
    steps = ag.backward_steps(root)
    st = BackwardStepper(root)
    bundle = st._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and "text/html" in bundle
    box = st.widget()
    controls, slider, view = box.children
    reset, back, step = controls.children[:3]
    picture, panel = view.children
    for _ in range(3):
        step.click()
    assert st.k == 3 and slider.value == 3
    assert f"step 3 of {len(steps)}" in panel.value
    if shutil.which("dot"):
        assert picture.value == st.svgs()[3]
        assert f'id="{node_id(steps[2].node)}"' in picture.value
    back.click()
    assert st.k == 2 and f"step 2 of {len(steps)}" in panel.value
    reset.click()
    assert st.k == 0 and "before the backward pass" in panel.value
    st.goto(4)  # moving from Python moves the widget too
    assert slider.value == 4 and "step 4 of" in panel.value
    slider.value = 1  # and moving the slider (or Play) moves the stepper
    assert st.k == 1 and st.current.node is root


def test_stepper_without_dot_still_shows_the_steps(tmp_path, monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    st = BackwardStepper(scalar_graph()).step()
    data = page_data(st.html())
    assert data["svgs"] is None and data["hint"] == INSTALL_HINT
    assert len(data["steps"]) == len(st)
    assert "apt-get install graphviz" in st._repr_html_()


# ------------------------------------------------------- after an ordinary backward()


def _mlp_loss():
    rng = np.random.default_rng(3)
    x = Tensor(rng.standard_normal((4, 3)))
    w = Tensor(rng.standard_normal((3, 2)), requires_grad=True, name="w")
    b = Tensor(rng.standard_normal(2), requires_grad=True, name="b")
    h = (x @ w + b).tanh()
    return (h.softmax(axis=1).log().sum(axis=1) * h.sum(axis=1)).mean()


@pytest.mark.parametrize("make", [scalar_graph, _mlp_loss], ids=["scalar", "tensor"])
def test_steps_after_backward_equal_the_steps_before(make):
    """The README's order: c.backward(), then look at the steps. backward() released the
    saved buffers; the steps are remade from the values the graph keeps."""
    before = ag.backward_steps(make())
    root = make()
    root.backward()
    leaves = [x for x in ag.toposort(root) if x.is_leaf]
    grads = [np.copy(x.grad) for x in leaves]
    after = ag.backward_steps(root)
    assert len(after) == len(before)
    for a, b in zip(after, before, strict=True):
        assert a.node.op == b.node.op
        np.testing.assert_allclose(np.asarray(a.upstream, float), np.asarray(b.upstream, float),
                                   rtol=1e-12)
        assert len(a.contributions) == len(b.contributions)
        for (xa, ga), (xb, gb) in zip(a.contributions, b.contributions, strict=True):
            assert xa.op == xb.op and np.shape(xa.data) == np.shape(xb.data)
            np.testing.assert_allclose(np.asarray(ga, float), np.asarray(gb, float), rtol=1e-12)
    for x, g in zip(leaves, grads, strict=True):  # the steps leave .grad alone
        np.testing.assert_array_equal(x.grad, g)


@pytest.mark.skipif(shutil.which("dot") is None,
                    reason="needs graphviz's dot (apt-get install graphviz)")
def test_picture_page_and_stepper_after_backward(tmp_path):
    root = scalar_graph()
    root.backward()
    n = len(ag.backward_steps(root))
    assert "backward pass, step 2" in ag.draw_graph(root, step=2).source
    animate_backward(root, tmp_path / "page.html")
    assert (tmp_path / "page.html").stat().st_size > 0
    stepper = BackwardStepper(root)
    assert len(stepper) == n and stepper.goto(n).k == n


def test_a_second_backward_still_refuses():
    """Remaking steps does not make a released graph reusable for backward itself."""
    root = _mlp_loss()
    root.backward()
    ag.backward_steps(root)
    with pytest.raises(RuntimeError, match="a second time.*retain_graph=True"):
        root.backward()


# ------------------------------------------------ examples/xor.py --stepper writes the page


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_xor_writes_the_backprop_stepper_page(tmp_path):
    import shutil

    if shutil.which("dot") is None:
        pytest.skip("the stepper page is rendered with graphviz's dot, which is not installed")
    env = dict(os.environ, MPLBACKEND="Agg")
    run = subprocess.run([sys.executable, str(EXAMPLES / "xor.py"), "--quick", "--stepper",
                          "--out", str(tmp_path)], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    page = (tmp_path / "xor_backprop.html").read_text()
    assert "Step" in page and "<svg" in page and "http://" not in page.split("<svg")[0]
