"""Optimizers with PyTorch's update rules, and learning-rate schedules (``lr_scheduler``).

Each ``step()`` updates ``p.data`` in place from ``p.grad`` (never touching
``p.grad``) for every parameter that has a gradient; parameters whose ``.grad``
is None are skipped. State (momentum buffers, moment estimates) lives in the
parameters' own dtype, so float32 models stay float32. ``param_groups`` give
layers their own hyperparameters, and ``state_dict()`` / ``load_state_dict()``
save and resume an optimizer exactly.
"""

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adadelta", "Adagrad",
           "lr_scheduler"]
