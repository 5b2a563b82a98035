"""nn: neural networks on top of the autograd engine.

Modules and layers (``Module``, ``Linear``, ``MLP``...), losses
(``nn.functional``), optimizers (``nn.optim``), data (``nn.data``,
``nn.datasets``), saving without pickle, and the lecture's linear models
(``nn.linear``) and hand-written backpropagation (``nn.backprop``).
"""

from . import backprop, data, datasets, functional, init, linear, optim, utils

# after the core: these modules import nn.functional and nn.module themselves
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList  # noqa: E402, F401
from .conv import AvgPool2d, Conv2d, MaxPool2d  # noqa: E402
from .extra_layers import GELU, Embedding, LeakyReLU, LogSoftmax, Softmax  # noqa: E402
from .interop import export_onnx, from_torch, to_torch  # noqa: E402
from .layers import MLP, Dropout, Flatten, Identity, Linear, ReLU, Sigmoid, Tanh
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss
from .module import Module, Parameter, Sequential
from .norm import BatchNorm1d, BatchNorm2d, LayerNorm  # noqa: E402
from .serialization import load, save

__all__ = [
    "Module", "Parameter", "Sequential", "Linear", "MLP", "Tanh", "ReLU", "Sigmoid",
    "Identity", "Dropout", "Flatten", "Conv2d", "MaxPool2d", "AvgPool2d", "BatchNorm1d",
    "BatchNorm2d", "LayerNorm", "Embedding", "LeakyReLU", "GELU", "Softmax", "LogSoftmax",
    "MSELoss", "CrossEntropyLoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss",
    "save", "load", "to_torch", "from_torch", "export_onnx",
    "optim", "data", "datasets", "linear", "backprop", "functional", "init", "utils",
]
