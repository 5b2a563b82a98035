"""draw_graph: the DOT source of known graphs, options, roles, modules, the backward pass
step by step, big graphs, pictures without graphviz's `dot`, real rendering, and speed."""

from __future__ import annotations

import re
import shutil
import time

import graphviz  # a runtime dependency of the project: no skip if it is missing
import numpy as np
import pytest

import autograd as ag
from autograd import Scalar, Tensor
from autograd.viz import COLOURS, INSTALL_HINT, node_id

NODE = re.compile(r'^\t+(\S+) \[label="((?:[^"\\]|\\.)*)"(.*)\]$')
EDGE = re.compile(r"^\t+(\S+) -> (\S+)( \[.*\])?$")


def parse(source: str):
    """(nodes {id: (label lines, attrs)}, edges [(src, dst)] in file order); the legend's
    table node and its invisible layout are left out."""
    nodes, edges = {}, []
    for line in source.splitlines():
        m = NODE.match(line)
        if m:
            label = re.split(r"\\[nl]", m.group(2).replace('\\"', '"'))
            nodes[m.group(1)] = ([x.rstrip() for x in label if x], m.group(3))
            continue
        m = EDGE.match(line)
        if m:
            edges.append((m.group(1), m.group(2)))
    return nodes, edges


def attrs_of(source: str, nid: str) -> str:
    """The attribute text of node ``nid``'s line."""
    (line,) = [x for x in source.splitlines() if x.strip().startswith(f"{nid} [")]
    return line


def by_title(nodes):
    """{first label line: [ids]} for the value and op nodes."""
    out = {}
    for nid, (label, _) in nodes.items():
        out.setdefault(label[0], []).append(nid)
    return out


def numbers(line: str) -> list[float]:
    """The numbers written in a label line."""
    return [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", line)]


def kind(nid: str) -> str:
    return nid[0]  # 'v' value, 'o' op, 'c' constant, 's'/'a' parts of a fused op


@pytest.fixture
def small():
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True, name="a")
    b = Tensor(np.array([3.0, 4.0]), requires_grad=True, name="b")
    c = a * b
    c.name = "c"
    d = c * 2
    loss = d.sum()
    return a, b, c, d, loss


def test_known_small_graph(small):
    a, b, c, d, loss = small
    loss.backward()
    g = ag.draw_graph(loss)
    assert isinstance(g, graphviz.Digraph)
    nodes, edges = parse(g.source)
    values = {n for n in nodes if kind(n) == "v"}
    ops = {n for n in nodes if kind(n) == "o"}
    consts = {n for n in nodes if kind(n) == "c"}
    assert len(values) == 5 and len(ops) == 3 and len(consts) == 1
    assert len(edges) == 8 and len(set(edges)) == 8

    titles = by_title(nodes)
    (va,), (vb,), (vc,) = titles["a"], titles["b"], titles["c"]
    assert sorted(nodes[o][0][0] for o in ops) == ["Mul", "Mul", "Sum"]
    # value labels: name (or op), shape and dtype, data, grad (leaves keep theirs)
    assert nodes[va][0] == ["a", "(2,) float64", "data [1, 2]", "grad [6, 8]"]
    assert nodes[vb][0] == ["b", "(2,) float64", "data [3, 4]", "grad [2, 4]"]
    assert nodes[vc][0] == ["c", "(2,) float64", "data [3, 8]"]  # no grad on intermediates
    assert "lightblue" in nodes[va][1] and "white" in nodes[vc][1]
    assert "box" in nodes[va][1] and all("ellipse" in nodes[o][1] for o in ops)
    (vloss,) = [v for v in values if nodes[v][0][0] == "Sum"]
    assert nodes[vloss][0][1:] == ["() float64", "data 22"]
    (const,) = consts
    assert nodes[const][0] == ["2"]

    # every op feeds exactly its own value; inputs come in input order
    op_of = {dst: src for src, dst in edges if kind(src) == "o"}
    assert set(op_of.values()) == ops
    into = {o: [src for src, dst in edges if dst == o] for o in ops}
    assert into[op_of[vc]] == [va, vb]
    (vd,) = [v for v in values if nodes[v][0][0] == "Mul"]
    assert into[op_of[vd]] == [vc, const]
    assert into[op_of[vloss]] == [vd]


def test_edge_order_follows_input_order():
    a = Tensor([1.0], requires_grad=True, name="a")
    b = Tensor([2.0], requires_grad=True, name="b")
    for out, first, second in [(a - b, "a", "b"), (b - a, "b", "a")]:
        nodes, edges = parse(ag.draw_graph(out).source)
        titles = by_title(nodes)
        (op,) = [n for n in nodes if kind(n) == "o"]
        assert [src for src, dst in edges if dst == op] == [titles[first][0], titles[second][0]]


def test_reused_value_has_one_node_and_two_edges():
    x = Scalar(3.0, name="x")
    y = x * x
    nodes, edges = parse(ag.draw_graph(y).source)
    assert len([n for n in nodes if kind(n) == "v"]) == 2
    (vx,) = by_title(nodes)["x"]
    (op,) = [n for n in nodes if kind(n) == "o"]
    assert edges.count((vx, op)) == 2


def test_scalar_root_shows_data_and_grads_everywhere():
    a, b = Scalar(2.0, name="a"), Scalar(-3.0, name="b")
    e = a * b
    e.name = "e"
    f = e.tanh()
    f.backward()
    nodes, edges = parse(ag.draw_graph(f).source)
    titles = by_title(nodes)
    la = nodes[titles["a"][0]][0]
    assert la[0] == "a" and la[1] == "data 2" and la[2].startswith("grad ")
    assert float(la[2].split()[1]) == pytest.approx(a.grad, rel=1e-3)
    le = nodes[titles["e"][0]][0]
    assert le[1] == "data -6" and le[2].startswith("grad ")  # Scalars keep intermediate grads
    assert "Tanh" in titles and "Mul" in titles
    assert len(edges) == 5  # Mul->e, a->Mul, b->Mul, Tanh->f, e->Tanh
    assert not any("float" in line for label, _ in nodes.values() for line in label), \
        "Scalar labels carry no shape/dtype line"


def test_graph_before_backward_has_no_grad_lines(small):
    *_, loss = small
    nodes, _ = parse(ag.draw_graph(loss).source)
    assert not any(line.startswith("grad") for label, _ in nodes.values() for line in label)
    assert any(line.startswith("data") for label, _ in nodes.values() for line in label)


def test_show_data_and_show_grad_options(small):
    *_, loss = small
    loss.backward()

    def lines(**kw):
        nodes, _ = parse(ag.draw_graph(loss, **kw).source)
        return [line for label, _ in nodes.values() for line in label]

    both = lines()
    assert any(x.startswith("data") for x in both) and any(x.startswith("grad") for x in both)
    no_data = lines(show_data=False)
    assert not any(x.startswith("data") for x in no_data)
    assert any(x.startswith("grad") for x in no_data)
    no_grad = lines(show_grad=False)
    assert not any(x.startswith("grad") for x in no_grad)
    assert any(x.startswith("data") for x in no_grad)
    bare = lines(show_data=False, show_grad=False)
    assert not any(x.startswith(("data", "grad")) for x in bare)
    assert "(2,) float64" in bare  # shapes stay


def test_numbers_keep_four_significant_digits():
    a = Tensor(np.array([1.23456e-5, -2.5, 1234.5678]), requires_grad=True, name="a")
    nodes, _ = parse(ag.draw_graph(a * 1).source)
    assert nodes[by_title(nodes)["a"][0]][0][2] == "data [1.235e-05, -2.5, 1235]"


def test_large_values_show_min_mean_max():
    w = Tensor(np.arange(20.0).reshape(4, 5), requires_grad=True, name="w")
    y = (w * w).sum()
    y.backward()
    nodes, _ = parse(ag.draw_graph(y).source)
    label = nodes[by_title(nodes)["w"][0]][0]
    assert label[:2] == ["w", "(4, 5) float64"]
    assert numbers(label[2]) == pytest.approx([0.0, 9.5, 19.0], rel=1e-3)  # min, mean, max
    assert numbers(label[3]) == pytest.approx([0.0, 19.0, 38.0], rel=1e-3)  # of the grad 2w
    assert label[2].startswith("data min") and label[3].startswith("grad min")


def test_params_name_the_leaves_and_win_over_names():
    w = Tensor(np.ones((2, 2)), requires_grad=True, name="w_attr")
    b = Tensor(np.zeros(2), requires_grad=True)
    x = Tensor(np.ones((3, 2)))
    y = (x @ w + b).sum()
    nodes, _ = parse(ag.draw_graph(y, params={"layer.weight": w, "layer.bias": b}).source)
    titles = by_title(nodes)
    assert "layer.weight" in titles and "layer.bias" in titles
    assert "w_attr" not in titles
    # a value that is neither named nor a parameter is titled "input" (no grad) or by its op
    assert "input" in titles and "MatMul" in titles and "Add" in titles and "Sum" in titles
    assert COLOURS["input"] in nodes[titles["input"][0]][1]  # not a parameter's colour
    assert "lightblue" in nodes[titles["layer.weight"][0]][1]


def test_rankdir_and_bad_arguments(small):
    *_, loss = small
    assert "rankdir=LR" in ag.draw_graph(loss).source
    for rd in ("TB", "RL", "BT"):
        assert f"rankdir={rd}" in ag.draw_graph(loss, rankdir=rd).source
    with pytest.raises(ValueError, match="rankdir"):
        ag.draw_graph(loss, rankdir="XY")
    with pytest.raises(TypeError, match="Tensor or Scalar"):
        ag.draw_graph(np.ones(2))


def test_drawing_is_deterministic_and_works_after_buffers_are_freed():
    def build():
        a = Tensor(np.array([1.0, -1.0]), requires_grad=True, name="a")
        b = Tensor(np.array([0.5, 2.0]), requires_grad=True, name="b")
        h = (a * b + a).tanh()
        return (h * h - b).sum()

    def canonical(root):
        src = ag.draw_graph(root).source
        ids = {}
        return re.sub(r"\b([vocsa])(\d+)(_\d+)?\b",
                      lambda m: ids.setdefault(m.group(0), f"{m.group(1)}#{len(ids)}"), src)

    r1, r2 = build(), build()
    assert canonical(r1) == canonical(r2)
    r1.backward()  # buffers released, structure kept
    nodes, edges = parse(ag.draw_graph(r1).source)
    assert len([n for n in nodes if kind(n) == "o"]) == 6 and len(edges) > 6


def test_labels_are_escaped():
    a = Tensor([1.0], requires_grad=True, name='quote " and \\ backslash\nnewline')
    src = ag.draw_graph(a * 3).source
    nodes, _ = parse(src)
    assert any(label[0].startswith("quote") for label, _ in nodes.values())
    assert '\\"' in src


def test_jupyter_display_hook():
    g = ag.draw_graph(Tensor([1.0], requires_grad=True) * 2)
    assert hasattr(g, "_repr_mimebundle_")


needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz `dot` not installed")


@needs_dot
@pytest.mark.parametrize("fmt,magic", [("svg", b"<svg"), ("png", b"\x89PNG")])
def test_real_rendering(tmp_path, fmt, magic, small):
    *_, loss = small
    loss.backward()
    a = Tensor([1.0], requires_grad=True, name='odd "name"\nwith newline')
    for k, root in enumerate([loss, (a * 2).sum(), Scalar(2.0, name="s").tanh()]):
        path = ag.draw_graph(root).render(str(tmp_path / f"graph{k}"), format=fmt)
        data = open(path, "rb").read()
        assert magic in data[:400] and len(data) > 100


def test_five_thousand_node_graph_source_is_fast():
    x = Tensor(np.ones(3), requires_grad=True, name="x")
    y = x
    for _ in range(2500):  # 2,501 values + 2,500 ops
        y = y.tanh()
    y.sum().backward()
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        source = ag.draw_graph(y, max_nodes=None).source
        best = min(best, time.perf_counter() - start)
    nodes, edges = parse(source)
    assert len([n for n in nodes if kind(n) in "vo"]) == 5001 and len(edges) == 5000
    assert best < 1.0, f"draw_graph took {best:.2f} s for 5,001 nodes (contract: < 1 s)"


def test_constant_labels():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    w = Tensor(np.ones((4, 3)), requires_grad=True)
    y = ag.ops.Linear.apply(x, w, None) * np.ones((2, 4))
    nodes, _ = parse(ag.draw_graph(y).source)
    consts = sorted(nodes[n][0][0] for n in nodes if kind(n) == "c")
    assert consts == ["None", "const (2, 4) float64"]


# ----------------------------------------------------------------------------- numbers and roles


def test_threshold_chooses_between_numbers_and_summary():
    w = Tensor(np.arange(20.0).reshape(4, 5), requires_grad=True, name="w")
    y = (w * 2).sum()
    y.backward()

    def label(**kw):
        nodes, _ = parse(ag.draw_graph(y, **kw).source)
        return nodes[by_title(nodes)["w"][0]][0]

    full = label(threshold=20)  # one line per row of the matrix
    assert full[2].startswith("data [[") and full[6].startswith("grad [[")
    assert numbers(" ".join(full[2:6])) == list(np.arange(20.0))
    assert numbers(" ".join(full[6:])) == [2.0] * 20
    assert label(threshold=19)[2].startswith("data min")
    a = Tensor([1.0, 2.0], requires_grad=True, name="a")
    nodes, _ = parse(ag.draw_graph(a * 3, threshold=0).source)
    assert nodes[by_title(nodes)["a"][0]][0][2] == "data min 1, mean 1.5, max 2"
    with pytest.raises(ValueError, match="threshold"):
        ag.draw_graph(y, threshold=-1)


def test_unnamed_leaf_with_grad_shows_its_grad():
    w = Tensor(np.ones((3, 4)), requires_grad=True)  # no name, 12 elements
    x = Tensor(np.arange(4.0))
    loss = (w @ x).sum()
    loss.backward()
    nodes, _ = parse(ag.draw_graph(loss).source)
    (lw,) = [label for label, attrs in nodes.values() if label[0] == "leaf"]
    assert lw[1] == "(3, 4) float64"
    assert lw[3].startswith("grad min") and numbers(lw[3]) == pytest.approx([0.0, 1.5, 3.0])


def test_roles_have_colours_and_the_legend_names_them():
    x = Tensor(np.ones((2, 3)), name="x")
    w = Tensor(np.ones((3, 1)), requires_grad=True, name="w")
    h = x @ w
    loss = h.tanh().sum()
    src = ag.draw_graph(loss).source
    nodes, _ = parse(src)
    titles = by_title(nodes)
    assert COLOURS["input"] in nodes[titles["x"][0]][1]
    assert COLOURS["parameter"] in nodes[titles["w"][0]][1]
    assert COLOURS["value"] in nodes[titles["MatMul"][0]][1]
    (vroot,) = [n for n in titles["Sum"] if kind(n) == "v"]
    assert COLOURS["output"] in nodes[vroot][1]
    assert all(COLOURS["op"] in nodes[o][1] for o in nodes if kind(o) == "o")
    legend = [line for line in src.splitlines() if line.strip().startswith("legend [")]
    assert len(legend) == 1
    for word in ("input", "parameter", "intermediate", "op", "output"):
        assert word in legend[0]
    assert "current step" not in legend[0]
    assert "legend" not in ag.draw_graph(loss, legend=False).source


# ----------------------------------------------------------------------------- modules


def clusters(source: str) -> dict:
    """{cluster label: [node ids declared inside it]}."""
    out, current = {}, None
    for line in source.splitlines():
        if line.strip().startswith("subgraph cluster_"):
            current = []
        elif current is not None and line.strip().startswith("label="):
            out[re.match(r'\s*label="([^"]*)"', line).group(1)] = current
        elif current is not None and line.strip() == "}":
            current = None
        elif current is not None:
            m = NODE.match(line)
            if m:
                current.append(m.group(1))
    return out


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_params_group_each_module_in_a_labelled_box(activation):
    import nn
    from nn import functional as F

    ag.manual_seed(0)
    model = nn.MLP([3, 4, 2], activation=activation)
    x = Tensor(np.ones((5, 3), dtype=np.float32), name="x")
    loss = F.mse_loss(model(x), np.zeros((5, 2), dtype=np.float32))
    params = dict(model.named_parameters())
    src = ag.draw_graph(loss, params=params).source
    nodes, _ = parse(src)
    boxes = clusters(src)
    assert sorted(boxes) == ["layers.0", "layers.1"]
    for prefix, ids in boxes.items():
        titles = [nodes[i][0][0] for i in ids]
        assert f"{prefix}.weight" in titles and f"{prefix}.bias" in titles
    first = [nodes[i][0][0] for i in boxes["layers.0"]]
    if activation == "tanh":  # one fused node per hidden layer
        assert first.count("LinearTanh") == 2  # the op and its value
    else:  # the activation follows its layer's affine op into the box
        assert first.count("Linear") == 2 and first.count("Sigmoid") == 2
    inside = {i for ids in boxes.values() for i in ids}
    titles = by_title(nodes)
    assert not set(titles["x"]) & inside  # the input and the loss stay outside
    assert not {i for t in ("Sub", "Pow", "Mean") for i in titles.get(t, [])} & inside


# ----------------------------------------------------------------------------- fused ops


def test_expand_fused_draws_the_signal_then_the_activation():
    ag.manual_seed(1)
    x = Tensor(np.random.default_rng(0).normal(size=(2, 3)), name="x")
    w = Tensor(np.random.default_rng(1).normal(size=(2, 3)), requires_grad=True, name="W")
    b = Tensor(np.array([0.5, -0.5]), requires_grad=True, name="b")
    h = ag.ops.LinearTanh.apply(x, w, b)
    loss = h.sum()
    nodes, edges = parse(ag.draw_graph(loss).source)
    assert "LinearTanh" in by_title(nodes) and not any(kind(n) in "sa" for n in nodes)

    nodes, edges = parse(ag.draw_graph(loss, expand_fused=True, threshold=10).source)
    (sid,) = [n for n in nodes if kind(n) == "s"]
    (aid,) = [n for n in nodes if kind(n) == "a"]
    label = nodes[sid][0]
    assert label[0] == "s = x W^T + b" and label[1] == "(2, 2) float64"
    expected = x.data @ w.data.T + b.data
    assert numbers(" ".join(label[2:])) == pytest.approx(expected.ravel().tolist(), rel=1e-3,
                                                         abs=1e-4)
    assert nodes[aid][0] == ["Tanh"]
    (oid,) = [src for src, dst in edges if dst == sid]
    assert nodes[oid][0] == ["Linear"]
    assert [src for src, dst in edges if dst == oid] == [by_title(nodes)[t][0]
                                                         for t in ("x", "W", "b")]
    assert (sid, aid) in edges and (aid, node_id(h)) in edges


# ----------------------------------------------------------------------------- big graphs


def test_big_graphs_are_collapsed_with_a_warning():
    x = Scalar(0.5, name="x")
    y = x
    for _ in range(200):
        y = y.tanh()
    with pytest.warns(UserWarning, match=r"201 values.*max_nodes=None"):
        src = ag.draw_graph(y, max_nodes=40).source
    nodes, edges = parse(src)
    assert len([n for n in nodes if kind(n) == "v"]) == 40
    assert nodes["more"][0] == ["... 161 more values"]
    assert len([e for e in edges if e[0] == "more"]) == 1
    with pytest.warns(UserWarning, match="max_nodes"):
        ag.draw_graph(y)  # the default limit
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nodes, _ = parse(ag.draw_graph(y, max_nodes=None).source)
    assert len([n for n in nodes if kind(n) == "v"]) == 201
    with pytest.raises(ValueError, match="max_nodes"):
        ag.draw_graph(y, max_nodes=0)


# ----------------------------------------------------------------------------- without `dot`


@pytest.fixture
def no_dot(tmp_path, monkeypatch):
    """Hide every program (graphviz's `dot` included) and work in an empty directory."""
    empty = tmp_path / "bin"
    empty.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.chdir(work)
    assert shutil.which("dot") is None
    return work


def readme_first_example() -> str:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    after = readme.split("## A first example", 1)[1]
    return after.split("```python\n", 1)[1].split("```", 1)[0]


def test_readme_first_example_without_dot_prints_dot_text_and_leaves_no_files(no_dot, capsys):
    code = readme_first_example()
    assert "draw_graph" in code and ".render(" in code
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out
    assert "digraph {" in out and "Tanh" in out
    assert INSTALL_HINT in out and "apt-get install graphviz" in out
    assert "brew install graphviz" in out
    assert list(no_dot.iterdir()) == []  # nothing rendered, nothing left behind


def test_jupyter_shows_dot_text_without_dot(no_dot):
    from IPython.core.formatters import DisplayFormatter

    a = Scalar(2.0, name="a")
    g = ag.draw_graph((a * a).tanh())
    bundle = g._repr_mimebundle_()
    assert list(bundle) == ["text/plain"]
    assert g.source in bundle["text/plain"] and INSTALL_HINT in bundle["text/plain"]
    assert g._repr_svg_() is None
    data, _ = DisplayFormatter().format(g)  # what a cell ending in draw_graph(...) shows
    assert "digraph" in data["text/plain"] and "apt-get install graphviz" in data["text/plain"]
    assert not any(k.startswith("image/") for k in data)
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        ag.viz.render_svgs([g.source])
    assert list(no_dot.iterdir()) == []


@needs_dot
def test_jupyter_shows_svg_with_dot():
    g = ag.draw_graph(Scalar(2.0, name="a").tanh())
    assert g._repr_mimebundle_()["image/svg+xml"].lstrip().startswith("<?xml")
    assert "<svg" in g._repr_svg_()


@needs_dot
def test_render_svgs_renders_many_graphs_in_one_run():
    roots = [Scalar(float(k), name=f"n{k}").tanh() for k in range(3)]
    svgs = ag.viz.render_svgs(ag.draw_graph(r).source for r in roots)
    assert len(svgs) == 3
    for k, svg in enumerate(svgs):
        assert svg.startswith("<svg") and svg.endswith("</svg>") and f">n{k}<" in svg


# ----------------------------------------------------------------------------- step by step


def scalar_example():
    """The README's Scalar graph: a is used twice, so its gradient arrives in two parts."""
    a, b = Scalar(2.0, name="a"), Scalar(-3.0, name="b")
    return a, b, (a * b + a.exp()).tanh()


def grad_line(label: list) -> str:
    (line,) = [x for x in label if x.startswith("grad")]
    return line


def test_step_k_highlights_the_node_and_fills_in_gradients():
    a, b, c = scalar_example()
    steps = ag.backward_steps(c)
    assert steps[0].node is c and len(steps) == len(ag.toposort(c))
    for k in range(len(steps) + 1):
        src = ag.draw_graph(c, step=k).source
        nodes, edges = parse(src)
        current = [n for n in nodes if COLOURS["current"] in nodes[n][1]]
        assert current == ([node_id(steps[k - 1].node)] if k else [])
        assert f'label="backward pass, step {k}"' in src
        done = {id(s.node): s.upstream for s in steps[:k]}
        partial: dict = {}
        for s in steps[:k]:
            for x, g in s.contributions:
                partial[id(x)] = partial.get(id(x), 0.0) + g
        for s in steps:
            line = grad_line(nodes[node_id(s.node)][0])
            if id(s.node) in done:
                assert line.startswith("grad ") and "so far" not in line
                assert numbers(line) == pytest.approx([done[id(s.node)]], rel=1e-3)
            elif id(s.node) in partial:
                assert line.startswith("grad so far")
                assert numbers(line) == pytest.approx([partial[id(s.node)]], rel=1e-3)
            else:
                assert line == "grad ?"
        red = {(src_, dst) for src_, dst in edges
               if HIGHLIGHT_EDGE in attrs_of_edge(src, src_, dst)}
        if k:
            op = f"o{id(steps[k - 1].node)}"
            assert red == {(node_id(x), op) for x, _ in steps[k - 1].contributions}
        else:
            assert red == set()
    # after the last step every leaf shows the gradient backward() gives
    c.backward()
    nodes, _ = parse(ag.draw_graph(*scalar_example()[2:], step=len(steps)).source)
    for leaf, name in ((a, "a"), (b, "b")):
        assert numbers(grad_line(nodes[by_title(nodes)[name][0]][0])) == pytest.approx(
            [leaf.grad], rel=1e-3)


HIGHLIGHT_EDGE = f'color="{ag.viz.HIGHLIGHT}"'


def attrs_of_edge(source: str, src: str, dst: str) -> str:
    (line,) = [x for x in source.splitlines() if x.strip().startswith(f"{src} -> {dst}")]
    return line


def test_step_shows_the_signal_sensitivity_of_a_fused_layer():
    rng = np.random.default_rng(3)
    x = Tensor(rng.normal(size=(4, 3)), name="x")
    w = Tensor(rng.normal(size=(2, 3)), requires_grad=True, name="W")
    b = Tensor(rng.normal(size=2), requires_grad=True, name="b")
    h = ag.ops.LinearTanh.apply(x, w, b)
    loss = (h * h).sum()
    steps = ag.backward_steps(loss)
    k = [s.node is h for s in steps].index(True) + 1
    nodes, _ = parse(ag.draw_graph(loss, step=k, expand_fused=True, threshold=8).source)
    (sid,) = [n for n in nodes if kind(n) == "s"]
    # the same signal built from separate ops, its gradient kept: delta = dE/ds
    s = ag.ops.Linear.apply(x, w, b)
    s.retain_grad()
    (s.tanh() * s.tanh()).sum().backward()
    label = nodes[sid][0]
    start = [i for i, line in enumerate(label) if line.startswith("grad")][0]
    assert numbers(" ".join(label[start:])) == pytest.approx(s.grad.ravel().tolist(), rel=1e-3)
    before, _ = parse(ag.draw_graph(loss, step=k - 1, expand_fused=True).source)
    assert grad_line(before[sid][0]) == "grad ?"


def test_bad_steps_raise_naming_the_number_of_steps():
    *_, c = scalar_example()
    n = len(ag.backward_steps(c))
    for bad in (-1, n + 1, 1.5):
        with pytest.raises(ValueError, match=f"from 0 to {n}"):
            ag.draw_graph(c, step=bad)


def mlp_example():
    """A Tensor graph whose gradients print as matrices, with fused layers and modules."""
    import nn
    from nn import functional as F

    ag.manual_seed(0)
    model = nn.MLP([3, 4, 2])
    x = Tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), name="x")
    loss = F.mse_loss(model(x), np.ones((2, 2), dtype=np.float32))
    return loss, dict(params=dict(model.named_parameters()), expand_fused=True)


@needs_dot
@pytest.mark.parametrize("example", ["scalar", "mlp"])
def test_the_layout_is_the_same_at_every_step(example):
    if example == "scalar":
        c, options = scalar_example()[2], {}
    else:
        c, options = mlp_example()
    n = len(ag.backward_steps(c))

    def boxes(k):
        plain = ag.draw_graph(c, step=k, **options).pipe(format="plain").decode()
        return [line.split()[:6] for line in plain.splitlines() if line.startswith("node")]

    first = boxes(0)
    assert len(first) > 5
    for k in range(1, n + 1):
        assert boxes(k) == first
