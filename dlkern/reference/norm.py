"""Normalisation in plain NumPy: batch-norm over NCHW images or (B, C) features
(seed section 3's "BatchNorm+ReLU" block), in training mode and with running
statistics, and layer-norm over the last axis (DESIGN.md, contract additions)."""
import numpy as np

from .. import _checks


def _planes(x):
    """(B, C, H, W) or (B, C) as (B, C, N): the statistics are over axes 0 and 2."""
    return x.reshape(x.shape[0], x.shape[1], -1)


def batch_norm2d(x, gamma, beta, eps=1e-5):
    """Per channel c, over the batch and the plane (N = B·H·W values; N = B for x of
    shape (B, C), a BatchNorm1d):
    μ_c = mean x,  σ²_c = mean (x − μ_c)² (biased),  invstd_c = 1/√(σ²_c + ε),
    y = γ_c (x − μ_c) invstd_c + β_c.  Training mode: no running statistics.

    Returns
    -------
    (y, mean, invstd): y of x's shape, mean and invstd (C,), all in x's dtype (the
    statistics are accumulated in float64)."""
    _checks.batch_norm2d_args("batch_norm2d", x, gamma, beta, eps)
    C = x.shape[1]
    x64 = _planes(x).astype(np.float64)
    mean = x64.mean(axis=(0, 2))
    var = ((x64 - mean.reshape(1, C, 1)) ** 2).mean(axis=(0, 2))   # two-pass: stable
    invstd = 1.0 / np.sqrt(var + float(eps))
    xhat = (x64 - mean.reshape(1, C, 1)) * invstd.reshape(1, C, 1)
    y = gamma.reshape(1, C, 1) * xhat.astype(x.dtype) + beta.reshape(1, C, 1)
    return (y.astype(x.dtype, copy=False).reshape(x.shape), mean.astype(x.dtype),
            invstd.astype(x.dtype))


def batch_norm2d_backward(dy, x, gamma, mean, invstd):
    """Gradients of batch_norm2d (training mode), from its saved mean and invstd.

    With x̂ = (x − μ) invstd and N values per channel:
    dβ = Σ dy,  dγ = Σ dy x̂,  dx = γ invstd / N · (N dy − dβ − x̂ dγ).

    Returns
    -------
    (dx, dgamma, dbeta): dx of x's shape, dgamma and dbeta of shape (C,), all in x's
    dtype (sums are taken in float64)."""
    _checks.batch_norm2d_backward_args("batch_norm2d_backward", dy, x, gamma, mean, invstd)
    C = x.shape[1]
    N = x.size // C
    s = (1, C, 1)
    dy64 = _planes(dy).astype(np.float64)
    xhat = (_planes(x).astype(np.float64) - mean.reshape(s)) * \
        invstd.astype(np.float64).reshape(s)
    dbeta = dy64.sum(axis=(0, 2))
    dgamma = (dy64 * xhat).sum(axis=(0, 2))
    dx = (gamma.astype(np.float64) * invstd).reshape(s) / N * (
        N * dy64 - dbeta.reshape(s) - xhat * dgamma.reshape(s))
    return dx.astype(x.dtype).reshape(x.shape), dgamma.astype(x.dtype), dbeta.astype(x.dtype)


def batch_norm_inference(x, gamma, beta, running_mean, running_var, eps=1e-5):
    """Batch-norm in evaluation mode, from the running statistics a training run kept:
    y = γ_c (x − μ̄_c) / √(σ̄²_c + ε) + β_c, per channel c of x (B, C) or (B, C, H, W).

    Returns
    -------
    y: x's shape and dtype (computed in float64)."""
    _checks.batch_norm_inference_args("batch_norm_inference", x, gamma, beta, running_mean,
                                      running_var, eps)
    s = (1, x.shape[1], 1)
    k = gamma.astype(np.float64) / np.sqrt(running_var.astype(np.float64) + float(eps))
    y = (_planes(x) - running_mean.astype(np.float64).reshape(s)) * k.reshape(s) + \
        beta.reshape(s)
    return y.astype(x.dtype).reshape(x.shape)


def layer_norm(x, gamma, beta, eps=1e-5):
    """Normalises each vector along the last axis (D values), as torch.nn.LayerNorm(D):
    μ = mean x,  σ² = mean (x − μ)² (biased),  invstd = 1/√(σ² + ε),
    y = γ (x − μ) invstd + β, with γ and β of shape (D,).

    Returns
    -------
    (y, mean, invstd): y of x's shape, mean and invstd of x's shape without its last
    axis, all in x's dtype (the statistics are accumulated in float64)."""
    _checks.layer_norm_args("layer_norm", x, gamma, beta, eps)
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=-1)
    var = ((x64 - mean[..., None]) ** 2).mean(axis=-1)
    invstd = 1.0 / np.sqrt(var + float(eps))
    y = (x64 - mean[..., None]) * invstd[..., None] * gamma + beta
    return y.astype(x.dtype), np.asarray(mean, x.dtype), np.asarray(invstd, x.dtype)


def layer_norm_backward(dy, x, gamma, mean, invstd):
    """Gradients of layer_norm from its saved mean and invstd.  Per vector, with
    x̂ = (x − μ) invstd and g = γ dy:
    dx = invstd (g − mean g − x̂ mean(g x̂)),  and over every vector
    dγ = Σ dy x̂,  dβ = Σ dy.

    Returns
    -------
    (dx, dgamma, dbeta): dx of x's shape, dgamma and dbeta (D,), all in x's dtype
    (sums are taken in float64)."""
    _checks.layer_norm_backward_args("layer_norm_backward", dy, x, gamma, mean, invstd)
    D = x.shape[-1]
    dy64 = dy.astype(np.float64).reshape(-1, D)
    xhat = (x.astype(np.float64).reshape(-1, D) - mean.astype(np.float64).reshape(-1, 1)) * \
        invstd.astype(np.float64).reshape(-1, 1)
    g = dy64 * gamma.astype(np.float64)
    dx = invstd.astype(np.float64).reshape(-1, 1) * (
        g - g.mean(axis=1, keepdims=True) - xhat * (g * xhat).mean(axis=1, keepdims=True))
    return (dx.astype(x.dtype).reshape(x.shape), (dy64 * xhat).sum(axis=0).astype(x.dtype),
            dy64.sum(axis=0).astype(x.dtype))
