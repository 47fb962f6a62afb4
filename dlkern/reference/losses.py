"""Losses as mini-batch means (seed sections 1, 9, 13, 14), each returning
(loss, ∂loss/∂input).  B is the batch size, the first dimension."""
import numpy as np

from .. import _checks
from .dense import sigmoid


def bce(y_hat, y):
    """L = −1/B Σ_i [y_i ln ŷ_i + (1 − y_i) ln(1 − ŷ_i)] (seed sections 1, 9);
    ∂L/∂ŷ = −1/B (y/ŷ − (1 − y)/(1 − ŷ)).  ŷ must lie in (0, 1); use bce_with_logits
    for a loss that is stable for any logit.

    Returns
    -------
    (loss, grad): loss a Python float, grad ∂L/∂ŷ of y_hat's shape and dtype."""
    fn = "bce"
    B = _checks.loss_pair(fn, "y_hat", y_hat, "y", y)
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = -np.sum(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat)) / B
        grad = -(y / y_hat - (1 - y) / (1 - y_hat)) / B
    return float(loss), grad.astype(y_hat.dtype, copy=False)


def bce_with_logits(z, y):
    """bce(σ(z), y) without forming σ(z) = 0 or 1: per element
    max(z, 0) − z y + ln(1 + e^(−|z|)); ∂L/∂z = (σ(z) − y)/B (seed section 1: ∂L/∂z = ŷ − y).

    Returns
    -------
    (loss, grad): loss a Python float, grad ∂L/∂z of z's shape and dtype."""
    fn = "bce_with_logits"
    B = _checks.loss_pair(fn, "z", z, "y", y)
    loss = np.sum(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))) / B
    grad = (sigmoid(z) - y) / B
    return float(loss), grad.astype(z.dtype, copy=False)


def cross_entropy(logits, labels, ignore_index=None):
    """L = −1/B Σ_i ln p_{i, y_i} with p = softmax(logits) (seed sections 11, 13, 14);
    logits (B, C), integer labels (B,) in [0, C);  ∂L/∂logits = (p − onehot(y))/B.
    With ignore_index, the rows labelled with it add no loss and get a zero gradient,
    and B counts the other rows (as PyTorch; with every row ignored the loss is NaN).

    Returns
    -------
    (loss, grad): loss a Python float, grad ∂L/∂logits (B, C) in logits' dtype."""
    B, C, ignore = _checks.cross_entropy_args("cross_entropy", logits, labels, ignore_index)
    keep = np.ones(B, bool) if ignore is None else labels != ignore
    n = int(keep.sum())
    z = logits.astype(np.float64)               # in double: finite for any float logits
    shifted = z - z.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.flatnonzero(keep)
    loss = -np.sum(log_p[rows, labels[rows]]) / n if n else float("nan")
    grad = np.exp(log_p)
    grad[rows, labels[rows]] -= 1
    grad[~keep] = 0
    return float(loss), (grad / max(n, 1)).astype(logits.dtype, copy=False)


def mse(y_hat, y):
    """L = 1/B Σ_i ‖ŷ_i − y_i‖² (seed section 9: summed over output dimensions, averaged
    over the batch — not PyTorch's mean over every element);  ∂L/∂ŷ = 2(ŷ − y)/B.

    Returns
    -------
    (loss, grad): loss a Python float, grad ∂L/∂ŷ of y_hat's shape and dtype."""
    fn = "mse"
    B = _checks.loss_pair(fn, "y_hat", y_hat, "y", y)
    d = y_hat - y
    d64 = d.astype(np.float64)                 # squares summed in double, as native does
    return float(np.sum(d64 * d64) / B), (2 * d / B).astype(y_hat.dtype, copy=False)


def sequence_mse(y_hat, y, lengths):
    """L = 1/N Σ_i 1/T_i Σ_{t<T_i} ‖ŷ_it − y_it‖² for (N, T, D) arrays (seed section 14);
    ∂L/∂ŷ_it = 2(ŷ_it − y_it)/(N T_i) for t < T_i and 0 past a sequence's length.

    Returns
    -------
    (loss, grad): loss a Python float, grad ∂L/∂ŷ (N, T, D) in y_hat's dtype."""
    N, T = _checks.sequence_mse_args("sequence_mse", y_hat, y, lengths)
    inside = (np.arange(T)[None, :] < lengths[:, None])[..., None]      # (N, T, 1)
    weight = inside / (N * lengths.reshape(N, 1, 1))
    d = y_hat.astype(np.float64) - y           # in double, as native does
    loss = np.sum(weight * d * d)
    return float(loss), (2 * weight * d).astype(y_hat.dtype, copy=False)
