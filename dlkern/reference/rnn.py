"""The single-layer RNN of seed section 4 and its backprop through time, in NumPy.

Batch-row form of the seed's equations, for every sequence i of the batch:
    a_t = W h_{t−1} + U x_t + b,   h_t = f(a_t),   f = tanh or ReLU,
    δ_t = (∇_{h_t} L + Wᵀ δ_{t+1}) ⊙ f′(a_t)   (BPTT).
With `lengths`, sequence i stops at step lengths[i]: for t ≥ lengths[i] its state is
frozen (h_t = h_{t−1}), so hs[:, −1] is every sequence's final state, a gradient on a
frozen step flows into the last real state, and dx is zero past the end.
"""
import numpy as np

from .. import _checks

def rnn_forward(x, h0, W, U, b, nonlinearity="tanh", lengths=None):
    """hs[:, t] = h_t = f(W h_{t−1} + U x_t + b) for t = 0 … T−1 (seed section 4);
    x (B, T, D), h0 (B, H), W (H, H), U (H, D), b (H,) → hs (B, T, H).

    Returns
    -------
    hs (B, T, H) in x's dtype: every step's state.  With lengths (B,), sequence i
    stops at lengths[i]: its later states repeat h at its last step.  nonlinearity:
    "tanh" (the default) or "relu"."""
    fn = "rnn_forward"
    lengths = _checks.rnn_args(fn, x, h0, W, U, b, nonlinearity, lengths)
    f = np.tanh if nonlinearity == "tanh" else (lambda a: np.maximum(a, 0))
    B, T, _ = x.shape
    hs = np.empty((B, T, h0.shape[1]), dtype=x.dtype)
    h = h0
    for t in range(T):
        a = h @ W.T + x[:, t] @ U.T
        if b is not None:
            a = a + b
        running = (t < lengths)[:, None]
        h = np.where(running, f(a), h)
        hs[:, t] = h
    return hs


def rnn_backward(dhs, x, hs, h0, W, U, nonlinearity="tanh", lengths=None):
    """BPTT (seed section 4): from t = T−1 down to 0, with g_t = ∂L/∂h_t + carry,
    δ_t = g_t ⊙ f′(a_t), f′ read from h_t (1 − h_t² for tanh, 1(h_t > 0) for ReLU);
    dW += δ_tᵀ h_{t−1}, dU += δ_tᵀ x_t, db += Σ δ_t, dx_t = δ_t U, carry = δ_t W.
    A frozen step (t ≥ lengths[i]) passes g_t on unchanged.

    Returns
    -------
    (dx, dh0, dW, dU, db): dx (B, T, D), dh0 (B, H), dW (H, H), dU (H, D), db (H,), in
    x's dtype."""
    fn = "rnn_backward"
    lengths = _checks.rnn_backward_args(fn, dhs, x, hs, h0, W, U, nonlinearity, lengths)
    B, T, D = x.shape
    H = h0.shape[1]
    dx = np.zeros_like(x)
    dW = np.zeros_like(W)
    dU = np.zeros_like(U)
    db = np.zeros(H, dtype=x.dtype)
    carry = np.zeros_like(h0)
    for t in reversed(range(T)):
        g = dhs[:, t] + carry
        h = hs[:, t]
        h_prev = hs[:, t - 1] if t > 0 else h0
        fprime = 1 - h * h if nonlinearity == "tanh" else (h > 0).astype(x.dtype)
        running = (t < lengths)[:, None]
        delta = np.where(running, g * fprime, 0)
        dW += delta.T @ h_prev
        dU += delta.T @ x[:, t]
        db += delta.sum(axis=0)
        dx[:, t] = delta @ U
        carry = np.where(running, delta @ W, g)
    return dx, carry, dW, dU, db
