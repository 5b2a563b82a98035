"""The Optimizer base class: parameter groups, per-parameter state, and state_dict.

An optimizer holds ``param_groups``, a list of dicts, as PyTorch does: each has
``'params'`` (a list of Parameters) and that group's hyperparameters (``'lr'``,
``'momentum'``, ...), so layers can train with different settings. ``state``
maps a Parameter to a dict of what its update rule carries between steps
(momentum buffers, moment estimates, step counts).

``state_dict()`` turns both into plain numbers, tuples, lists and ndarrays with
parameters named by their position (0, 1, ... across the groups in order), and
``load_state_dict`` puts them back, so training resumed from a saved optimizer
continues exactly as if it had never stopped.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from autograd import Tensor
from autograd.compile import replayable

from ..module import _zero_grad

__all__ = ["Optimizer"]


# ---- argument checks shared by the optimizers -------------------------------------------

def _number(value: Any, name: str, owner: str) -> float:
    """``value`` as a Python float (so it never upcasts float32 arrays), or a clear error."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner}: {name} must be a number, got {type(value).__name__}.")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{owner}: {name} must be finite, got {value}.")
    return value


def _non_negative(value: Any, name: str, owner: str) -> float:
    value = _number(value, name, owner)
    if value < 0.0:
        raise ValueError(f"{owner}: {name} must be >= 0, got {value}.")
    return value


def _fraction(value: Any, name: str, owner: str) -> float:
    """A coefficient in [0, 1), such as Adam's betas or RMSprop's alpha."""
    value = _number(value, name, owner)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{owner}: {name} must be in [0, 1), got {value}.")
    return value


def _flag(value: Any, name: str, owner: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {name} must be True or False, got {value!r}.")
    return bool(value)


# ---- update-rule arithmetic shared by the optimizers ----------------------------------

def _decayed(g: np.ndarray, w: np.ndarray, wd: float) -> np.ndarray:
    """g + wd * w (L2 weight decay) in a fresh array: p.grad is never modified."""
    d = w * wd
    d += g
    return d


def _lerp_(start: np.ndarray, end: np.ndarray, weight: float, tmp: np.ndarray) -> None:
    """start += weight * (end - start) in place, rounded as ``torch.lerp`` rounds.

    PyTorch uses ``start + weight * (end - start)`` for weight < 0.5 and
    ``end - (end - start) * (1 - weight)`` otherwise (exact at both ends).
    ``tmp`` is scratch space of start's shape and dtype.
    """
    np.subtract(end, start, out=tmp)
    if abs(weight) < 0.5:
        tmp *= weight
        start += tmp
    else:
        tmp *= 1.0 - weight
        np.subtract(end, tmp, out=start)


# ---- the base class -------------------------------------------------------------------

class Optimizer:
    """Base class: ``param_groups``, ``state``, ``zero_grad``, ``state_dict``.

    A subclass passes its ``defaults`` (every hyperparameter with its value),
    checks a group's hyperparameters in ``_check_group`` and writes ``step``.
    ``_state_keys`` names what its ``state[p]`` dicts may hold.
    """

    _state_keys: frozenset = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Make every ``step`` and ``zero_grad`` a side effect ``ag.compile`` replays (it
        calls them again at every replay, so lr and state changes made between calls
        are seen)."""
        super().__init_subclass__(**kwargs)
        for name in ("step", "zero_grad"):
            if name in cls.__dict__:
                setattr(cls, name, replayable(cls.__dict__[name], owner=cls, name=name))

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        owner = type(self).__name__
        if isinstance(params, (Tensor, dict)) or not isinstance(params, Iterable):
            raise TypeError(
                f"{owner}: params must be an iterable of Tensors, such as "
                f"model.parameters(), or of dicts (parameter groups), got "
                f"{type(params).__name__}."
            )
        params = list(params)
        if not params:
            raise ValueError(
                f"{owner}: got an empty parameter list; pass model.parameters() of a model "
                "that has parameters (a generator can be used only once)."
            )
        self.defaults: dict[str, Any] = self._check_group(dict(defaults))
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Tensor, dict[str, Any]] = {}
        if all(isinstance(g, dict) for g in params):
            for k, group in enumerate(params):
                self._add_group(group, f"param_groups[{k}]['params']")
        elif any(isinstance(g, dict) for g in params):
            raise TypeError(
                f"{owner}: params mixes Tensors and dicts; pass either Tensors or parameter "
                "groups such as [{'params': [...]}, {'params': [...], 'lr': 0.01}]."
            )
        else:
            self._add_group({"params": params}, "params")

    # ---- parameter groups ------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Append a group (a dict with ``'params'`` and any hyperparameters to override)."""
        self._add_group(param_group, f"param_groups[{len(self.param_groups)}]['params']")

    def _add_group(self, group: Any, where: str) -> None:
        owner = type(self).__name__
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(
                f"{owner}: a parameter group must be a dict with a 'params' entry, got "
                f"{type(group).__name__}."
            )
        params = group["params"]
        if isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{owner}: {where} is a set, whose order changes between runs; "
                "pass a list so that state_dict() numbers parameters reproducibly."
            )
        params = [params] if isinstance(params, Tensor) else list(params)
        if not params:
            raise ValueError(f"{owner}: {where} is empty; a parameter group needs parameters.")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{owner}: {where}[{i}] is a {type(p).__name__}, not a Tensor/Parameter."
                )
            if p.data.dtype.kind != "f":
                raise TypeError(
                    f"{owner}: {where}[{i}] has dtype {p.data.dtype}; only floating "
                    "tensors can be optimized."
                )
            if id(p) in seen:
                raise ValueError(
                    f"{owner}: {where}[{i}] appears twice in the parameter list (or in two "
                    "groups); it would be updated twice per step."
                )
            seen.add(id(p))
        full = {**self.defaults, **{k: v for k, v in group.items() if k != "params"}}
        full = self._check_group(full)
        self.param_groups.append({"params": params, **full})

    def _check_group(self, group: dict[str, Any]) -> dict[str, Any]:
        """Check and normalise one group's hyperparameters (the subclass's rules)."""
        group["lr"] = _non_negative(group["lr"], "lr", type(self).__name__)
        return group

    @property
    def params(self) -> list[Tensor]:
        """Every parameter of every group, in order (their position is their state_dict index)."""
        return [p for g in self.param_groups for p in g["params"]]

    @property
    def lr(self) -> float:
        """The learning rate shared by all groups; setting it sets it in every group."""
        lrs = [g["lr"] for g in self.param_groups]
        if any(lr != lrs[0] for lr in lrs):
            raise ValueError(
                f"{type(self).__name__}.lr: the parameter groups have different learning "
                f"rates {lrs}; read or set param_groups[k]['lr'] instead."
            )
        return lrs[0]

    @lr.setter
    def lr(self, value: float) -> None:
        value = _non_negative(value, "lr", type(self).__name__)
        for g in self.param_groups:
            g["lr"] = value

    @replayable
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient: ``.grad`` becomes None (PyTorch's default),
        or with ``set_to_none=False`` is filled with zeros in place (a grad that is None
        stays None), so that the next backward adds into the same arrays."""
        for g in self.param_groups:
            if set_to_none:  # every training step: no call per parameter
                for p in g["params"]:
                    p.grad = None
            else:
                for p in g["params"]:
                    _zero_grad(p, set_to_none)

    def step(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define step().")

    # ---- saving and resuming ---------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer as plain data, parameters named by their position 0, 1, ...

        {'state': {index: {name: ndarray or number}},
         'param_groups': [{hyperparameter: value, ..., 'params': [indices]}]}.
        Arrays are copies, so later steps do not change a state dict already taken.
        """
        index: dict[int, int] = {}
        groups = []
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in g["params"]]
            groups.append(packed)
        state = {
            index[id(p)]: {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in s.items()}
            for p, s in self.state.items()
        }
        return {"state": dict(sorted(state.items())), "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Take hyperparameters and state from ``state_dict`` (as ``state_dict()`` returns it).

        The groups must have the same sizes as this optimizer's; arrays are copied,
        cast to their parameter's dtype and checked against its shape.
        """
        owner = f"{type(self).__name__}.load_state_dict"
        try:
            saved_groups = list(state_dict["param_groups"])
            saved_state = dict(state_dict["state"])
        except (TypeError, KeyError):
            raise TypeError(
                f"{owner}: expected a dict with 'state' and 'param_groups' entries, as "
                "state_dict() returns, got "
                f"{type(state_dict).__name__}."
            ) from None
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{owner}: the state dict has {len(saved_groups)} parameter groups, this "
                f"optimizer {len(self.param_groups)}; build the optimizer with the same groups."
            )
        by_index: dict[int, Tensor] = {}
        new_groups = []
        for k, (group, saved) in enumerate(zip(self.param_groups, saved_groups, strict=True)):
            ids = list(saved["params"])
            if len(ids) != len(group["params"]):
                raise ValueError(
                    f"{owner}: group {k} has {len(ids)} parameters in the state dict and "
                    f"{len(group['params'])} here; build the optimizer with the same groups."
                )
            for i, p in zip(ids, group["params"], strict=True):
                by_index[int(i)] = p
            hyper = {**self.defaults, **{key: v for key, v in saved.items() if key != "params"}}
            new_groups.append({"params": group["params"], **self._check_group(hyper)})
        new_state: dict[Tensor, dict[str, Any]] = {}
        for i, entries in saved_state.items():
            if int(i) not in by_index:
                raise ValueError(f"{owner}: the state dict has state for parameter {i}, which "
                                 f"no group lists.")
            p = by_index[int(i)]
            new_state[p] = {key: self._load_value(owner, int(i), p, key, v)
                            for key, v in entries.items()}
        self.param_groups = new_groups
        self.state = new_state

    def _load_value(self, owner: str, i: int, p: Tensor, key: str, value: Any) -> Any:
        if key not in self._state_keys:
            raise ValueError(
                f"{owner}: the state of parameter {i} has an entry {key!r}, which "
                f"{type(self).__name__} does not keep (it keeps {sorted(self._state_keys)}); "
                "was the state dict saved from another optimizer?"
            )
        if key == "step":
            return int(value)
        arr = np.array(value, dtype=p.data.dtype)
        if arr.shape != p.data.shape:
            raise ValueError(
                f"{owner}: {key!r} of parameter {i} has shape {arr.shape} but the parameter "
                f"has shape {p.data.shape}; the model differs from the one that was saved."
            )
        return arr

    # ---- printing --------------------------------------------------------------------
    def __repr__(self) -> str:
        n = sum(len(g["params"]) for g in self.param_groups)
        groups = [", ".join(f"{k}={v}" for k, v in g.items() if k != "params")
                  for g in self.param_groups]
        if len(groups) == 1:
            return f"{type(self).__name__}({n} parameters, {groups[0]})"
        sizes = [len(g["params"]) for g in self.param_groups]
        body = "; ".join(f"group {k} ({size}): {s}"
                         for k, (size, s) in enumerate(zip(sizes, groups, strict=True)))
        return f"{type(self).__name__}({n} parameters in {len(groups)} groups: {body})"
