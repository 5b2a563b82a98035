"""Loss modules: thin Module wrappers around ``nn.functional``'s losses (mean reduction)."""

from __future__ import annotations

from typing import Any

from autograd import Tensor

from . import functional as F
from .module import Module

__all__ = ["MSELoss", "CrossEntropyLoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss"]


class MSELoss(Module):
    """``MSELoss()(pred, target)``: mean of (pred - target)^2 over all elements."""

    def forward(self, pred: Tensor, target: Any) -> Tensor:
        return F.mse_loss(pred, target)


class CrossEntropyLoss(Module):
    """``CrossEntropyLoss()(logits, class_ids)``: softmax cross-entropy, mean over the batch."""

    def forward(self, logits: Tensor, target: Any) -> Tensor:
        return F.cross_entropy(logits, target)


class L1Loss(Module):
    """``L1Loss()(pred, target)``: mean of |pred - target| over all elements."""

    def forward(self, pred: Tensor, target: Any) -> Tensor:
        return F.l1_loss(pred, target)


class BCELoss(Module):
    """``BCELoss()(probs, targets01)``: binary cross-entropy of probabilities, mean."""

    def forward(self, probs: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy(probs, target)


class BCEWithLogitsLoss(Module):
    """``BCEWithLogitsLoss()(logits, targets01)``: sigmoid + binary cross-entropy, stable."""

    def forward(self, logits: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(logits, target)
