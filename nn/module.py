"""Module, Parameter, Sequential: models as trees of layers holding parameters.

A Module finds its parameters by walking its attributes: Parameters, Modules,
and lists, tuples and dicts of them, in the order they were assigned. Names
are dotted paths (``layers.0.weight``), the same PyTorch gives the equivalent
model, so a ``state_dict`` moves between the two unchanged.
"""

from __future__ import annotations

import operator
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from autograd import Tensor
from autograd.compile import replayable, unreplayable
from autograd.side_tables import RemovableHandle


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
        unreplayable("module hooks (register_forward_hook / register_forward_pre_hook)")
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

    def _child_items(self) -> Iterator[tuple[str, "Module"]]:
        """(name, Module) for each direct submodule, repeats included (for printing)."""
        for name, member in self._named_members():
            if isinstance(member, Module):
                yield name, member

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        """(name, Module) for each direct submodule, each module once (as PyTorch)."""
        seen: set = set()
        for name, child in self._child_items():
            if id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator["Module"]:
        for _, m in self.named_children():
            yield m

    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, "Module"]]:
        """(dotted name, Module) for this module and every submodule, depth first, each
        once (as PyTorch; ``remove_duplicate=False`` lists a shared module under every
        name, though never around a cycle). ``memo``: modules to leave out (it is filled)."""
        if not remove_duplicate:
            return iter(list(self._all_modules(prefix, set())))
        memo = set() if memo is None else memo
        return iter(list(self._named_modules(prefix, memo)))

    def _named_modules(self, prefix: str, memo: set) -> Iterator[tuple[str, "Module"]]:
        if self in memo:  # a module reached twice (shared, or a reference back up)
            return
        memo.add(self)
        yield prefix, self
        for name, child in self._child_items():
            yield from child._named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def _all_modules(self, prefix: str, path: set) -> Iterator[tuple[str, "Module"]]:
        if id(self) in path:  # a reference back up the tree: stop there
            return
        path.add(id(self))
        yield prefix, self
        for name, child in self._child_items():
            yield from child._all_modules(f"{prefix}.{name}" if prefix else name, path)
        path.discard(id(self))

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter): module by module (depth first), each module's own
        parameters in assignment order, as PyTorch. A Parameter shared by two layers
        appears once (under every name with ``remove_duplicate=False``); ``recurse=False``
        gives this module's own parameters only."""
        if recurse:
            modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
        else:
            modules = iter([(prefix, self)])
        seen: set = set()
        out = []
        for pre, module in modules:
            for name, member in module._named_members():
                if isinstance(member, Parameter):
                    if remove_duplicate:
                        if id(member) in seen:
                            continue
                        seen.add(id(member))
                    out.append((f"{pre}.{name}" if pre else name, member))
        return iter(out)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    # ---- registering members by name (what PyTorch code calls) ---------------------
    def _check_new_name(self, what: str, name: Any, allowed: tuple) -> None:
        owner = f"{type(self).__name__}.{what}"
        if not isinstance(name, str):
            raise TypeError(f"{owner}: the name must be a string, got {type(name).__name__}.")
        if not name or "." in name:
            raise KeyError(f"{owner}: the name must be non-empty and contain no '.', "
                           f"got {name!r}.")
        existing = self.__dict__.get(name)
        if (name in self.__dict__ and not isinstance(existing, allowed)) or (
                name not in self.__dict__ and hasattr(type(self), name)):
            raise KeyError(f"{owner}: {name!r} is already an attribute of "
                           f"{type(self).__name__}; choose another name.")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Make ``param`` this module's parameter ``name`` (the same as assigning
        ``self.<name> = param``); None keeps an empty slot, as PyTorch."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"{type(self).__name__}.register_parameter({name!r}): expected an "
                f"nn.Parameter or None, got {type(param).__name__}; wrap it: "
                "nn.Parameter(values)."
            )
        self._check_new_name("register_parameter", name, (Parameter, type(None)))
        self.__dict__[name] = param

    def add_module(self, name: str, module: "Module | None") -> None:
        """Make ``module`` the submodule ``name`` (the same as ``self.<name> = module``)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(
                f"{type(self).__name__}.add_module({name!r}): expected a Module or None, "
                f"got {type(module).__name__}."
            )
        self._check_new_name("add_module", name, (Module, type(None)))
        self.__dict__[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> "Module":
        """The submodule at the dotted path ``target`` (as named by ``named_modules``;
        '' is this module)."""
        if target == "":
            return self
        module, parts = self, target.split(".")
        while parts:
            children = dict(module._child_items())
            # a child's name may itself be dotted (a list attribute: 'blocks.0')
            for k in range(len(parts), 0, -1):
                name = ".".join(parts[:k])
                if name in children:
                    module, parts = children[name], parts[k:]
                    break
            else:
                value = module.__dict__.get(parts[0])
                if value is not None and not isinstance(value, (list, tuple, dict)):
                    raise AttributeError(f"`{parts[0]}` is not an nn.Module")
                raise AttributeError(f"{type(module).__name__} has no attribute `{parts[0]}`"
                                     f" (looking up {target!r})")
        return module

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at the dotted path ``target`` (a name of ``named_parameters``)."""
        params = dict(self.named_parameters(remove_duplicate=False))
        if target not in params:
            raise AttributeError(
                f"{type(self).__name__} has no parameter `{target}`; its parameters are "
                f"{list(params)}."
            )
        return params[target]

    # ---- modes and gradients ---------------------------------------------------
    @replayable  # inside an ag.compile step it runs again at every replay
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient: ``.grad`` becomes None (PyTorch's default),
        or with ``set_to_none=False`` is filled with zeros in place (None stays None)."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            else:
                _zero_grad(p, set_to_none)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Set ``requires_grad`` of every parameter (False freezes the module). Returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

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

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, Tensor) for each buffer of this module and (``recurse``) its
        submodules, as PyTorch names them (``bn.running_mean``), non-persistent ones
        included; each buffer once (unless ``remove_duplicate=False``)."""
        if recurse:
            modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
        else:
            modules = iter([(prefix, self)])
        seen: set = set()
        for pre, module in modules:
            for name in module.__dict__.get("_buffer_names", ()):
                value = module.__dict__.get(name)
                if value is not None and not (remove_duplicate and id(value) in seen):
                    seen.add(id(value))
                    yield (f"{pre}.{name}" if pre else name), value

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def _named_state(self) -> list[tuple[str, Tensor]]:
        """What ``state_dict`` holds, in PyTorch's order: module by module (depth first),
        each module's own parameters, then its persistent buffers. As in PyTorch, a
        shared (tied) parameter or module is listed under every name it has."""
        out: list = []
        for pre, module in self.named_modules(remove_duplicate=False):
            for name, member in module._named_members():
                if isinstance(member, Parameter):
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
        """As PyTorch prints a module: ``extra_repr()`` and one line per child, indented."""
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + repr(child).replace("\n", "\n  ")
                       for name, child in self._child_items()]
        lines = extra_lines + child_lines
        body = ""
        if len(extra_lines) == 1 and not child_lines:
            body = extra_lines[0]
        elif lines:
            body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{type(self).__name__}({body})"


def _zero_grad(p: Tensor, set_to_none: bool) -> None:
    """zero_grad of one tensor (Module's and Optimizer's): None, or zeros in place."""
    if set_to_none or p.grad is None:
        p.grad = None
    elif p.grad.flags.writeable:
        p.grad.fill(0)
    else:  # a read-only gradient cannot be zeroed in place: give it zeros of its own
        p.grad = np.zeros_like(p.grad)


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


class _ModuleSequence(Module):
    """Modules kept in a list and named by position ('0', '1', ...): what Sequential and
    ModuleList share (indexing, slicing, append, extend, insert, del, len, iteration)."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        self._layers: list[Module] = []
        self.extend(modules)

    def _named_members(self) -> Iterator[tuple[str, Any]]:
        for i, m in enumerate(self._layers):
            yield str(i), m

    def _checked(self, module: Any, where: str) -> Module:
        if not isinstance(module, Module):
            raise TypeError(
                f"{type(self).__name__}.{where}: expected a Module, got "
                f"{type(module).__name__}."
            )
        return module

    def _from_list(self, modules: list[Module]) -> "_ModuleSequence":
        return type(self)(modules)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return self._from_list(self._layers[index])
        return self._layers[self._index(index)]

    def __setitem__(self, index: int, module: Module) -> None:
        self._layers[self._index(index)] = self._checked(module, "__setitem__")

    def __delitem__(self, index: int | slice) -> None:
        # the members after it move up, as in PyTorch: names stay 0, 1, ...
        del self._layers[index if isinstance(index, slice) else self._index(index)]

    def _index(self, index: Any) -> int:
        try:
            i = operator.index(index)
        except TypeError:
            raise TypeError(
                f"{type(self).__name__} indices must be integers or slices, got "
                f"{type(index).__name__}."
            ) from None
        if not -len(self._layers) <= i < len(self._layers):
            raise IndexError(
                f"{type(self).__name__}: index {i} is out of range for "
                f"{len(self._layers)} modules."
            )
        return i % len(self._layers)

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._layers)

    def append(self, module: Module) -> "_ModuleSequence":
        """Add ``module`` at the end (named by its position). Returns self."""
        self._layers.append(self._checked(module, "append"))
        return self

    def extend(self, modules: Iterable[Module]) -> "_ModuleSequence":
        """Append each of ``modules``. Returns self."""
        if isinstance(modules, Module) and not isinstance(modules, _ModuleSequence):
            raise TypeError(
                f"{type(self).__name__}.extend: expected an iterable of Modules, got a "
                f"{type(modules).__name__}; use append for one module."
            )
        for m in list(modules):
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Put ``module`` before position ``index`` (list.insert's rules)."""
        self._layers.insert(operator.index(index), self._checked(module, "insert"))

    def pop(self, index: int = -1) -> Module:
        """Remove and return the module at ``index``."""
        return self._layers.pop(self._index(index))

    def __iadd__(self, modules: Iterable[Module]) -> "_ModuleSequence":
        return self.extend(modules)

    def __add__(self, other: "_ModuleSequence") -> "_ModuleSequence":
        if not isinstance(other, _ModuleSequence):
            return NotImplemented
        return self._from_list(self._layers + list(other))


class Sequential(_ModuleSequence):
    """Modules applied one after another; parameters named '0.weight', '2.bias'... as PyTorch."""

    def __init__(self, *modules: Module) -> None:
        Module.__init__(self)
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(
                    f"Sequential: item {i} is a {type(m).__name__}, not a Module."
                )
        self._layers = list(modules)

    def _from_list(self, modules: list[Module]) -> "Sequential":
        return Sequential(*modules)

    def forward(self, x: Any) -> Any:
        for m in self._layers:
            x = m(x)
        return x
