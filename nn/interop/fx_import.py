"""``nn.from_torch`` for torch modules with custom forwards: torch.fx's graph, run on our ops.

``torch.fx.symbolic_trace`` turns the torch module's forward into a graph of nodes:
``call_module`` (a torch layer: converted by the module-tree table into our layer at the
same path), ``get_attr`` (a parameter or buffer: copied at the same name),
``call_function`` / ``call_method`` (torch.relu, operator.add, x.transpose(...): mapped to
the engine's function or Tensor method of the same meaning). ``FxModule`` holds the
converted layers and parameters and its forward replays the graph node by node. Each
function is resolved when converting, so a function with no counterpart is refused then,
by name, never in the middle of a forward.
"""

from __future__ import annotations

import operator
from typing import Any, Callable

import autograd as ag

from .. import functional as F
from ..module import Module, Parameter

__all__ = ["FxModule", "from_fx"]

# torch functions whose name differs from ours, or that are Python operators in disguise
_RENAMED = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
            "div": operator.truediv, "true_divide": operator.truediv, "neg": operator.neg,
            "bmm": ag.matmul, "mm": ag.matmul, "concat": ag.cat, "concatenate": ag.cat,
            "linalg_vector_norm": lambda x, ord=2, dim=None, keepdim=False, dtype=None:  # noqa: A006
            ag.norm(x, p=ord, dim=dim, keepdim=keepdim)}


def _softmax(name: str) -> Callable:
    def apply(x: Any, dim: int | None = None, dtype: Any = None) -> Any:
        y = getattr(x, name)(axis=-1 if dim is None else dim)
        return y if dtype is None else y.astype(dtype)

    return apply


# torch.nn.functional functions whose arguments differ from nn.functional's
_FUNCTIONAL = {"softmax": _softmax("softmax"), "log_softmax": _softmax("log_softmax")}
_DROPPED = ("device", "_stacklevel", "inplace", "layout", "pin_memory")


def _function(fn: Any) -> Callable | None:
    """Our counterpart of a torch (or operator, or builtin) function, or None."""
    module = getattr(fn, "__module__", "") or ""
    name = getattr(fn, "__name__", "")
    if module in ("_operator", "operator") or fn in (getattr, len):
        return fn
    if module.startswith("torch.nn.functional") or module == "torch._C._nn" or \
            getattr(__import__("torch").nn.functional, name, None) is fn:
        ours = _FUNCTIONAL.get(name, getattr(F, name, None))
        if ours is not None:
            return ours
    if name in _RENAMED:
        return _RENAMED[name]
    return getattr(ag, name, None)


def _dtype(value: Any) -> Any:
    """A torch dtype argument as numpy's; other values unchanged."""
    import torch

    if isinstance(value, torch.dtype):
        return torch.empty(0, dtype=value).numpy().dtype
    return value


class FxModule(Module):
    """A converted torch module with a custom forward: our layers and parameters at the torch
    module's names, and the torch.fx graph of its forward replayed on them."""

    def __init__(self, steps: list, output: Any, class_name: str) -> None:
        super().__init__()
        self._steps = steps
        self._output = output
        self._class_name = class_name

    def forward(self, *args: Any) -> Any:
        env: dict = {}
        inputs = iter(args)

        def load(a: Any) -> Any:
            if isinstance(a, _Ref):
                return env[a.name]
            if isinstance(a, (tuple, list)):
                return type(a)(load(x) for x in a)
            if isinstance(a, dict):
                return {k: load(v) for k, v in a.items()}
            if isinstance(a, slice):
                return slice(load(a.start), load(a.stop), load(a.step))
            return a

        for name, kind, target, fargs, fkwargs in self._steps:
            if kind == "placeholder":
                env[name] = next(inputs, fargs[0] if fargs else None)
            elif kind == "get_attr":
                env[name] = self.get_parameter_or_buffer(target)
            elif kind == "call_module":
                env[name] = self.get_submodule(target)(*load(fargs), **load(fkwargs))
            elif kind == "call_method":
                this, *rest = load(fargs)
                env[name] = getattr(this, target)(*rest, **load(fkwargs))
            else:
                env[name] = target(*load(fargs), **load(fkwargs))
        return load(self._output)

    def get_parameter_or_buffer(self, target: str) -> Any:
        owner: Any = self
        for part in target.split("."):
            owner = getattr(owner, part)
        return owner

    def get_submodule(self, target: str) -> Any:
        owner: Any = self
        for part in target.split("."):
            owner = getattr(owner, part)
        return owner

    def extra_repr(self) -> str:
        return f"from torch {self._class_name} (torch.fx graph of {len(self._steps)} nodes)"


class _Ref:
    """A reference to an earlier node's value."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"%{self.name}"


def from_fx(torch_module: Any, convert: Callable[[Any, str], Any]) -> FxModule:
    """``torch_module`` as an ``FxModule``; ``convert(layer, path)`` converts one torch layer
    by the table."""
    import torch.fx as fx

    kind = type(torch_module).__name__
    try:  # a GraphModule (what nn.to_torch makes of a custom forward) has its graph
        gm = torch_module if isinstance(torch_module, fx.GraphModule) else \
            fx.symbolic_trace(torch_module)
    except Exception as exc:
        raise TypeError(
            f"nn.from_torch: {kind} has no counterpart in nn and torch.fx cannot trace its "
            f"forward ({type(exc).__name__}: {exc}); convert its children instead "
            "(nn.from_torch on each).") from exc

    def ref(a: Any) -> Any:
        return fx.node.map_arg(a, lambda n: _Ref(n.name))

    def arg(a: Any) -> Any:
        a = ref(a)
        if isinstance(a, (tuple, list)):
            return type(a)(arg(x) for x in a)
        if isinstance(a, dict):
            return {k: arg(v) for k, v in a.items() if k not in _DROPPED}
        return _dtype(a)

    steps: list = []
    output: Any = None
    modules: dict = {}
    for node in gm.graph.nodes:
        args, kwargs = arg(tuple(node.args)), arg(dict(node.kwargs))
        if node.op == "placeholder":
            steps.append((node.name, "placeholder", node.target, args, {}))
        elif node.op == "output":
            output = arg(node.args[0])
        elif node.op == "get_attr":
            steps.append((node.name, "get_attr", node.target, (), {}))
        elif node.op == "call_module":
            if node.target not in modules:
                modules[node.target] = convert(gm.get_submodule(node.target), node.target)
            steps.append((node.name, "call_module", node.target, args, kwargs))
        elif node.op == "call_method":
            if not hasattr(ag.Tensor, node.target):
                raise TypeError(
                    f"nn.from_torch: {kind}'s forward calls the tensor method "
                    f".{node.target}(), which nn's Tensor does not have; rewrite that line.")
            steps.append((node.name, "call_method", node.target, args, kwargs))
        else:
            ours = _function(node.target)
            if ours is None:
                name = getattr(node.target, "__qualname__", repr(node.target))
                raise TypeError(
                    f"nn.from_torch: {kind}'s forward calls {name}, which has no counterpart "
                    "in autograd or nn.functional; rewrite that line or convert the parts "
                    "around it.")
            steps.append((node.name, "call_function", ours, args, kwargs))
    ours = FxModule(steps, output, kind)
    for path, module in modules.items():
        _place(ours, path, module)
    for name, p in torch_module.named_parameters():  # unused ones too: the same state_dict
        if not _has(ours, name):
            value = Parameter(p.detach().cpu().numpy().copy())
            value.requires_grad = p.requires_grad
            _place(ours, name, value)
    persistent = set(torch_module.state_dict())
    for name, b in torch_module.named_buffers():
        if not _has(ours, name):
            owner, leaf = _owner(ours, name)
            owner.register_buffer(leaf, b.detach().cpu().numpy().copy(),
                                  persistent=name in persistent)
    _tie(ours, torch_module)
    ours.training = torch_module.training
    return ours


def _owner(root: Module, name: str) -> tuple:
    owner: Any = root
    *parents, leaf = name.split(".")
    for part in parents:
        if not hasattr(owner, part):
            setattr(owner, part, Module())
        owner = getattr(owner, part)
    return owner, leaf


def _place(root: Module, name: str, value: Any) -> None:
    owner, leaf = _owner(root, name)
    if not hasattr(owner, leaf):
        setattr(owner, leaf, value)


def _has(root: Module, name: str) -> bool:
    owner: Any = root
    for part in name.split("."):
        if not hasattr(owner, part):
            return False
        owner = getattr(owner, part)
    return True


def _tie(ours: Module, torch_module: Any) -> None:
    """Parameters shared in torch (a tied embedding) are one Parameter here too."""
    first: dict = {}
    for name, p in torch_module.named_parameters(remove_duplicate=False):
        if id(p) in first:
            owner, leaf = _owner(ours, name)
            setattr(owner, leaf, _lookup(ours, first[id(p)]))
        else:
            first[id(p)] = name


def _lookup(root: Module, name: str) -> Any:
    owner: Any = root
    for part in name.split("."):
        owner = getattr(owner, part)
    return owner

