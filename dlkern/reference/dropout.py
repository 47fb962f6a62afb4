"""Inverted dropout with a counter-based generator (seed section 7's remedy; DESIGN.md,
contract additions), in plain NumPy.

The mask does not depend on a generator's state, the thread count or the backend:
element i of x (in C order) is kept when draw(seed, i) ≥ ⌈p·2³²⌉, where the draws are
the two 32-bit halves (low half for even i, high half for odd i) of
splitmix64's finaliser applied to key + ⌊i/2⌋·γ, key = finaliser(seed),
γ = 0x9E3779B97F4A7C15 — a counter-based generator in the sense of Salmon et al.
(2011): the i-th draw is a pure function of (seed, i).
"""
import numpy as np

from .. import _checks

_GAMMA = 0x9E3779B97F4A7C15
_M1, _M2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_MASK64 = (1 << 64) - 1


def _mix(z):
    """splitmix64's finaliser on uint64 arrays (multiplication wraps modulo 2⁶⁴)."""
    z = z ^ (z >> np.uint64(30))
    z = z * np.uint64(_M1)
    z = z ^ (z >> np.uint64(27))
    z = z * np.uint64(_M2)
    return z ^ (z >> np.uint64(31))


def _key(seed):
    z = seed & _MASK64
    z = ((z ^ (z >> 30)) * _M1) & _MASK64
    z = ((z ^ (z >> 27)) * _M2) & _MASK64
    return z ^ (z >> 31)


def keep_mask(shape, p, seed):
    """The mask of dropout(x, p, seed) for an x of this shape: True = kept."""
    n = int(np.prod(shape, dtype=np.int64))
    i = np.arange(n, dtype=np.uint64)
    h = _mix(np.uint64(_key(seed)) + (i >> np.uint64(1)) * np.uint64(_GAMMA))
    draw = np.where(i & np.uint64(1), h >> np.uint64(32), h & np.uint64(0xFFFFFFFF))
    return (draw >= np.uint64(_checks.dropout_threshold(p))).reshape(shape)


def _scale(p, dtype):
    return dtype.type(0 if p == 1 else 1 / (1 - p))


def dropout(x, p, seed):
    """Inverted dropout: y = x / (1 − p) where the mask keeps an element (probability
    1 − p, drawn as above), 0 where it drops it (a dropped NaN gives 0 too).

    Returns
    -------
    (y, mask): y of x's shape and dtype, mask a bool array of x's shape (True = kept)."""
    p, seed = _checks.dropout_args("dropout", x, p, seed)
    mask = keep_mask(x.shape, p, seed)
    return np.where(mask, x * _scale(p, x.dtype), x.dtype.type(0)), mask


def dropout_backward(dy, mask, p):
    """dx = dy / (1 − p) where mask is True, 0 elsewhere.

    Returns
    -------
    dx of dy's shape and dtype."""
    p = _checks.dropout_backward_args("dropout_backward", dy, mask, p)
    return np.where(mask, dy * _scale(p, dy.dtype), dy.dtype.type(0))
