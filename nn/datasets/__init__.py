"""Small data sets for the examples: bundled UCI digits and an MNIST file reader."""

from .digits import load_digits
from .mnist import load_mnist

__all__ = ["load_digits", "load_mnist"]
