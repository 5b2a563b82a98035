"""Small data sets for the examples: bundled UCI digits, an MNIST file reader, and the
bundled text for the language models (makemore's names, tiny Shakespeare)."""

from .corpora import load_names, load_tiny_shakespeare
from .digits import load_digits
from .mnist import load_mnist

__all__ = ["load_digits", "load_mnist", "load_names", "load_tiny_shakespeare"]
