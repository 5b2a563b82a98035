"""Devices, as PyTorch names them: this library computes on the CPU only.

``ag.device('cpu')``, ``t.device``, ``t.to('cpu')`` and ``device=`` on creation
functions work, so PyTorch code that names its device runs unchanged. A GPU
device may be named (``ag.device('cuda')``, as torch allows without a GPU), but
using it for a tensor raises: there is no GPU backend (the seam where one would
plug in is ``ctx.xp``, see ``xp.py``). ``ag.cuda.is_available()`` and
``ag.accelerator.is_available()`` say False, so ``'cuda' if
torch.cuda.is_available() else 'cpu'`` picks the CPU.
"""

from __future__ import annotations

from typing import Any

from .engine import _GradMode, is_grad_enabled


class device:  # noqa: N801 (PyTorch's name)
    """``device('cpu')``, ``device('cuda:0')`` or ``device('cuda', 0)``: a device's name.

    Compares equal to another device of the same type and index, and to its string
    (``t.device == 'cpu'``).
    """

    __slots__ = ("type", "index")

    def __init__(self, type: Any, index: int | None = None) -> None:  # noqa: A002
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string such as 'cpu', got {type!r}.")
        kind, _, number = type.partition(":")
        if number:
            if index is not None:
                raise ValueError(f"device({type!r}, {index}): give the index once.")
            index = int(number)
        self.type, self.index = kind, index

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type={self.type!r})"
        return f"device(type={self.type!r}, index={self.index})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (TypeError, ValueError):
                return False
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = device("cpu")


def check_device(dev: Any, what: str) -> device:
    """``dev`` as a device this library computes on (the CPU), or a RuntimeError saying so."""
    if dev is None:
        return CPU
    if isinstance(dev, int) and not isinstance(dev, bool):
        dev = device("cuda", dev)  # torch reads an int as a GPU's index
    try:
        d = device(dev)
    except (TypeError, ValueError) as exc:
        raise RuntimeError(f"{what}: {dev!r} is not a device name ({exc}); use 'cpu'.") from None
    if d.type != "cpu":
        raise RuntimeError(
            f"{what}: device {str(d)!r}: this library has no GPU backend; it computes with "
            "numpy on the CPU. Use device='cpu' (or leave it out), e.g. "
            "device = 'cuda' if ag.cuda.is_available() else 'cpu'."
        )
    return CPU


def set_default_device(dev: Any) -> None:
    """Where new tensors live: only 'cpu' (or None) is accepted, and it is the default."""
    check_device(dev, "set_default_device")


def get_default_device() -> device:
    return CPU


class _NoGPU:
    """A namespace like ``torch.cuda`` / ``torch.accelerator``: no device is available."""

    def __init__(self, name: str) -> None:
        self._name = name

    def is_available(self) -> bool:
        return False

    def device_count(self) -> int:
        return 0

    def manual_seed(self, seed: int) -> None:
        """Nothing to seed (as torch.cuda.manual_seed without a GPU): ag.manual_seed seeds all."""

    manual_seed_all = manual_seed

    def synchronize(self, *args: Any) -> None:
        """Nothing runs asynchronously here."""

    def __repr__(self) -> str:
        return f"<ag.{self._name}: no GPU backend, is_available() is False>"


cuda = _NoGPU("cuda")
accelerator = _NoGPU("accelerator")


class inference_mode(_GradMode):  # noqa: N801 (PyTorch's name)
    """Like ``no_grad()`` (PyTorch's faster variant of it): ``with ag.inference_mode():``,
    ``@ag.inference_mode()`` or ``@ag.inference_mode``. ``inference_mode(False)`` changes
    nothing, as in PyTorch."""

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode):  # used bare as a decorator: @ag.inference_mode
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        self._mode = bool(mode)
        super().__init__(False)

    def __enter__(self) -> "inference_mode":
        if not self._mode:  # keep whatever mode is on at entry
            self.enabled = is_grad_enabled()
        return super().__enter__()
