"""Losses as mini-batch means (seed sections 1, 9, 13, 14), each returning
(loss, ∂loss/∂input).  B is the batch size, the first dimension."""
import numpy as np

from .. import _checks
from .dense import sigmoid


def _pair(fn, a_name, a, b_name, b):
    _checks.float_array(fn, a_name, a)
    _checks.float_array(fn, b_name, b)
    _checks.same_dtype(fn, b_name, b, a_name, a)
    if a.shape != b.shape:
        raise ValueError(f"{fn}: {b_name} has shape {b.shape}, {a_name} has shape {a.shape}")
    if a.ndim < 1 or a.shape[0] < 1:
        raise ValueError(f"{fn}: {a_name} must have a batch dimension of at least 1, "
                         f"got shape {a.shape}")
    return a.shape[0]


def bce(y_hat, y):
    """L = −1/B Σ_i [y_i ln ŷ_i + (1 − y_i) ln(1 − ŷ_i)] (seed sections 1, 9);
    ∂L/∂ŷ = −1/B (y/ŷ − (1 − y)/(1 − ŷ)).  ŷ must lie in (0, 1); use bce_with_logits
    for a loss that is stable for any logit."""
    fn = "bce"
    B = _pair(fn, "y_hat", y_hat, "y", y)
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = -np.sum(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat)) / B
        grad = -(y / y_hat - (1 - y) / (1 - y_hat)) / B
    return float(loss), grad.astype(y_hat.dtype, copy=False)


def bce_with_logits(z, y):
    """bce(σ(z), y) without forming σ(z) = 0 or 1: per element
    max(z, 0) − z y + ln(1 + e^(−|z|)); ∂L/∂z = (σ(z) − y)/B (seed section 1: ∂L/∂z = ŷ − y)."""
    fn = "bce_with_logits"
    B = _pair(fn, "z", z, "y", y)
    loss = np.sum(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))) / B
    grad = (sigmoid(z) - y) / B
    return float(loss), grad.astype(z.dtype, copy=False)


def cross_entropy(logits, labels):
    """L = −1/B Σ_i ln p_{i, y_i} with p = softmax(logits) (seed sections 11, 13, 14);
    logits (B, C), integer labels (B,) in [0, C);  ∂L/∂logits = (p − onehot(y))/B."""
    fn = "cross_entropy"
    _checks.float_array(fn, "logits", logits, 2, "(B, C)")
    B, C = logits.shape
    if not isinstance(labels, np.ndarray) or labels.dtype.kind not in "iu":
        raise TypeError(f"{fn}: labels must be an integer array of shape ({B},), got "
                        f"{_checks._describe(labels)}")
    _checks.shape_is(fn, "labels", labels, (B,), "(B,)")
    if B < 1:
        raise ValueError(f"{fn}: logits must have at least one row, got shape {logits.shape}")
    if labels.min() < 0 or labels.max() >= C:
        raise ValueError(f"{fn}: labels must lie in [0, C) = [0, {C}), got values in "
                         f"[{labels.min()}, {labels.max()}]")
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(B)
    loss = -np.sum(log_p[rows, labels]) / B
    grad = np.exp(log_p)
    grad[rows, labels] -= 1
    return float(loss), (grad / B).astype(logits.dtype, copy=False)


def mse(y_hat, y):
    """L = 1/B Σ_i ‖ŷ_i − y_i‖² (seed section 9: summed over output dimensions, averaged
    over the batch — not PyTorch's mean over every element);  ∂L/∂ŷ = 2(ŷ − y)/B."""
    fn = "mse"
    B = _pair(fn, "y_hat", y_hat, "y", y)
    d = y_hat - y
    return float(np.sum(d * d) / B), (2 * d / B).astype(y_hat.dtype, copy=False)


def sequence_mse(y_hat, y, lengths):
    """L = 1/N Σ_i 1/T_i Σ_{t<T_i} ‖ŷ_it − y_it‖² for (N, T, D) arrays (seed section 14);
    ∂L/∂ŷ_it = 2(ŷ_it − y_it)/(N T_i) for t < T_i and 0 past a sequence's length."""
    fn = "sequence_mse"
    N = _pair(fn, "y_hat", y_hat, "y", y)
    if y_hat.ndim != 3:
        raise ValueError(f"{fn}: y_hat must be 3-D (N, T, D), got shape {y_hat.shape}")
    T = y_hat.shape[1]
    if not isinstance(lengths, np.ndarray) or lengths.dtype.kind not in "iu":
        raise TypeError(f"{fn}: lengths must be an integer array of shape ({N},), got "
                        f"{_checks._describe(lengths)}")
    _checks.shape_is(fn, "lengths", lengths, (N,), "(N,)")
    if lengths.min() < 1 or lengths.max() > T:
        raise ValueError(f"{fn}: lengths must lie in [1, T] = [1, {T}], got values in "
                         f"[{lengths.min()}, {lengths.max()}]")
    inside = (np.arange(T)[None, :] < lengths[:, None])[..., None]      # (N, T, 1)
    weight = inside / (N * lengths.reshape(N, 1, 1))
    d = y_hat - y
    loss = np.sum(weight * d * d)
    return float(loss), (2 * weight * d).astype(y_hat.dtype, copy=False)
