"""Optimizers for dlkern models.

For now the gradient-norm clip that recurrent training needs; the optimizer classes
(SGD, Momentum, AdaGrad, RMSProp, Adam, AdamW over a model's parameters) come with the
layer API.  The fused steps themselves are dlkern.sgd_step … dlkern.adam_step.
"""
from .ops import clip_grad_norm  # noqa: F401

__all__ = ["clip_grad_norm"]
