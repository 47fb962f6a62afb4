"""Scaled dot-product attention, seed section 5, in plain NumPy.

For every leading index (batch, head) and query t:
    s_{t,s} = scale · q_tᵀ k_s  (scale = 1/√d_k by default),
    α_{t→s} = exp(s_{t,s}) / Σ_u exp(s_{t,u}),   z_t = Σ_s α_{t→s} v_s.
`causal` lets query i see keys j ≤ i (top-left aligned, as PyTorch's is_causal);
`mask` (boolean, True = attend) is broadcast to (..., T_q, T_k) and combined with it.
lse_t = log Σ_u exp(s_{t,u}) over the visible keys.  A query that sees no key gets
output 0, lse −inf and zero gradients.  This reference forms the whole T_q × T_k
score matrix; the native kernel never does.
"""
import numpy as np

from .. import _checks


def _attention_args(fn, q, k, v, causal, scale, mask):
    for name, a in (("q", q), ("k", k), ("v", v)):
        _checks.float_array(fn, name, a)
        if a.ndim < 2:
            raise ValueError(f"{fn}: {name} must have at least 2 dimensions (..., T, d), "
                             f"got shape {a.shape}")
    _checks.same_dtype(fn, "k", k, "q", q)
    _checks.same_dtype(fn, "v", v, "q", q)
    if not (q.shape[:-2] == k.shape[:-2] == v.shape[:-2]):
        raise ValueError(f"{fn}: q, k and v must share their leading dimensions, got "
                         f"{q.shape}, {k.shape}, {v.shape}")
    if k.shape[-1] != q.shape[-1]:
        raise ValueError(f"{fn}: k has d_k = {k.shape[-1]}, q has d_k = {q.shape[-1]}")
    if v.shape[-2] != k.shape[-2]:
        raise ValueError(f"{fn}: v has T_k = {v.shape[-2]}, k has T_k = {k.shape[-2]}")
    if not isinstance(causal, (bool, np.bool_)):
        raise TypeError(f"{fn}: causal must be a bool, got {type(causal).__name__}")
    d_k = q.shape[-1]
    if scale is None:
        scale = 1.0 / float(np.sqrt(d_k)) if d_k else 1.0
    else:
        scale = _checks.real(fn, "scale", scale)
    tq, tk = q.shape[-2], k.shape[-2]
    visible = np.ones((tq, tk), dtype=bool)
    if causal:
        visible = np.tril(visible)
    if mask is not None:
        if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_:
            raise TypeError(f"{fn}: mask must be a boolean array, got "
                            f"{_checks._describe(mask)}")
        target = q.shape[:-2] + (tq, tk)
        try:
            mask = np.broadcast_to(mask, target)
        except ValueError:
            raise ValueError(f"{fn}: mask of shape {mask.shape} does not broadcast to "
                             f"{target} (..., T_q, T_k)") from None
        visible = visible & mask
    return scale, np.broadcast_to(visible, q.shape[:-2] + (tq, tk))


def _probabilities(q, k, scale, visible, lse=None):
    """Scores, then P = exp(s − lse) on the visible keys (0 elsewhere); the lse."""
    s = scale * (q @ np.swapaxes(k, -1, -2))
    s = np.where(visible, s, -np.inf)
    if lse is None:
        m = s.max(axis=-1, keepdims=True)
        m_safe = np.where(np.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):
            lse = (m_safe + np.log(np.exp(s - m_safe).sum(axis=-1, keepdims=True)))[..., 0]
    lse_b = lse[..., None]
    p = np.where(visible & np.isfinite(lse_b), np.exp(s - np.where(np.isfinite(lse_b), lse_b, 0)), 0)
    return p, lse


def scaled_dot_product_attention(q, k, v, causal=False, scale=None, mask=None):
    """Z = softmax(scale · Q Kᵀ) V over the visible keys (seed section 5); q (..., T_q, d_k),
    k (..., T_k, d_k), v (..., T_k, d_v) → (out (..., T_q, d_v), lse (..., T_q))."""
    fn = "scaled_dot_product_attention"
    scale, visible = _attention_args(fn, q, k, v, causal, scale, mask)
    p, lse = _probabilities(q, k, scale, visible)
    return (p @ v).astype(q.dtype, copy=False), lse.astype(q.dtype, copy=False)


def scaled_dot_product_attention_backward(dout, q, k, v, out, lse, causal=False, scale=None,
                                          mask=None):
    """With P recomputed from q, k and lse (no stored attention matrix):
    dV = Pᵀ dO,  dP = dO Vᵀ,  dS = P ⊙ (dP − rowsum(dO ⊙ O)),
    dQ = scale · dS K,  dK = scale · dSᵀ Q.  Returns (dq, dk, dv)."""
    fn = "scaled_dot_product_attention_backward"
    scale, visible = _attention_args(fn, q, k, v, causal, scale, mask)
    out_shape = q.shape[:-1] + (v.shape[-1],)
    for name, a, shape in (("dout", dout, out_shape), ("out", out, out_shape),
                           ("lse", lse, q.shape[:-1])):
        _checks.float_array(fn, name, a)
        _checks.same_dtype(fn, name, a, "q", q)
        _checks.shape_is(fn, name, a, shape)
    p, _ = _probabilities(q, k, scale, visible, lse)
    dv = np.swapaxes(p, -1, -2) @ dout
    dp = dout @ np.swapaxes(v, -1, -2)
    rowsum = (dout * out).sum(axis=-1, keepdims=True)
    ds = p * (dp - rowsum)
    dq = scale * (ds @ k)
    dk = scale * (np.swapaxes(ds, -1, -2) @ q)
    return tuple(a.astype(q.dtype, copy=False) for a in (dq, dk, dv))
