"""The way out: the same model in PyTorch (``to_torch`` / ``from_torch``) and as an ONNX file
(``export_onnx``). PyTorch and onnx are optional; each is imported when it is needed."""

from .onnx_export import export_onnx
from .torch_bridge import Entry, from_torch, register, to_torch

__all__ = ["to_torch", "from_torch", "export_onnx", "register", "Entry"]
