"""The layers of the CS231n assignments' API that a captioning RNN calls, in plain NumPy
as the assignments have them written: what a model on that API runs before
`dlkern.compat.cs231n.patch`.  Written here from the published conventions (not
copied): (out, cache) pairs; affine weights (D, M); rnn_forward a loop over
rnn_step_forward and rnn_backward one over rnn_step_backward, the LSTM's likewise (gates
i, f, o, g); the word embedding's gradient by np.add.at; temporal_softmax_loss summed
over the unmasked steps and divided by N.  bench/captioning.py times a step on it;
tests/test_bench_cs231n.py checks it against dlkern.compat.cs231n.
"""
import numpy as np


def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(0)


def word_embedding_forward(x, W):
    return W[x], (x, W.shape[0])


def word_embedding_backward(dout, cache):
    x, V = cache
    dW = np.zeros((V, dout.shape[-1]), dout.dtype)
    np.add.at(dW, x, dout)
    return dW


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h ** 2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(0)


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h = np.empty((N, T, h0.shape[1]), h0.dtype)
    caches, prev = [], h0
    for t in range(T):
        prev, c = rnn_step_forward(x[:, t], prev, Wx, Wh, b)
        h[:, t] = prev
        caches.append(c)
    return h, caches


def rnn_backward(dh, caches):
    N, T, _ = dh.shape
    x, _, Wx, Wh, _ = caches[0]
    dx = np.empty((N, T, x.shape[1]), dh.dtype)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0], dh.dtype)
    dprev = np.zeros((N, Wh.shape[0]), dh.dtype)
    for t in reversed(range(T)):
        dx[:, t], dprev, dwx, dwh, dbt = rnn_step_backward(dh[:, t] + dprev, caches[t])
        dWx += dwx
        dWh += dwh
        db += dbt
    return dx, dprev, dWx, dWh, db


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """Gates (i, f, o, g) side by side in the columns of x·Wx + prev_h·Wh + b."""
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), _sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    tc = np.tanh(next_c)
    return o * tc, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tc)


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tc = cache
    dc = dnext_c + dnext_h * o * (1 - tc ** 2)
    da = np.concatenate([dc * g * i * (1 - i), dc * prev_c * f * (1 - f),
                         dnext_h * tc * o * (1 - o), dc * i * (1 - g ** 2)], axis=1)
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(0)


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h = np.empty((N, T, h0.shape[1]), h0.dtype)
    caches, prev, c = [], h0, np.zeros_like(h0)
    for t in range(T):
        prev, c, cache = lstm_step_forward(x[:, t], prev, c, Wx, Wh, b)
        h[:, t] = prev
        caches.append(cache)
    return h, caches


def lstm_backward(dh, caches):
    N, T, H = dh.shape
    x, _, _, Wx, Wh = caches[0][:5]
    dx = np.empty((N, T, x.shape[1]), dh.dtype)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[1], dh.dtype)
    dprev, dc = np.zeros((N, H), dh.dtype), np.zeros((N, H), dh.dtype)
    for t in reversed(range(T)):
        dx[:, t], dprev, dc, dwx, dwh, dbt = lstm_step_backward(dh[:, t] + dprev, dc,
                                                                caches[t])
        dWx += dwx
        dWh += dwh
        db += dbt
    return dx, dprev, dWx, dWh, db


def temporal_affine_forward(x, w, b):
    N, T, D = x.shape
    return (x.reshape(N * T, D) @ w + b).reshape(N, T, -1), (x, w)


def temporal_affine_backward(dout, cache):
    x, w = cache
    N, T, D = x.shape
    d2 = dout.reshape(N * T, -1)
    return (d2 @ w.T).reshape(N, T, D), x.reshape(N * T, D).T @ d2, d2.sum(0)


def temporal_softmax_loss(x, y, mask):
    N, T, V = x.shape
    xf, yf, mf = x.reshape(N * T, V), y.reshape(-1), mask.reshape(-1)
    p = np.exp(xf - xf.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.sum(mf * np.log(p[np.arange(N * T), yf])) / N
    dx = p.copy()
    dx[np.arange(N * T), yf] -= 1
    return loss, (dx / N * mf[:, None]).reshape(N, T, V)
