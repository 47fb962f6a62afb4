"""Dense layers and activations, seed sections 1 and 11, in plain NumPy."""
import numpy as np

from .. import _checks


def linear(x, w, b=None):
    """y = x wᵀ + b for a batch: the seed's a = W x + b (section 1) applied to each row
    of x (B, D_in); w is (D_out, D_in), b (D_out,).

    Returns
    -------
    y (B, D_out) in x's dtype.  b=None means no bias."""
    _checks.linear_args("linear", x, w, b)
    y = x @ w.T
    if b is not None:
        y = y + b
    return y


def linear_backward(dy, x, w):
    """Gradients of y = x wᵀ + b (seed section 1's chain):
    dx = dy w,  dw = dyᵀ x  (∂L/∂W = ∂L/∂a xᵀ summed over the batch),  db = Σ_batch dy.
    The 1/B of the mini-batch mean is already in dy (it comes from the loss).

    Returns
    -------
    (dx, dw, db): dx (B, D_in), dw (D_out, D_in), db (D_out,), in x's dtype."""
    _checks.linear_backward_args("linear_backward", dy, x, w)
    dx = dy @ w
    dw = dy.T @ x
    db = dy.sum(axis=0)
    return dx, dw, db


def _array(fn, name, x):
    return _checks.float_array(fn, name, x)


def relu(x):
    """ReLU(a) = max(a, 0) (seed section 1).

    Returns
    -------
    y of x's shape and dtype; NaN stays NaN."""
    _array("relu", "x", x)
    return np.maximum(x, 0)


def relu_backward(dy, x):
    """∂L/∂a = ∂L/∂h ⊙ 1(a > 0) (seed section 1).

    Returns
    -------
    dx of x's shape and dtype (0 where x ≤ 0 or x is NaN)."""
    _checks.same_shape_pair("relu_backward", "dy", dy, "x", x)
    return dy * (x > 0)


def sigmoid(x):
    """σ(z) = 1 / (1 + e^(−z)) (seed section 1), evaluated as e^z / (1 + e^z) for z < 0
    so that no exponential overflows.

    Returns
    -------
    y of x's shape and dtype, in [0, 1]."""
    _array("sigmoid", "x", x)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1 / (1 + np.exp(-x[pos]))
    ez = np.exp(x[~pos])
    out[~pos] = ez / (1 + ez)
    return out


def softmax(x, axis=-1):
    """softmax(z)_c = e^(z_c) / Σ_c' e^(z_c') (seed sections 5, 11), shifted by the max
    along `axis` (the result is unchanged and nothing overflows).

    Returns
    -------
    y of x's shape and dtype; each slice along `axis` sums to 1."""
    _checks.softmax_args("softmax", x, axis)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
