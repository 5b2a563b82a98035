"""Module, Parameter, Sequential: models as trees of layers holding parameters.

A Module finds its parameters by walking its attributes: Parameters, Modules,
and lists, tuples and dicts of them, in the order they were assigned. Names
are dotted paths (``layers.0.weight``), the same PyTorch gives the equivalent
model, so a ``state_dict`` moves between the two unchanged.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np

from autograd import Tensor
from autograd.engine import RemovableHandle


class Parameter(Tensor):
    """A Tensor that a Module owns and an optimizer updates (requires_grad=True)."""

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True, dtype: Any = None,
                 name: str | None = None) -> None:
        super().__init__(data, requires_grad=requires_grad, dtype=dtype, name=name)

    def __repr__(self) -> str:
        return "Parameter(" + super().__repr__() + ")"


class Module:
    """Base class of every layer and model: subclass it and write ``forward``."""

    training: bool

    def __init__(self) -> None:
        self.training = True

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward().")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        hooks = self.__dict__.get("_forward_pre_hooks") or self.__dict__.get("_forward_hooks")
        if not hooks:  # the common case: no hook registered on this module
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

    def _call_with_hooks(self, args: tuple, kwargs: dict) -> Any:
        """forward between the pre-hooks and the hooks, in registration order (as PyTorch)."""
        for hook in list(self.__dict__.get("_forward_pre_hooks", {}).values()):
            new = hook(self, args)
            if new is not None:
                args = new if isinstance(new, tuple) else (new,)
        output = self.forward(*args, **kwargs)
        for hook in list(self.__dict__.get("_forward_hooks", {}).values()):
            new = hook(self, args, output)
            if new is not None:
                output = new
        return output

    def has_forward_hooks(self) -> bool:
        """True when a forward (pre-)hook is registered on this module itself."""
        return bool(self.__dict__.get("_forward_pre_hooks")
                    or self.__dict__.get("_forward_hooks"))

    def register_forward_pre_hook(self, fn: Callable) -> RemovableHandle:
        """Call ``fn(module, inputs)`` before every forward; it may return new inputs (a
        tuple, or one value) or None to keep them. Returns a handle with ``remove()``."""
        return RemovableHandle(self._hook_dict("_forward_pre_hooks", fn), fn)

    def register_forward_hook(self, fn: Callable) -> RemovableHandle:
        """Call ``fn(module, inputs, output)`` after every forward; it may return a new
        output or None to keep it. Returns a handle with ``remove()``."""
        return RemovableHandle(self._hook_dict("_forward_hooks", fn), fn)

    def _hook_dict(self, attr: str, fn: Any) -> dict:
        if not callable(fn):
            raise TypeError(
                f"{type(self).__name__}: a hook must be a function, got {type(fn).__name__}."
            )
        hooks = self.__dict__.get(attr)
        if hooks is None:
            hooks = self.__dict__[attr] = {}
        return hooks

    # ---- the attribute walk --------------------------------------------------
    def _named_members(self) -> Iterator[tuple[str, Any]]:
        """(name, Parameter or Module) for each direct member, in assignment order."""
        for key, value in vars(self).items():
            yield from _members(key, value)

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        for name, member in self._named_members():
            if isinstance(member, Module):
                yield name, member

    def children(self) -> Iterator["Module"]:
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        """(dotted name, Module) for this module and every submodule, each once (as PyTorch)."""
        return self._named_modules(prefix, set())

    def _named_modules(self, prefix: str, seen: set) -> Iterator[tuple[str, "Module"]]:
        if id(self) in seen:  # a module reached twice (shared, or a reference back up)
            return
        seen.add(id(self))
        yield prefix, self
        for name, child in self.named_children():
            yield from child._named_modules(f"{prefix}.{name}" if prefix else name, seen)

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) pairs; a Parameter shared by two layers appears once."""
        seen: set = set()
        seen_modules: set = set()
        stack = [(prefix, self)]
        out = []
        while stack:
            pre, module = stack.pop()
            if id(module) in seen_modules:  # shared, or a reference back up: walk it once
                continue
            seen_modules.add(id(module))
            children = []
            for name, member in module._named_members():
                full = f"{pre}.{name}" if pre else name
                if isinstance(member, Parameter):
                    if id(member) not in seen:
                        seen.add(id(member))
                        out.append((full, member))
                else:
                    children.append((full, member))
            # depth-first in assignment order: a module's own parameters, then its children
            stack.extend(reversed(children))
        return iter(out)

    def parameters(self) -> Iterator[Parameter]:
        for _, p in self.named_parameters():
            yield p

    # ---- modes and gradients ---------------------------------------------------
    def zero_grad(self) -> None:
        """Forget every parameter's gradient (sets .grad to None, as PyTorch does)."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True) -> "Module":
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> "Module":
        return self.train(False)

    # ---- state -------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """{name: copy of the parameter's values}: later training never changes it."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict, strict: bool = True) -> "Module":
        """Copy values into the parameters (never aliases ``state``'s arrays).

        With ``strict`` every parameter must be present and no other key may be; a
        wrong shape is an error either way.
        """
        params = dict(self.named_parameters())
        missing = [k for k in params if k not in state]
        unexpected = [k for k in state if k not in params]
        wrong = [
            f"{k}: expected {params[k].shape}, got {np.shape(_values(state[k]))}"
            for k in params if k in state and np.shape(_values(state[k])) != params[k].shape
        ]
        problems = []
        if strict and missing:
            problems.append(f"missing keys {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys {unexpected}")
        if wrong:
            problems.append("wrong shapes (" + "; ".join(wrong) + ")")
        if problems:
            raise ValueError(
                f"load_state_dict into {type(self).__name__}: " + ", ".join(problems)
                + ". Check that the state comes from the same architecture"
                + (", or pass strict=False to load the keys that match." if strict else ".")
            )
        # check every value before assigning any: a failed load leaves the module unchanged
        values = {k: np.asarray(_values(state[k])) for k in params if k in state}
        for k, value in values.items():
            if value.dtype.kind not in "fiub":
                raise TypeError(f"load_state_dict: {k} has dtype {value.dtype}; numbers expected.")
        for k, value in values.items():
            p = params[k]
            if p.data.flags.writeable:  # in place, as torch's copy_: p.data keeps its identity
                np.copyto(p.data, value, casting="unsafe")
            else:
                p.data = value.astype(p.data.dtype, copy=True)
        return self

    # ---- printing -------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not children:
            return head + ")"
        lines = [head]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join(lines) + "\n)"


def _values(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _members(key: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, (Parameter, Module)):
        yield key, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _members(f"{key}.{i}", item)
    elif isinstance(value, dict):
        for k, item in value.items():
            yield from _members(f"{key}.{k}", item)


class Sequential(Module):
    """Modules applied one after another; parameters named '0.weight', '2.bias'... as PyTorch."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(
                    f"Sequential: item {i} is a {type(m).__name__}, not a Module."
                )
        self._layers = list(modules)

    def _named_members(self) -> Iterator[tuple[str, Any]]:
        for i, m in enumerate(self._layers):
            yield str(i), m

    def __getitem__(self, i: int) -> Module:
        return self._layers[i]

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._layers)

    def forward(self, x: Any) -> Any:
        for m in self._layers:
            x = m(x)
        return x
