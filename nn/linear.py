"""``nn.linear``: the old name of ``nn.linear_models``, kept because the API and the lecture
use it (``nn.linear.Perceptron``). New code: ``nn.linear_models``; the classes are the same
objects under both names.
"""

from .linear_models import LinearRegression, LogisticRegression, Perceptron, add_bias

__all__ = ["Perceptron", "LinearRegression", "LogisticRegression", "add_bias"]
