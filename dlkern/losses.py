"""Losses as mini-batch means (seed sections 1, 9, 13, 14); each returns (loss, grad),
grad being ∂loss/∂(its first argument), ready for the model's backward pass."""
from .ops import bce, bce_with_logits, cross_entropy, mse, sequence_mse  # noqa: F401

__all__ = ["bce", "bce_with_logits", "cross_entropy", "mse", "sequence_mse"]
