"""Batch normalisation over NCHW images, training mode (seed section 3's
"BatchNorm+ReLU" block), in plain NumPy."""
import numpy as np

from .. import _checks


def batch_norm2d(x, gamma, beta, eps=1e-5):
    """Per channel c, over the batch and the plane (N = B·H·W values):
    μ_c = mean x,  σ²_c = mean (x − μ_c)² (biased),  invstd_c = 1/√(σ²_c + ε),
    y = γ_c (x − μ_c) invstd_c + β_c.  Training mode: no running statistics.

    Returns
    -------
    (y, mean, invstd): y of x's shape, mean and invstd (C,), all in x's dtype (the
    statistics are accumulated in float64)."""
    _checks.batch_norm2d_args("batch_norm2d", x, gamma, beta, eps)
    C = x.shape[1]
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=(0, 2, 3))
    var = ((x64 - mean.reshape(1, C, 1, 1)) ** 2).mean(axis=(0, 2, 3))   # two-pass: stable
    invstd = 1.0 / np.sqrt(var + eps)
    xhat = (x64 - mean.reshape(1, C, 1, 1)) * invstd.reshape(1, C, 1, 1)
    y = gamma.reshape(1, C, 1, 1) * xhat.astype(x.dtype) + beta.reshape(1, C, 1, 1)
    return y.astype(x.dtype, copy=False), mean.astype(x.dtype), invstd.astype(x.dtype)


def batch_norm2d_backward(dy, x, gamma, mean, invstd):
    """Gradients of batch_norm2d (training mode), from its saved mean and invstd.

    With x̂ = (x − μ) invstd and N = B·H·W per channel:
    dβ = Σ dy,  dγ = Σ dy x̂,  dx = γ invstd / N · (N dy − dβ − x̂ dγ).

    Returns
    -------
    (dx, dgamma, dbeta): dx of x's shape, dgamma and dbeta of shape (C,), all in x's
    dtype (sums are taken in float64)."""
    _checks.batch_norm2d_backward_args("batch_norm2d_backward", dy, x, gamma, mean, invstd)
    C = x.shape[1]
    N = x.shape[0] * x.shape[2] * x.shape[3]
    s = (1, C, 1, 1)
    dy64 = dy.astype(np.float64)
    xhat = (x.astype(np.float64) - mean.reshape(s)) * invstd.astype(np.float64).reshape(s)
    dbeta = dy64.sum(axis=(0, 2, 3))
    dgamma = (dy64 * xhat).sum(axis=(0, 2, 3))
    dx = (gamma.astype(np.float64) * invstd).reshape(s) / N * (
        N * dy64 - dbeta.reshape(s) - xhat * dgamma.reshape(s))
    return dx.astype(x.dtype), dgamma.astype(x.dtype), dbeta.astype(x.dtype)
