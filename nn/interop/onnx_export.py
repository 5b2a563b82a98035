"""``nn.export_onnx``: a model as an ONNX file, built node by node from our module tree.

The exporter walks the module tree with an example input, in eval mode: each layer
type has one entry in ``EMITTERS`` that writes its ONNX nodes (weights become
initializers) and runs the layer on the example to learn the shapes that follow.
Nothing goes through PyTorch. The ``onnx`` package is optional and imported when an
export runs.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import numpy as np

import autograd as ag
from autograd import Tensor

from ..activations import ACTIVATIONS
from ..module import Module, Sequential
from ..serialization import _atomic_write

__all__ = ["export_onnx", "EMITTERS"]

INSTALL_HINT = ('pip install onnx (to run the file: pip install onnxruntime; or, from a clone '
                'of the repository, python -m pip install -e ".[interop]")')
MIN_OPSET = 17  # LayerNormalization is an ONNX op from opset 17 on


def _require_onnx() -> ModuleType:
    try:
        import onnx
    except ImportError as exc:
        raise ImportError(
            f"nn.export_onnx needs the onnx package, which is not installed: {INSTALL_HINT}."
        ) from exc
    return onnx


@dataclass
class Value:
    """A tensor of the graph being built: its ONNX name, and its value on the example."""

    name: str
    example: np.ndarray


class Graph:
    """The nodes and initializers written so far, with names that never collide."""

    def __init__(self, onnx: ModuleType) -> None:
        self.onnx = onnx
        self.nodes: list = []
        self.initializers: list = []
        self._used: set[str] = set()

    def fresh(self, hint: str) -> str:
        base = hint.replace(".", "_") or "t"
        name, k = base, 1
        while name in self._used:
            name, k = f"{base}_{k}", k + 1
        self._used.add(name)
        return name

    def rename(self, v: Value, name: str) -> Value:
        """The same value under ``name`` (the graph's output gets a readable name)."""
        if v.name == name:
            return v
        if name in self._used:
            raise ValueError(f"nn.export_onnx: the name {name!r} is taken.")
        for node in self.nodes:
            node.output[:] = [name if o == v.name else o for o in node.output]
            node.input[:] = [name if i == v.name else i for i in node.input]
        self._used.add(name)
        return Value(name, v.example)

    def constant(self, array: Any, hint: str) -> str:
        """An initializer holding a copy of ``array``; returns its name."""
        name = self.fresh(hint)
        self.initializers.append(
            self.onnx.numpy_helper.from_array(np.array(array, copy=True), name))
        return name

    def node(self, op: str, inputs: list[str], hint: str, **attributes: Any) -> str:
        """One node with one output; returns the output's name."""
        out = self.fresh(hint)
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [out], name=self.fresh(
            f"{hint}_{op}"), **attributes))
        return out


# An emitter writes one module's nodes: emit(module, graph, x, path) -> the output Value.
Emitter = Callable[[Any, Graph, Value, str], Value]


def _run(module: Module, x: Value) -> np.ndarray:
    """The layer's output on the example (eval mode, no graph recorded)."""
    with ag.no_grad():
        out = module(Tensor(x.example))
    return np.asarray(out.data)


def _data(t: Any) -> np.ndarray:
    return np.asarray(getattr(t, "data", t))


def _pair(v: Any) -> list[int]:
    return [int(v), int(v)] if np.ndim(v) == 0 else [int(a) for a in v]


# ---------------------------------------------------------------------------- emitters


def _unary(op: str, **attributes: Any) -> Emitter:
    """An elementwise layer that is one ONNX op."""

    def emit(m: Any, g: Graph, x: Value, path: str) -> Value:
        return Value(g.node(op, [x.name], path, **attributes), _run(m, x))

    return emit


def _with(op: str, **from_module: Callable[[Any], Any]) -> Emitter:
    """A layer that is one ONNX op whose attributes are read from the module."""

    def emit(m: Any, g: Graph, x: Value, path: str) -> Value:
        attributes = {k: read(m) for k, read in from_module.items()}
        return Value(g.node(op, [x.name], path, **attributes), _run(m, x))

    return emit


def _pass_through(m: Any, g: Graph, x: Value, path: str) -> Value:
    """Identity, and Dropout in eval mode: no node at all."""
    return x


def _affine(g: Graph, x: Value, weight: np.ndarray, bias: np.ndarray | None,
            path: str) -> str:
    """x @ weight.T + bias: one Gemm for a batch of vectors, MatMul (+ Add) otherwise."""
    if x.example.ndim == 2:
        inputs = [x.name, g.constant(weight, f"{path}.weight")]
        if bias is not None:
            inputs.append(g.constant(bias, f"{path}.bias"))
        return g.node("Gemm", inputs, path, transB=1)
    y = g.node("MatMul", [x.name, g.constant(weight.T, f"{path}.weight_t")], path)
    return y if bias is None else g.node("Add", [y, g.constant(bias, f"{path}.bias")], path)


def _linear(m: Any, g: Graph, x: Value, path: str) -> Value:
    bias = _data(m.bias) if m.bias is not None else None
    return Value(_affine(g, x, _data(m.weight), bias, path), _run(m, x))


_MLP_ACTIVATIONS = {"tanh": "Tanh", "relu": "Relu", "sigmoid": "Sigmoid", "identity": None}


def _mlp(m: Any, g: Graph, x: Value, path: str) -> Value:
    """One affine node per layer, then its activation (each layer's input rank decides
    between Gemm and MatMul)."""
    last = len(m.layers) - 1
    for i, layer in enumerate(m.layers):
        where = f"{path}.layers.{i}" if path else f"layers.{i}"
        x = _linear(layer, g, x, where)
        activation = m.activation if i < last else m.output_activation
        op = _MLP_ACTIVATIONS[activation] if activation is not None else None
        if op is not None:
            with ag.no_grad():
                value = ACTIVATIONS[activation](Tensor(x.example)).data
            x = Value(g.node(op, [x.name], where), value)
    return x


def _sequential(m: Sequential, g: Graph, x: Value, path: str) -> Value:
    for i, child in enumerate(m):
        x = emit_module(child, g, x, f"{path}.{i}" if path else str(i))
    return x


def _flatten(m: Any, g: Graph, x: Value, path: str) -> Value:
    out = _run(m, x)
    rank = x.example.ndim
    start, end = m.start_dim % rank, m.end_dim % rank
    if start == 1 and end == rank - 1:  # the usual case: keep the batch dim, flatten the rest
        return Value(g.node("Flatten", [x.name], path, axis=1), out)
    # leading dims copied (0, the batch dim stays dynamic), the flattened run inferred (-1),
    # trailing dims spelled out
    shape = [0] * start + [-1] + list(x.example.shape[end + 1:])
    if start == 0:
        shape = [-1] + list(x.example.shape[end + 1:])
    target = g.constant(np.array(shape, dtype=np.int64), f"{path}.shape")
    return Value(g.node("Reshape", [x.name, target], path), out)


def _conv2d(m: Any, g: Graph, x: Value, path: str) -> Value:
    kh, kw = _data(m.weight).shape[2:]
    dilation = _pair(m.dilation)
    if isinstance(m.padding, str):  # 'valid', or 'same' (stride 1): torch pads the right more
        if m.padding == "valid":
            pads = [0, 0, 0, 0]
        else:
            total = [dilation[0] * (kh - 1), dilation[1] * (kw - 1)]
            pads = [total[0] // 2, total[1] // 2, total[0] - total[0] // 2,
                    total[1] - total[1] // 2]
    else:
        ph, pw = _pair(m.padding)
        pads = [ph, pw, ph, pw]
    inputs = [x.name, g.constant(_data(m.weight), f"{path}.weight")]
    if m.bias is not None:
        inputs.append(g.constant(_data(m.bias), f"{path}.bias"))
    name = g.node("Conv", inputs, path, kernel_shape=[int(kh), int(kw)], strides=_pair(m.stride),
                  pads=pads, dilations=dilation, group=int(m.groups))
    return Value(name, _run(m, x))


def _pool(op: str, **extra: int) -> Emitter:
    def emit(m: Any, g: Graph, x: Value, path: str) -> Value:
        kernel = _pair(m.kernel_size)
        stride = kernel if m.stride is None else _pair(m.stride)
        ph, pw = _pair(m.padding)
        name = g.node(op, [x.name], path, kernel_shape=kernel, strides=stride,
                      pads=[ph, pw, ph, pw], **extra)
        return Value(name, _run(m, x))

    return emit


def _batch_norm(m: Any, g: Graph, x: Value, path: str) -> Value:
    if getattr(m, "running_mean", None) is None:
        raise ValueError(
            f"nn.export_onnx: {type(m).__name__} at {_where(path)} has no running statistics "
            "(track_running_stats=False), so in eval mode it normalises with each batch's own "
            "statistics, which an ONNX BatchNormalization does not do; export a model whose "
            "batch norm tracks running statistics.")
    mean, var = _data(m.running_mean), _data(m.running_var)
    c = mean.shape[0]
    weight = _data(m.weight) if getattr(m, "weight", None) is not None else np.ones(c, mean.dtype)
    bias = _data(m.bias) if getattr(m, "bias", None) is not None else np.zeros(c, mean.dtype)
    inputs = [x.name] + [g.constant(a, f"{path}.{n}") for a, n in
                         ((weight, "weight"), (bias, "bias"), (mean, "running_mean"),
                          (var, "running_var"))]
    name = g.node("BatchNormalization", inputs, path, epsilon=float(m.eps))
    return Value(name, _run(m, x))


def _layer_norm(m: Any, g: Graph, x: Value, path: str) -> Value:
    shape = tuple(np.atleast_1d(m.normalized_shape))
    dtype = x.example.dtype
    weight = _data(m.weight) if getattr(m, "weight", None) is not None else np.ones(shape, dtype)
    inputs = [x.name, g.constant(weight, f"{path}.weight")]
    if getattr(m, "bias", None) is not None:
        inputs.append(g.constant(_data(m.bias), f"{path}.bias"))
    name = g.node("LayerNormalization", inputs, path, axis=-len(shape), epsilon=float(m.eps))
    return Value(name, _run(m, x))


def _embedding(m: Any, g: Graph, x: Value, path: str) -> Value:
    weight = g.constant(_data(m.weight), f"{path}.weight")
    return Value(g.node("Gather", [weight, x.name], path, axis=0), _run(m, x))


def _gelu(m: Any, g: Graph, x: Value, path: str) -> Value:
    """0.5 x (1 + erf(x / sqrt 2)), or the tanh approximation when the layer uses it
    (ONNX has a Gelu op only from opset 20)."""
    dtype = x.example.dtype

    def const(v: float, hint: str) -> str:
        return g.constant(np.array(v, dtype=dtype), f"{path}.{hint}")

    if getattr(m, "approximate", "none") == "tanh":  # sqrt(2/pi) (x + 0.044715 x^3) inside
        cube = g.node("Mul", [g.node("Mul", [x.name, x.name], path), x.name], path)
        inner = g.node("Add", [x.name, g.node("Mul", [cube, const(0.044715, "c")], path)], path)
        inner = g.node("Mul", [inner, const(math.sqrt(2.0 / math.pi), "k")], path)
        core = g.node("Tanh", [inner], path)
    else:
        core = g.node("Erf", [g.node("Div", [x.name, const(math.sqrt(2.0), "sqrt2")], path)],
                      path)
    one_plus = g.node("Add", [core, const(1.0, "one")], path)
    half_x = g.node("Mul", [x.name, const(0.5, "half")], path)
    return Value(g.node("Mul", [half_x, one_plus], path), _run(m, x))


# The table: our class name -> the emitter of its ONNX nodes. Adding a layer is one entry.
EMITTERS: dict[str, Emitter] = {
    "Sequential": _sequential,
    "MLP": _mlp,
    "Linear": _linear,
    "Tanh": _unary("Tanh"),
    "ReLU": _unary("Relu"),
    "Sigmoid": _unary("Sigmoid"),
    "Identity": _pass_through,
    "Dropout": _pass_through,
    "Flatten": _flatten,
    "Conv2d": _conv2d,
    "MaxPool2d": _pool("MaxPool"),
    "AvgPool2d": _pool("AveragePool", count_include_pad=1),
    "BatchNorm1d": _batch_norm,
    "BatchNorm2d": _batch_norm,
    "LayerNorm": _layer_norm,
    "Embedding": _embedding,
    "LeakyReLU": _with("LeakyRelu", alpha=lambda m: float(m.negative_slope)),
    "GELU": _gelu,
    "Softmax": _with("Softmax", axis=lambda m: int(m.dim)),
    "LogSoftmax": _with("LogSoftmax", axis=lambda m: int(m.dim)),
}


def _where(path: str) -> str:
    return f"`{path}`" if path else "the model"


def _emitter(module: Any) -> Emitter | None:
    """The entry of the module's exact class, when that class is nn's own."""
    import nn  # here, not at the top: the package imports this module while it loads

    cls = type(module)
    emitter = EMITTERS.get(cls.__name__)
    return emitter if emitter is not None and getattr(nn, cls.__name__, None) is cls else None


def emit_module(module: Any, g: Graph, x: Value, path: str) -> Value:
    """The nodes of ``module`` applied to ``x``; raises for a module with no entry."""
    emitter = _emitter(module)
    if emitter is None:
        kind = type(module).__name__
        raise TypeError(
            f"nn.export_onnx: cannot export {_where(path)} ({kind}): it is a custom Module "
            "whose forward is Python code, and only nn's own layers have an ONNX translation "
            f"({', '.join(sorted(EMITTERS))}). Build the model from those layers, or export "
            "the parts that are (nn.export_onnx on each).")
    return emitter(module, g, x, path)


# ---------------------------------------------------------------------------- export_onnx


def export_onnx(model: Module, example_input: Any, path: str | os.PathLike,
                opset: int = 17) -> Path:
    """Write ``model`` as an ONNX file that onnxruntime runs with the same outputs.

    The graph is built from our module tree, one translation per layer type (Sequential,
    MLP, Linear, the activations, Dropout, Flatten, Conv2d, pooling, batch and layer norm,
    Embedding, Softmax...), with eval-mode semantics whatever mode the model is in:
    dropout is the identity and batch norm uses its running statistics. ``example_input``
    (an array or Tensor, batch first) fixes the input's dtype and every dim but the
    first: the batch dim is dynamic ("batch"). Raw float data takes the parameters'
    dtype, as our layers do. A float64 model gives a float64 graph, which onnxruntime's CPU
    kernels for Conv, AveragePool and Erf (GELU) do not cover: export ``model.float()`` for
    those. A custom Module raises, naming it. The file is written atomically (a temporary
    file, then a rename); returns its path.
    """
    onnx = _require_onnx()
    if not isinstance(model, Module):
        raise TypeError(f"nn.export_onnx: expected an nn.Module, got {type(model).__name__}.")
    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= int(opset) <= newest:
        raise ValueError(f"nn.export_onnx: opset must be between {MIN_OPSET} and {newest} "
                         f"(the onnx package's newest), got {opset}.")
    example = _example_array(model, example_input)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        g = Graph(onnx)
        x = Value(g.fresh("input"), example)
        out = emit_module(model, g, x, "")
    finally:
        for m, training in modes:
            m.training = training
    if out.name == x.name:  # a model that computes nothing in eval mode: one Identity node
        out = Value(g.node("Identity", [x.name], "output"), out.example)
    out = g.rename(out, "output")
    proto = _model_proto(onnx, g, x, out, int(opset))
    target = Path(path)
    _atomic_write(os.fspath(target), lambda f: f.write(proto.SerializeToString()))
    return target


def _example_array(model: Module, example_input: Any) -> np.ndarray:
    example = np.asarray(_data(example_input))
    if example.ndim < 1 or example.dtype.kind not in "fiub":
        raise ValueError(
            f"nn.export_onnx: example_input must be a numeric array with a batch dim first, got "
            f"shape {example.shape} and dtype {example.dtype}.")
    params = list(model.parameters())
    if not isinstance(example_input, Tensor) and example.dtype.kind == "f" and params:
        example = example.astype(params[0].dtype)  # raw data takes the parameters' dtype
    return example


def _model_proto(onnx: ModuleType, g: Graph, x: Value, out: Value, opset: int) -> Any:
    helper = onnx.helper

    def info(v: Value, shape: list | None) -> Any:
        elem = helper.np_dtype_to_tensor_dtype(v.example.dtype)
        return helper.make_tensor_value_info(v.name, elem, shape)

    graph = helper.make_graph(
        g.nodes, "lecturegrad", [info(x, ["batch", *x.example.shape[1:]])], [info(out, None)],
        initializer=g.initializers)
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="lecturegrad",
                              ir_version=helper.find_min_ir_version_for(opsets))
    # the output's shape, as ONNX's shape inference derives it (the batch dim symbolic)
    inferred = onnx.shape_inference.infer_shapes(proto, strict_mode=True)
    proto.graph.output[0].CopyFrom(inferred.graph.output[0])
    onnx.checker.check_model(proto, full_check=True)
    return proto
