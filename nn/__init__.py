"""nn: neural networks on top of the autograd engine.

Modules and layers (``Module``, ``Linear``, ``MLP``...), losses
(``nn.functional``), optimizers (``nn.optim``), data (``nn.data``,
``nn.datasets``), saving without pickle, and the lecture's linear models
(``nn.linear_models``, also reachable as ``nn.linear``) and hand-written
backpropagation (``nn.backprop``).
"""

from . import (
    backprop,
    data,
    datasets,
    functional,
    init,
    linear,
    linear_models,
    models,
    optim,
    text,
    utils,
)
from .activations import (
    ELU,
    GELU,
    Identity,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList
from .conv import AvgPool2d, Conv2d, MaxPool2d
from .dropout import Dropout
from .embedding import Embedding
from .interop import export_onnx, from_torch, to_torch
from .layers import MLP, Flatten, Linear, Unflatten
from .losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .module import Module, Parameter, Sequential
from .norm import BatchNorm1d, BatchNorm2d, LayerNorm
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .rmsnorm import RMSNorm
from .serialization import load, save
from .transformer import (
    MultiheadAttention,
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

__all__ = [
    "Module", "Parameter", "Sequential", "Linear", "MLP", "Tanh", "ReLU", "Sigmoid",
    "Identity", "Dropout", "Flatten", "Unflatten", "Conv2d", "MaxPool2d", "AvgPool2d",
    "BatchNorm1d", "BatchNorm2d", "LayerNorm", "Embedding", "LeakyReLU", "GELU", "Softmax",
    "LogSoftmax",
    "MSELoss", "CrossEntropyLoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss",
    "NLLLoss", "SmoothL1Loss", "HuberLoss", "SiLU", "ELU", "Softplus",
    "save", "load", "to_torch", "from_torch", "export_onnx",
    "optim", "data", "datasets", "linear", "linear_models", "backprop", "functional", "init",
    "utils", "models", "MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder",
    "TransformerDecoderLayer", "TransformerDecoder", "Transformer",
    "text", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict",
    "RNN", "GRU", "LSTM", "RNNCell", "GRUCell", "LSTMCell", "RMSNorm",
]
