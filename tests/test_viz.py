"""draw_graph: the DOT source of known graphs, options, real rendering, and speed."""

from __future__ import annotations

import re
import shutil
import time

import graphviz  # a runtime dependency of the project: no skip if it is missing
import numpy as np
import pytest

import autograd as ag
from autograd import Scalar, Tensor

NODE = re.compile(r'^\t(\S+) \[label="((?:[^"\\]|\\.)*)"(.*)\]$')
EDGE = re.compile(r"^\t(\S+) -> (\S+)$")


def parse(source: str):
    """(nodes {id: (label lines, attrs)}, edges [(src, dst)] in file order)."""
    nodes, edges = {}, []
    for line in source.splitlines():
        m = NODE.match(line)
        if m:
            label = m.group(2).replace('\\"', '"').split("\\n")
            nodes[m.group(1)] = (label, m.group(3))
            continue
        m = EDGE.match(line)
        if m:
            edges.append((m.group(1), m.group(2)))
    return nodes, edges


def by_title(nodes):
    """{first label line: [ids]} for the value and op nodes."""
    out = {}
    for nid, (label, _) in nodes.items():
        out.setdefault(label[0], []).append(nid)
    return out


def kind(nid: str) -> str:
    return nid[0]  # 'v' value, 'o' op, 'c' constant


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
    assert nodes[va][0] == ["a", "(2,) float64", "data [1., 2.]", "grad [6., 8.]"]
    assert nodes[vb][0] == ["b", "(2,) float64", "data [3., 4.]", "grad [2., 4.]"]
    assert nodes[vc][0] == ["c", "(2,) float64", "data [3., 8.]"]  # no grad on intermediates
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


def test_large_values_show_shape_but_not_numbers():
    w = Tensor(np.arange(20.0).reshape(4, 5), requires_grad=True, name="w")
    y = (w * 2).sum()
    y.backward()
    nodes, _ = parse(ag.draw_graph(y).source)
    label = nodes[by_title(nodes)["w"][0]][0]
    assert label == ["w", "(4, 5) float64"]


def test_params_name_the_leaves_and_win_over_names():
    w = Tensor(np.ones((2, 2)), requires_grad=True, name="w_attr")
    b = Tensor(np.zeros(2), requires_grad=True)
    x = Tensor(np.ones((3, 2)))
    y = (x @ w + b).sum()
    nodes, _ = parse(ag.draw_graph(y, params={"layer.weight": w, "layer.bias": b}).source)
    titles = by_title(nodes)
    assert "layer.weight" in titles and "layer.bias" in titles
    assert "w_attr" not in titles
    # a value that is neither named nor a parameter is titled "leaf" or by its op
    assert "leaf" in titles and "MatMul" in titles and "Add" in titles and "Sum" in titles
    assert "white" in nodes[titles["leaf"][0]][1]  # x needs no grad: not a parameter colour


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
        return re.sub(r"\b([voc])(\d+)(_\d+)?\b",
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
        source = ag.draw_graph(y).source
        best = min(best, time.perf_counter() - start)
    nodes, edges = parse(source)
    assert len(nodes) == 5001 and len(edges) == 5000
    assert best < 1.0, f"draw_graph took {best:.2f} s for 5,001 nodes (contract: < 1 s)"


def test_constant_labels():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    w = Tensor(np.ones((4, 3)), requires_grad=True)
    y = ag.ops.Linear.apply(x, w, None) * np.ones((2, 4))
    nodes, _ = parse(ag.draw_graph(y).source)
    consts = sorted(nodes[n][0][0] for n in nodes if kind(n) == "c")
    assert consts == ["None", "const (2, 4) float64"]
