"""Dense layers and activations, seed sections 1 and 11 (GELU and tanh: DESIGN.md,
contract additions), in plain NumPy."""
import math

import numpy as np

from .. import _checks


def linear(x, w, b=None, weight_layout="out_in"):
    """y = x wᵀ + b for a batch: the seed's a = W x + b (section 1) applied to each row
    of x (B, D_in); w is (D_out, D_in), b (D_out,).  With weight_layout="in_out", w is
    (D_in, D_out), the layout most NumPy models keep, and y = x w + b; it is read as it
    is, never copied.

    Returns
    -------
    y (B, D_out) in x's dtype.  b=None means no bias."""
    in_out = _checks.linear_args("linear", x, w, b, weight_layout)
    y = x @ (w if in_out else w.T)
    if b is not None:
        y = y + b
    return y


def linear_backward(dy, x, w, weight_layout="out_in"):
    """Gradients of y = x wᵀ + b (seed section 1's chain):
    dx = dy w,  dw = dyᵀ x  (∂L/∂W = ∂L/∂a xᵀ summed over the batch),  db = Σ_batch dy.
    The 1/B of the mini-batch mean is already in dy (it comes from the loss).  With
    weight_layout="in_out" (w of shape (D_in, D_out), y = x w + b): dx = dy wᵀ and
    dw = xᵀ dy, in w's layout.

    Returns
    -------
    (dx, dw, db): dx (B, D_in), dw of w's shape, db (D_out,), in x's dtype."""
    in_out = _checks.linear_backward_args("linear_backward", dy, x, w, weight_layout)
    if in_out:
        return dy @ w.T, x.T @ dy, dy.sum(axis=0)
    return dy @ w, dy.T @ x, dy.sum(axis=0)


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


def tanh(x):
    """tanh(z) = (e^z − e^(−z)) / (e^z + e^(−z)) (seed section 4's f).

    Returns
    -------
    y of x's shape and dtype, in [−1, 1]."""
    _array("tanh", "x", x)
    return np.tanh(x)


_erf = np.frompyfunc(math.erf, 1, 1)
_SQRT_2_PI = math.sqrt(2 / math.pi)


def _gelu_parts(x, approximate):
    """(Φ-like factor, its derivative's extra term) of GELU in float64."""
    z = x.astype(np.float64)
    if approximate:
        # beyond |x| = 10 the derivative's term is below 1e-30 and x³ could overflow
        c = np.clip(z, -10, 10)
        t = np.tanh(_SQRT_2_PI * (c + 0.044715 * c ** 3))
        extra = 0.5 * c * (1 - t * t) * _SQRT_2_PI * (1 + 3 * 0.044715 * c * c)
        return z, 0.5 * (1 + t), np.where(np.isinf(z), np.nan, extra)
    cdf = 0.5 * (1 + _erf(z / math.sqrt(2)).astype(np.float64))
    return z, cdf, z * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def gelu(x, approximate="none"):
    """GELU(x) = x Φ(x) = x/2 · (1 + erf(x/√2)), Φ the standard normal CDF (PyTorch's
    default); approximate="tanh": x/2 · (1 + tanh(√(2/π) (x + 0.044715 x³))), the form
    GPT-2 uses (PyTorch's approximate="tanh").

    Returns
    -------
    y of x's shape and dtype (computed in float64)."""
    tanh_form = _checks.gelu_approximate("gelu", approximate)
    _array("gelu", "x", x)
    with np.errstate(invalid="ignore", over="ignore"):   # −inf · 0 is NaN, as in the formula
        z, cdf, _ = _gelu_parts(x, tanh_form)
        return (z * cdf).astype(x.dtype)


def gelu_backward(dy, x, approximate="none"):
    """dx = dy · GELU'(x): exact, Φ(x) + x φ(x) with φ(x) = e^(−x²/2)/√(2π); tanh form,
    ½(1 + t) + ½ x (1 − t²) √(2/π)(1 + 3·0.044715 x²) with t its tanh.

    Returns
    -------
    dx of x's shape and dtype (computed in float64)."""
    tanh_form = _checks.gelu_approximate("gelu_backward", approximate)
    _checks.same_shape_pair("gelu_backward", "dy", dy, "x", x)
    with np.errstate(invalid="ignore", over="ignore"):
        _, cdf, extra = _gelu_parts(x, tanh_form)
        return (dy * (cdf + extra)).astype(x.dtype)


def softmax(x, axis=-1):
    """softmax(z)_c = e^(z_c) / Σ_c' e^(z_c') (seed sections 5, 11), shifted by the max
    along `axis` (the result is unchanged and nothing overflows).  The native float32
    kernel gives 0 for terms more than 87 below the max (e^−87 = 1.6e-38), rather than
    float's subnormal values.

    Returns
    -------
    y of x's shape and dtype; each slice along `axis` sums to 1."""
    _checks.softmax_args("softmax", x, axis)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
