"""Learning-rate schedules, as ``torch.optim.lr_scheduler``: StepLR, ExponentialLR,
CosineAnnealingLR.

A scheduler rewrites ``group['lr']`` in its optimizer's ``param_groups``. Build it
after the optimizer (that already sets the first value, epoch 0) and call
``sched.step()`` once per epoch, after that epoch's ``opt.step()`` calls. Each
schedule uses PyTorch's recursion, so the learning rates agree with PyTorch's
to the last bit, including after the learning rate was changed by hand.
"""

from __future__ import annotations

import math
from typing import Any

from autograd.compile import replayable

from .optimizer import Optimizer, _non_negative, _number

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR"]


def _positive_int(value: Any, name: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{owner}: {name} must be an integer >= 1, got {value!r}.")
    return int(value)


class LRScheduler:
    """Base class: ``step()``, ``get_last_lr()``, ``state_dict()`` / ``load_state_dict()``.

    A subclass writes ``get_lr()``: the learning rate of every group for epoch
    ``self.last_epoch``, from the current ``group['lr']`` (a recursion) or from
    ``self.base_lrs`` (the learning rates when the schedule started).
    ``last_epoch=-1`` starts a new schedule; a larger value resumes one, which
    needs ``'initial_lr'`` in every group (as an optimizer loaded from a state
    dict saved while a schedule ran has).
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        owner = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{owner}: expected an optimizer such as nn.optim.SGD, got "
                f"{type(optimizer).__name__}."
            )
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, int) or last_epoch < -1:
            raise ValueError(f"{owner}: last_epoch must be an integer >= -1, got {last_epoch!r}.")
        self.optimizer = optimizer
        groups = optimizer.param_groups
        if last_epoch == -1:
            for group in groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for k, group in enumerate(groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"{owner}: resuming with last_epoch={last_epoch} needs "
                        f"param_groups[{k}]['initial_lr'] (load the optimizer's state dict "
                        "first, or start a new schedule with last_epoch=-1)."
                    )
        self.base_lrs: list[float] = [group["initial_lr"] for group in groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._initial = True  # the constructor's step sets epoch 0 and keeps the current lr
        self.step()
        self._initial = False

    def get_lr(self) -> list[float]:
        """The learning rate of every group for epoch ``self.last_epoch``."""
        raise NotImplementedError(f"{type(self).__name__} must define get_lr().")

    @replayable  # inside an ag.compile step it runs again at every replay
    def step(self) -> None:
        """Move to the next epoch and write its learning rates into the optimizer."""
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            group["lr"] = float(lr)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates the last ``step()`` (or the constructor) set, one per group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """The schedule's position and settings as plain numbers and lists (not the optimizer)."""
        return {k: list(v) if isinstance(v, list) else v
                for k, v in vars(self).items() if k not in ("optimizer", "_initial")}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Continue the schedule saved in ``state_dict`` (from ``state_dict()``)."""
        owner = f"{type(self).__name__}.load_state_dict"
        mine = set(self.state_dict())
        if not isinstance(state_dict, dict) or set(state_dict) != mine:
            got = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(
                f"{owner}: expected a dict with the entries {sorted(mine)}, got {got}; "
                "was it saved from another kind of scheduler?"
            )
        for k, v in state_dict.items():
            setattr(self, k, list(v) if isinstance(v, (list, tuple)) else v)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self._last_lr})"


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    lr(epoch) = base_lr * gamma ** (epoch // step_size).
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.step_size = _positive_int(step_size, "step_size", "StepLR")
        self.gamma = _non_negative(gamma, "gamma", "StepLR")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every epoch: lr(epoch) = base_lr * gamma ** epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = _non_negative(gamma, "gamma", "ExponentialLR")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self._initial:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from the base learning rate down to ``eta_min`` over ``T_max`` epochs.

    lr(epoch) = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2, computed,
    as PyTorch does, by a recursion from the current lr (so a hand-set lr is followed);
    past T_max the cosine continues, rising again (no restarts).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        self.T_max = _positive_int(T_max, "T_max", "CosineAnnealingLR")
        self.eta_min = _number(eta_min, "eta_min", "CosineAnnealingLR")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        epoch, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._initial:
            return [group["lr"] for group in groups]
        if self._step_count == 1 and epoch > 0:  # resumed at a later epoch: the closed form
            return [eta_min + (base - eta_min) * (1 + math.cos(epoch * math.pi / T)) / 2
                    for base in self.base_lrs]
        if (epoch - 1 - T) % (2 * T) == 0:  # the bottom of the cosine, where the ratio is 0/0
            return [group["lr"] + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for base, group in zip(self.base_lrs, groups, strict=True)]
        return [(1 + math.cos(math.pi * epoch / T)) / (1 + math.cos(math.pi * (epoch - 1) / T))
                * (group["lr"] - eta_min) + eta_min
                for group in groups]
