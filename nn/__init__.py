"""nn: neural networks on top of the autograd engine.

Modules and layers (``Module``, ``Linear``, ``MLP``...), losses
(``nn.functional``), optimizers (``nn.optim``), data (``nn.data``,
``nn.datasets``), saving without pickle, and the lecture's linear models
(``nn.linear``) and hand-written backpropagation (``nn.backprop``).
"""

from . import backprop, data, datasets, functional, init, linear, optim, utils
from .layers import MLP, Dropout, Flatten, Identity, Linear, ReLU, Sigmoid, Tanh
from .losses import CrossEntropyLoss, MSELoss
from .module import Module, Parameter, Sequential
from .serialization import load, save

__all__ = [
    "Module", "Parameter", "Sequential", "Linear", "MLP", "Tanh", "ReLU", "Sigmoid",
    "Identity", "Dropout", "Flatten", "MSELoss", "CrossEntropyLoss", "save", "load",
    "optim", "data", "datasets", "linear", "backprop", "functional", "init", "utils",
]
from .conv import AvgPool2d, Conv2d, MaxPool2d  # noqa: E402,F401
from .interop import export_onnx, from_torch, to_torch  # noqa: E402,F401
from .norm import BatchNorm1d, BatchNorm2d, LayerNorm  # noqa: E402,F401
from .extra_layers import GELU, Embedding, LeakyReLU, LogSoftmax, Softmax  # noqa: E402,F401
