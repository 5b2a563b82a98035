"""Whole models built from nn's layers: ``nn.models.GPT`` (nanoGPT's architecture)."""

from .gpt import GPT

__all__ = ["GPT"]
