"""The single-layer RNN of seed section 4 and its backprop through time, and the LSTM
(DESIGN.md, contract additions), in NumPy.

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
    dW = np.zeros(W.shape, x.dtype)     # C order whatever W's: summed into step by step
    dU = np.zeros(U.shape, x.dtype)
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


def _sigmoid(a):
    return 0.5 * (1 + np.tanh(0.5 * a))        # = 1/(1 + e^−a), without overflow


def _lstm_gates(a):
    """i, f, g, o from the stacked pre-activations a (B, 4H), torch.nn.LSTM's order."""
    ai, af, ag, ao = np.split(a, 4, axis=1)
    return _sigmoid(ai), _sigmoid(af), np.tanh(ag), _sigmoid(ao)


def lstm_forward(x, h0, c0, W, U, b, lengths=None, return_gates=False):
    """The LSTM, gates stacked (i, f, g, o) as in torch.nn.LSTM: for t = 0 … T−1,
    a_t = W h_{t−1} + U x_t + b,  i, f, o = σ(a_i, a_f, a_o),  g = tanh(a_g),
    c_t = f ⊙ c_{t−1} + i ⊙ g,  h_t = o ⊙ tanh(c_t);
    x (B, T, D), h0, c0 (B, H), W (4H, H), U (4H, D), b (4H,) or None.

    Returns
    -------
    (hs, cs): every step's hidden and cell state, (B, T, H) each, in x's dtype.  With
    lengths (B,), sequence i stops at lengths[i]: its later h and c repeat those of its
    last step.  With return_gates=True, (hs, cs, gates): gates (B, T, 4H) holds every
    step's [i | f | g | o], which lstm_backward(..., gates=gates) then uses instead of
    recomputing them (what a layer keeps for its backward pass)."""
    lengths = _checks.lstm_args("lstm_forward", x, h0, c0, W, U, b, lengths)
    B, T, _ = x.shape
    H = h0.shape[1]
    hs = np.empty((B, T, H), dtype=x.dtype)
    cs = np.empty((B, T, H), dtype=x.dtype)
    gates = np.empty((B, T, 4 * H), dtype=x.dtype) if return_gates else None
    h, c = h0, c0
    for t in range(T):
        a = h @ W.T + x[:, t] @ U.T
        if b is not None:
            a = a + b
        i, f, g, o = _lstm_gates(a)
        if return_gates:
            gates[:, t] = np.concatenate([i, f, g, o], axis=1)
        c_new = f * c + i * g
        running = (t < lengths)[:, None]
        c = np.where(running, c_new, c)
        h = np.where(running, o * np.tanh(c_new), h)
        hs[:, t], cs[:, t] = h, c
    return (hs, cs, gates) if return_gates else (hs, cs)


def lstm_backward(dhs, x, hs, cs, h0, c0, W, U, b, lengths=None, dc_last=None, gates=None):
    """Backprop through time of lstm_forward, the gates taken from `gates` (lstm_forward's
    return_gates=True) or, without it, recomputed from x, hs and h0.  From
    t = T−1 down to 0, with dh = ∂L/∂h_t + carry_h and dc = carry_c + dh ⊙ o ⊙ (1 −
    tanh² c_t):  δo = dh ⊙ tanh c_t ⊙ o(1 − o),  δi = dc ⊙ g ⊙ i(1 − i),
    δf = dc ⊙ c_{t−1} ⊙ f(1 − f),  δg = dc ⊙ i ⊙ (1 − g²);  carry_c = dc ⊙ f,
    carry_h = δ W;  dW += δᵀ h_{t−1}, dU += δᵀ x_t, db += Σ δ, dx_t = δ U.  dc_last
    (B, H) is a gradient on the final cell state (it starts carry_c); a frozen step
    (t ≥ lengths[i]) passes dh and dc on unchanged.

    Returns
    -------
    (dx, dh0, dc0, dW, dU, db): dx (B, T, D), dh0, dc0 (B, H), dW (4H, H), dU (4H, D),
    db (4H,), in x's dtype."""
    lengths = _checks.lstm_backward_args("lstm_backward", dhs, x, hs, cs, h0, c0, W, U, b,
                                         lengths, dc_last, gates)
    B, T, D = x.shape
    H = h0.shape[1]
    dx = np.zeros_like(x)
    # C order whatever W's: summed into step by step (into an F-ordered transposed view
    # of NumPy code's weights, the float32 B25 T16 H512 backward took 349 ms, not 73)
    dW, dU = np.zeros(W.shape, x.dtype), np.zeros(U.shape, x.dtype)
    db = np.zeros(4 * H, dtype=x.dtype)
    carry_h = np.zeros_like(h0)
    carry_c = np.zeros_like(c0) if dc_last is None else dc_last.astype(x.dtype)
    for t in reversed(range(T)):
        h_prev = hs[:, t - 1] if t > 0 else h0
        c_prev = cs[:, t - 1] if t > 0 else c0
        if gates is None:
            a = h_prev @ W.T + x[:, t] @ U.T
            if b is not None:
                a = a + b
            i, f, g, o = _lstm_gates(a)
        else:
            i, f, g, o = np.split(gates[:, t], 4, axis=1)
        tc = np.tanh(cs[:, t])
        dh = dhs[:, t] + carry_h
        dc = carry_c + dh * o * (1 - tc * tc)
        delta = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                                dc * i * (1 - g * g), dh * tc * o * (1 - o)], axis=1)
        running = (t < lengths)[:, None]
        delta = np.where(running, delta, 0)
        dW += delta.T @ h_prev
        dU += delta.T @ x[:, t]
        db += delta.sum(axis=0)
        dx[:, t] = delta @ U
        carry_h = np.where(running, delta @ W, dh)
        carry_c = np.where(running, dc * f, carry_c)
    return dx, carry_h, carry_c, dW, dU, db
