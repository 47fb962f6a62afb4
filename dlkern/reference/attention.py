"""Scaled dot-product attention, seed section 5, in plain NumPy.

For every leading index (batch, head) and query t:
    s_{t,s} = scale · q_tᵀ k_s  (scale = 1/√d_k by default),
    α_{t→s} = exp(s_{t,s}) / Σ_u exp(s_{t,u}),   z_t = Σ_s α_{t→s} v_s.
`causal` lets query i see keys j ≤ i (top-left aligned, as PyTorch's is_causal), or
with causal_variant="lower_right" keys j ≤ i + T_k − T_q (PyTorch's causal_lower_right:
the last query sees every key, as a decode step against a key/value cache needs);
`mask` (boolean, True = attend) is broadcast to (..., T_q, T_k) and combined with it.
lse_t = log Σ_u exp(s_{t,u}) over the visible keys.  A query that sees no key gets
output 0, lse −inf and zero gradients.  This reference forms the whole T_q × T_k
score matrix; the native kernel never does.
"""
import numpy as np

from .. import _checks


def _visible(q, k, offset, mask):
    """Boolean (..., T_q, T_k): may query i attend to key j (causal: j ≤ i + offset)."""
    tq, tk = q.shape[-2], k.shape[-2]
    visible = np.ones((tq, tk), dtype=bool)
    if offset is not None:
        visible = np.tril(visible, offset)
    if mask is not None:
        visible = visible & mask
    return np.broadcast_to(visible, q.shape[:-2] + (tq, tk))


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


def scaled_dot_product_attention(q, k, v, causal=False, scale=None, mask=None,
                                 causal_variant="upper_left"):
    """Z = softmax(scale · Q Kᵀ) V over the visible keys (seed section 5); q (..., T_q, d_k),
    k (..., T_k, d_k), v (..., T_k, d_v), the same leading dimensions.

    scale: None means 1/√d_k.  causal=True: query i sees keys 0…i, the diagonal aligned
    top-left also when T_q ≠ T_k (PyTorch's is_causal), so a decode step's new queries
    against a longer cache see only the first keys; with causal_variant="lower_right",
    query i sees keys 0…i + T_k − T_q (the diagonal aligned bottom-right, PyTorch's
    causal_lower_right: a decode step's T_q new queries each see the cache and the new
    keys up to their own).  mask: boolean, broadcastable to
    (..., T_q, T_k), True = attend; with causal, a key must pass both.  A query that
    sees no key gets out = 0 and lse = −inf.

    Returns
    -------
    (out, lse): out (..., T_q, d_v); lse (..., T_q), the log-sum-exp of each query's
    scaled scores, which the backward pass takes instead of the attention matrix."""
    scale, mask, offset = _checks.attention_args("scaled_dot_product_attention", q, k, v,
                                                 causal, scale, mask, causal_variant)
    visible = _visible(q, k, offset, mask)
    p, lse = _probabilities(q, k, scale, visible)
    return (p @ v).astype(q.dtype, copy=False), lse.astype(q.dtype, copy=False)


def scaled_dot_product_attention_backward(dout, q, k, v, out, lse, causal=False, scale=None,
                                          mask=None, causal_variant="upper_left"):
    """With P recomputed from q, k and lse (no stored attention matrix):
    dV = Pᵀ dO,  dP = dO Vᵀ,  dS = P ⊙ (dP − rowsum(dO ⊙ O)),
    dQ = scale · dS K,  dK = scale · dSᵀ Q.  scale, causal, mask and causal_variant as in
    the forward pass.

    Returns
    -------
    (dq, dk, dv): in the shapes of q, k and v, in q's dtype."""
    scale, mask, offset = _checks.attention_backward_args(
        "scaled_dot_product_attention_backward", dout, q, k, v, out, lse, causal, scale, mask,
        causal_variant)
    visible = _visible(q, k, offset, mask)
    p, _ = _probabilities(q, k, scale, visible, lse)
    dv = np.swapaxes(p, -1, -2) @ dout
    dp = dout @ np.swapaxes(v, -1, -2)
    rowsum = (dout * out).sum(axis=-1, keepdims=True)
    ds = p * (dp - rowsum)
    dq = scale * (ds @ k)
    dk = scale * (np.swapaxes(ds, -1, -2) @ q)
    return tuple(a.astype(q.dtype, copy=False) for a in (dq, dk, dv))
