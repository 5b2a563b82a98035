"""The bundled text for the language models: makemore's names and tiny Shakespeare.

Both files sit next to this module (see ``NAMES_LICENSE.md`` and
``SHAKESPEARE_LICENSE.md``) and are read through :mod:`importlib.resources`,
so they load from a source checkout and from an installed wheel alike.
"""

from __future__ import annotations

from importlib import resources


def _read_text(filename: str) -> str:
    """The bundled file ``filename`` as a str (UTF-8, line ends kept as ``\\n``)."""
    return resources.files(__package__).joinpath(filename).read_text(encoding="utf-8")


def load_names() -> list[str]:
    """The 32,033 first names of makemore's ``names.txt``, in file order.

    Each entry is 2 to 15 lowercase letters ``a``-``z``; a fresh list on every call.
    Example: ``words = nn.datasets.load_names(); words[:3] == ['emma', 'olivia', 'ava']``.
    """
    return _read_text("names.txt").splitlines()


def load_tiny_shakespeare() -> str:
    """The "tiny shakespeare" corpus of char-rnn / nanoGPT: one str of 1,115,394 characters.

    65 distinct characters; nanoGPT's ``shakespeare_char`` trains on the first 90 %
    and validates on the last 10 %.
    """
    return _read_text("tiny_shakespeare.txt")
