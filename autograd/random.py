"""Random number generators: ``ag.Generator`` and the shared default stream.

Every random function (randn, rand, randint, randperm, normal, multinomial, nn init,
Dropout, DataLoader shuffles) draws from a numpy ``Generator``: the process-wide one
that ``ag.manual_seed`` re-seeds, or the one inside an ``ag.Generator`` passed as
``generator=``. A seeded ``ag.Generator`` gives the same numbers every run and leaves
the shared stream alone, as ``torch.Generator`` does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import defaults


class Generator:
    """A random stream of its own: ``g = ag.Generator().manual_seed(42)``; pass ``generator=g``."""

    def __init__(self, device: Any = "cpu") -> None:
        if str(device) != "cpu":
            raise RuntimeError(
                f"Generator(device={device!r}): this library runs on the CPU only; "
                "use device='cpu' (or leave it out)."
            )
        self._seed = int(np.random.SeedSequence().entropy % 2**63)
        self._rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> "Generator":
        """Restart the stream from ``seed``; returns the generator (as torch does)."""
        self._seed = int(seed)
        self._rng = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        """Re-seed from fresh entropy and return the new seed."""
        return self.manual_seed(int(np.random.SeedSequence().entropy % 2**63))._seed

    def initial_seed(self) -> int:
        """The seed the stream last started from."""
        return self._seed

    def get_state(self) -> dict:
        """The stream's state (a dict of plain values): ``set_state`` resumes it exactly."""
        return {"seed": self._seed, "bit_generator": self._rng.bit_generator.state}

    def set_state(self, state: dict) -> "Generator":
        self._seed = int(state["seed"])
        self._rng = np.random.default_rng(self._seed)
        self._rng.bit_generator.state = state["bit_generator"]
        return self

    @property
    def device(self) -> str:
        return "cpu"

    def __repr__(self) -> str:
        return f"Generator(seed={self._seed})"


def numpy_generator(generator: Generator | None, what: str) -> np.random.Generator:
    """The numpy Generator a random function draws from: ``generator``'s, or the shared one."""
    if generator is None:
        return defaults.generator()
    if not isinstance(generator, Generator):
        raise TypeError(
            f"{what}: generator= must be an ag.Generator (ag.Generator().manual_seed(s)), "
            f"got {type(generator).__name__}."
        )
    return generator._rng
