"""torch.nn modules that mirror layers of ``nn`` which PyTorch has no class for.

Imported only by the bridge, once PyTorch is known to be installed. The classes
live at module level so that pickling (``torch.save``, ``torch.multiprocessing``)
finds them by name.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "identity": lambda x: x,
}


class MLP(torch.nn.Module):
    """``nn.MLP`` written in PyTorch: Linear layers in a ModuleList ``layers``, ``activation``
    after every hidden layer and ``output_activation`` (None: none) after the last.

    The parameters are named ``layers.0.weight``, ``layers.0.bias``... as in ``nn.MLP``, so
    a state_dict moves between the two unchanged.
    """

    def __init__(self, sizes: Sequence[int], activation: str = "tanh",
                 output_activation: str | None = None) -> None:
        super().__init__()
        for name in (activation, output_activation):
            if name is not None and name not in ACTIVATIONS:
                raise ValueError(f"MLP: unknown activation {name!r}; choose one of "
                                 f"{sorted(ACTIVATIONS)} (or None for the output).")
        self.sizes = [int(s) for s in sizes]
        self.activation = activation
        self.output_activation = output_activation
        self.layers = torch.nn.ModuleList(
            torch.nn.Linear(a, b) for a, b in zip(self.sizes[:-1], self.sizes[1:], strict=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            name = self.activation if i < last else self.output_activation
            if name is not None:
                x = ACTIVATIONS[name](x)
        return x

    def extra_repr(self) -> str:
        return (f"sizes={self.sizes}, activation={self.activation!r}, "
                f"output_activation={self.output_activation!r}")
