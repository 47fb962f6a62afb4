"""Weight initialisation (seed section 8).

Glorot/Xavier keeps the variance of activations and gradients balanced:
σ² = 2 / (n_in + n_out).  He/Kaiming suits ReLU layers: σ² = 2 / n_in.  The uniform
forms draw from U(−a, a) with a = √(3σ²), which has the same variance.  For a
convolution n_in = C_in·K_h·K_w and n_out = C_out·K_h·K_w.
"""
import numpy as np


def generator(seed=None):
    """A NumPy Generator from a seed, a Generator (returned as is) or None (fresh)."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def fans(shape):
    """(n_in, n_out) of a weight: (out, in) for dense, (out, in, kh, kw) for conv."""
    if len(shape) < 2:
        raise ValueError(f"fans: a weight needs at least 2 dimensions, got shape {shape}")
    receptive = int(np.prod(shape[2:], dtype=np.int64)) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _draw(shape, variance, kind, seed, dtype):
    rng = generator(seed)
    if kind == "normal":
        w = rng.normal(0.0, np.sqrt(variance), size=shape)
    elif kind == "uniform":
        a = np.sqrt(3.0 * variance)
        w = rng.uniform(-a, a, size=shape)
    else:
        raise ValueError(f"init: distribution must be 'normal' or 'uniform', got {kind!r}")
    return w.astype(dtype)


def xavier(shape, distribution="uniform", seed=None, dtype=np.float32):
    """Glorot/Xavier: variance 2 / (n_in + n_out) (seed section 8)."""
    n_in, n_out = fans(shape)
    return _draw(shape, 2.0 / (n_in + n_out), distribution, seed, dtype)


def he(shape, distribution="normal", seed=None, dtype=np.float32):
    """He/Kaiming: variance 2 / n_in (seed section 8), for layers followed by ReLU."""
    n_in, _ = fans(shape)
    return _draw(shape, 2.0 / n_in, distribution, seed, dtype)


SCHEMES = {"xavier": xavier, "glorot": xavier, "he": he, "kaiming": he}


def initialise(shape, scheme, seed=None, dtype=np.float32):
    if scheme not in SCHEMES:
        raise ValueError(f"init: scheme must be one of {sorted(SCHEMES)}, got {scheme!r}")
    return SCHEMES[scheme](shape, seed=seed, dtype=dtype)
