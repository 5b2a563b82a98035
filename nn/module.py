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

    # ---- buffers: state that is not a parameter (BatchNorm's running statistics) --------
    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """Keep ``tensor`` (an array or Tensor; None for an empty slot) as ``self.<name>``:
        saved in ``state_dict`` and loaded by ``load_state_dict`` under its dotted name
        (unless ``persistent=False``), cast by ``to(dtype)``, never a parameter and never
        given a gradient."""
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(
                f"{type(self).__name__}.register_buffer: the name must be a non-empty string "
                f"without dots, got {name!r}."
            )
        existing = self.__dict__.get(name)
        if name not in self.__dict__.get("_buffer_names", {}) and (
                isinstance(existing, (Parameter, Module)) or hasattr(type(self), name)):
            raise KeyError(
                f"{type(self).__name__}.register_buffer: {name!r} is already an attribute "
                "(a parameter, a submodule or a method); choose another name."
            )
        if tensor is not None:
            if isinstance(tensor, Parameter):
                raise TypeError(
                    f"{type(self).__name__}.register_buffer({name!r}): a Parameter is "
                    "trained, not a buffer; assign it as an attribute instead."
                )
            if not isinstance(tensor, Tensor):
                arr = np.asarray(tensor)
                if arr.dtype.kind not in "fiub":
                    raise TypeError(
                        f"{type(self).__name__}.register_buffer({name!r}): expected numbers, "
                        f"got dtype {arr.dtype}."
                    )
                tensor = Tensor._wrap(arr)
            elif tensor.requires_grad:
                tensor = tensor.detach()
        self.__dict__.setdefault("_buffer_names", {})[name] = bool(persistent)
        self.__dict__[name] = tensor

    def named_buffers(self, prefix: str = "", recurse: bool = True
                      ) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, Tensor) for each buffer of this module and (``recurse``) its
        submodules, as PyTorch names them (``bn.running_mean``); each buffer once."""
        modules = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        seen: set = set()
        for pre, module in modules:
            for name in module.__dict__.get("_buffer_names", ()):
                value = module.__dict__.get(name)
                if value is not None and id(value) not in seen:
                    seen.add(id(value))
                    yield (f"{pre}.{name}" if pre else name), value

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def _named_state(self) -> list[tuple[str, Tensor]]:
        """What ``state_dict`` holds, in PyTorch's order: module by module (depth first),
        each module's own parameters, then its persistent buffers."""
        out: list = []
        seen: set = set()
        for pre, module in self.named_modules():
            for name, member in module._named_members():
                if isinstance(member, Parameter) and id(member) not in seen:
                    seen.add(id(member))
                    out.append((f"{pre}.{name}" if pre else name, member))
            for name, persistent in module.__dict__.get("_buffer_names", {}).items():
                value = module.__dict__.get(name)
                if persistent and value is not None:
                    out.append((f"{pre}.{name}" if pre else name, value))
        return out

    # ---- dtype ------------------------------------------------------------------------
    def to(self, dtype: Any) -> "Module":
        """Cast every floating parameter (and its gradient) and floating buffer to
        ``dtype``, in place: the Parameter objects stay the same, so an optimizer made
        before still updates them. Integer buffers (``num_batches_tracked``) keep their
        dtype, as in PyTorch. ``to('cpu')`` changes nothing. Returns self."""
        if isinstance(dtype, str) and dtype == "cpu":
            return self
        try:
            dt = np.dtype(dtype)
        except TypeError:
            dt = None
        if dt is None or dt.kind != "f":
            raise TypeError(
                f"{type(self).__name__}.to: expected a floating dtype such as np.float32 or "
                f"np.float64, got {dtype!r}."
            )
        for t in list(self.parameters()) + list(self.buffers()):
            if t.data.dtype.kind == "f" and t.data.dtype != dt:
                t.data = t.data.astype(dt)
                if t.grad is not None:
                    t.grad = t.grad.astype(dt)
        return self

    def float(self) -> "Module":
        """``to(np.float32)``."""
        return self.to(np.float32)

    def double(self) -> "Module":
        """``to(np.float64)``."""
        return self.to(np.float64)

    def apply(self, fn: Callable[["Module"], Any]) -> "Module":
        """Call ``fn(module)`` on every submodule, children first, then on this one (as
        PyTorch: e.g. ``model.apply(init_weights)``). Returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---- state -------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """{name: copy of the values} of every parameter and persistent buffer (PyTorch's
        names and order): later training never changes it."""
        return {name: t.data.copy() for name, t in self._named_state()}

    def load_state_dict(self, state: dict, strict: bool = True) -> "Module":
        """Copy values into the parameters and buffers (never aliases ``state``'s arrays).

        With ``strict`` every parameter and persistent buffer must be present and no
        other key may be; a wrong shape is an error either way.
        """
        params = dict(self._named_state())
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
