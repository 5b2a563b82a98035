"""Loss modules: thin Module wrappers around ``nn.functional``'s losses (mean reduction)."""

from __future__ import annotations

from typing import Any

from autograd import Tensor

from . import functional as F
from .module import Module

__all__ = ["MSELoss", "CrossEntropyLoss"]


class MSELoss(Module):
    """``MSELoss()(pred, target)``: mean of (pred - target)^2 over all elements."""

    def forward(self, pred: Tensor, target: Any) -> Tensor:
        return F.mse_loss(pred, target)


class CrossEntropyLoss(Module):
    """``CrossEntropyLoss()(logits, class_ids)``: softmax cross-entropy, mean over the batch."""

    def forward(self, logits: Tensor, target: Any) -> Tensor:
        return F.cross_entropy(logits, target)
