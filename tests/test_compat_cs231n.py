"""dlkern.compat.cs231n against NumPy implementations of the CS231n assignments' API
written here from its published conventions (affine weights (D, M); bn_param running
averages with the biased batch variance; dropout's p the keep probability; the RNN's
Wx, Wh; the LSTM's gate order (i, f, o, g); temporal_softmax_loss divided by N; the
update rules' config dicts and momentum's sign), by numeric gradients, and through
patch() of a module."""
import types

import numpy as np
import pytest

from dlkern import reference
from dlkern.compat import cs231n as C
from conftest import bench_module

cs231n_numpy = bench_module("cs231n_numpy")   # the assignments' layers in plain NumPy

RNG = np.random.default_rng(231)


def rand(*shape, dtype=np.float64):
    return RNG.standard_normal(shape).astype(dtype)


def num_grad(f, x, df, h=1e-6):
    """Central differences of <df, f()> with respect to x (changed in place, restored)."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        fp = np.sum(f() * df)
        x[i] = old - h
        fm = np.sum(f() * df)
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad


def close(a, b, tol=1e-8):
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


# ---- the NumPy side, from the assignments' conventions ---------------------------------

def np_affine(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b


def np_batchnorm_train(x, gamma, beta, bn):
    axes = (0,) + tuple(range(2, x.ndim))
    s = (1, -1) + (1,) * (x.ndim - 2)
    mu, var = x.mean(axis=axes), x.var(axis=axes)
    out = gamma.reshape(s) * (x - mu.reshape(s)) / np.sqrt(var.reshape(s) + bn["eps"]) + \
        beta.reshape(s)
    m = bn["momentum"]
    return out, m * bn["running_mean"] + (1 - m) * mu, m * bn["running_var"] + (1 - m) * var


def np_svm_loss(x, y):
    N = x.shape[0]
    m = np.maximum(0, x - x[np.arange(N), y][:, None] + 1)
    m[np.arange(N), y] = 0
    dx = (m > 0).astype(float)
    dx[np.arange(N), y] = -dx.sum(axis=1)
    return m.sum() / N, dx / N


# ---- layers ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_affine_relu_and_their_gradients(dtype):
    x, w, b = rand(4, 3, 5, dtype=dtype), rand(15, 6, dtype=dtype), rand(6, dtype=dtype)
    out, cache = C.affine_forward(x, w, b)
    tol = 1e-5 if dtype == np.float32 else 1e-10
    close(out, np_affine(x, w, b), tol)
    dout = rand(4, 6, dtype=dtype)
    dx, dw, db = C.affine_backward(dout, cache)
    assert dx.shape == x.shape and dw.shape == w.shape
    close(dx, (dout @ w.T).reshape(x.shape), tol)
    close(dw, x.reshape(4, -1).T @ dout, tol)
    close(db, dout.sum(axis=0), tol)
    r, rc = C.relu_forward(x)
    close(C.relu_backward(x, rc), x * (x > 0), tol)


def test_mixed_dtypes_promote_as_numpy_does():
    out, _ = C.affine_forward(rand(3, 4), rand(4, 2, dtype=np.float32), rand(2))
    assert out.dtype == np.float64
    out, _ = C.affine_forward(rand(3, 4, dtype=np.float32), rand(4, 2, dtype=np.float32),
                              rand(2, dtype=np.float32))
    assert out.dtype == np.float32


@pytest.mark.parametrize("shape", [(50, 7), (6, 3, 4, 5)])
def test_batchnorm_train_running_averages_and_test_mode(shape):
    fwd = C.batchnorm_forward if len(shape) == 2 else C.spatial_batchnorm_forward
    bwd = C.batchnorm_backward if len(shape) == 2 else C.spatial_batchnorm_backward
    Cn = shape[1]
    gamma, beta = rand(Cn), rand(Cn)
    bn = {"mode": "train"}
    want = {"eps": 1e-5, "momentum": 0.9, "running_mean": np.zeros(Cn),
            "running_var": np.zeros(Cn)}
    for _ in range(3):
        x = rand(*shape) * 2 + 1
        out, cache = fwd(x, gamma, beta, bn)
        ref, want["running_mean"], want["running_var"] = np_batchnorm_train(x, gamma, beta,
                                                                            want)
        close(out, ref)
    close(bn["running_mean"], want["running_mean"])
    close(bn["running_var"], want["running_var"])
    dout = rand(*shape)
    dx, dg, db = bwd(dout, cache)
    close(dx, num_grad(lambda: fwd(x, gamma, beta, dict(bn))[0], x, dout), 1e-6)
    close(dg, num_grad(lambda: fwd(x, gamma, beta, dict(bn))[0], gamma, dout), 1e-6)
    bn["mode"] = "test"
    s = (1, -1) + (1,) * (len(shape) - 2)
    out, _ = fwd(x, gamma, beta, bn)
    close(out, gamma.reshape(s) * (x - bn["running_mean"].reshape(s))
          / np.sqrt(bn["running_var"].reshape(s) + 1e-5) + beta.reshape(s))
    with pytest.raises(ValueError, match="Invalid forward batchnorm mode"):
        fwd(x, gamma, beta, {"mode": "eval"})


def test_dropout_p_is_the_keep_probability():
    x = np.ones((400, 500))
    out, cache = C.dropout_forward(x, {"p": 0.3, "mode": "train", "seed": 123})
    kept = out != 0
    assert abs(kept.mean() - 0.3) < 0.01
    close(out[kept], 1 / 0.3)
    close(C.dropout_backward(np.ones_like(x), cache), out)
    again, _ = C.dropout_forward(x, {"p": 0.3, "mode": "train", "seed": 123})
    np.testing.assert_array_equal(again, out)
    other, _ = C.dropout_forward(x, {"p": 0.3, "mode": "train"})
    assert (other != out).any()
    same, cache = C.dropout_forward(x, {"p": 0.3, "mode": "test"})
    assert same is x or np.array_equal(same, x)


def test_conv_and_pool_params_and_gradients():
    x, w, b = rand(2, 3, 7, 6), rand(4, 3, 3, 3), rand(4)
    cp = {"stride": 2, "pad": 1}
    out, cache = C.conv_forward_fast(x, w, b, cp)
    close(out, reference.conv2d(x, w, b, 2, 1))
    dout = rand(*out.shape)
    dx, dw, db = C.conv_backward_fast(dout, cache)
    close(dx, num_grad(lambda: C.conv_forward_fast(x, w, b, cp)[0], x, dout), 1e-6)
    close(dw, num_grad(lambda: C.conv_forward_fast(x, w, b, cp)[0], w, dout), 1e-6)
    pp = {"pool_height": 2, "pool_width": 2, "stride": 2}
    y, pc = C.max_pool_forward_fast(x, pp)
    close(y, x[:, :, :6, :6].reshape(2, 3, 3, 2, 3, 2).max(axis=(3, 5)))
    dy = rand(*y.shape)
    close(C.max_pool_backward_fast(dy, pc), num_grad(lambda: C.max_pool_forward_fast(x, pp)[0],
                                                     x, dy), 1e-6)
    out, cache = C.conv_relu_pool_forward(x, w, b, cp, pp)
    assert len(C.conv_relu_pool_backward(rand(*out.shape), cache)) == 3


def test_losses():
    x, y = rand(10, 5), RNG.integers(0, 5, 10)
    loss, dx = C.svm_loss(x, y)
    want, wdx = np_svm_loss(x, y)
    close(loss, want)
    close(dx, wdx)
    loss, dx = C.softmax_loss(x, y)
    close(dx, num_grad(lambda: np.array(C.softmax_loss(x, y)[0]), x, np.array(1.0)), 1e-6)
    N, T, V = 3, 4, 6
    x, y = rand(N, T, V), RNG.integers(0, V, (N, T))
    mask = RNG.random((N, T)) > 0.4
    loss, dx = C.temporal_softmax_loss(x, y, mask)
    want, wdx = cs231n_numpy.temporal_softmax_loss(x, y, mask)
    close(loss, want)
    close(dx, wdx)


def test_sequence_layers_follow_the_assignments_layouts():
    N, T, D, H, V = 3, 5, 4, 6, 10
    x, h0, Wx, Wh, b = rand(N, D), rand(N, H), rand(D, H), rand(H, H), rand(H)
    nh, cache = C.rnn_step_forward(x, h0, Wx, Wh, b)
    close(nh, np.tanh(x @ Wx + h0 @ Wh + b))
    dnh = rand(N, H)
    grads = C.rnn_step_backward(dnh, cache)
    for k, a in enumerate([x, h0, Wx, Wh, b]):
        close(grads[k], num_grad(lambda: C.rnn_step_forward(x, h0, Wx, Wh, b)[0], a, dnh),
              1e-6)
    xs = rand(N, T, D)
    hs, cache = C.rnn_forward(xs, h0, Wx, Wh, b)
    close(hs[:, 1], np.tanh(xs[:, 1] @ Wx + hs[:, 0] @ Wh + b))
    dh = rand(N, T, H)
    grads = C.rnn_backward(dh, cache)
    close(grads[3], num_grad(lambda: C.rnn_forward(xs, h0, Wx, Wh, b)[0], Wh, dh), 1e-6)

    Wx4, Wh4, b4, c0 = rand(D, 4 * H) * 0.5, rand(H, 4 * H) * 0.5, rand(4 * H), rand(N, H)
    nh, nc, cache = C.lstm_step_forward(x, h0, c0, Wx4, Wh4, b4)
    wh, wc, _ = cs231n_numpy.lstm_step_forward(x, h0, c0, Wx4, Wh4, b4)
    close(nh, wh)
    close(nc, wc)
    dnh, dnc = rand(N, H), rand(N, H)
    grads = C.lstm_step_backward(dnh, dnc, cache)

    def step_loss():
        h, c, _ = C.lstm_step_forward(x, h0, c0, Wx4, Wh4, b4)
        return np.concatenate([h, c])
    for k, a in enumerate([x, h0, c0, Wx4, Wh4, b4]):
        close(grads[k], num_grad(step_loss, a, np.concatenate([dnh, dnc])), 1e-6)
    hs, cache = C.lstm_forward(xs, h0, Wx4, Wh4, b4)
    h, c = h0, np.zeros_like(h0)
    for t in range(T):
        h, c, _ = cs231n_numpy.lstm_step_forward(xs[:, t], h, c, Wx4, Wh4, b4)
        close(hs[:, t], h)
    grads = C.lstm_backward(dh, cache)
    close(grads[2], num_grad(lambda: C.lstm_forward(xs, h0, Wx4, Wh4, b4)[0], Wx4, dh), 1e-6)

    words, W = RNG.integers(0, V, (N, T)), rand(V, D)
    out, cache = C.word_embedding_forward(words, W)
    close(out, W[words])
    dW = C.word_embedding_backward(rand(N, T, D), cache)
    assert dW.shape == (V, D)
    out, cache = C.temporal_affine_forward(xs, rand(D, 7), rand(7))
    assert out.shape == (N, T, 7) and len(C.temporal_affine_backward(rand(N, T, 7), cache)) == 3


# ---- update rules ---------------------------------------------------------------------

def test_update_rules_keep_the_assignments_configs():
    w, dw = rand(5, 4), rand(5, 4)
    nw, cfg = C.sgd(w.copy(), dw)
    close(nw, w - 1e-2 * dw)
    v = np.zeros_like(w)
    cfg, cur = None, w.copy()
    for _ in range(3):
        cur_np = cur + (0.9 * v - 1e-2 * dw)
        v = 0.9 * v - 1e-2 * dw
        cur, cfg = C.sgd_momentum(cur, dw, cfg)
        close(cur, cur_np)
        close(cfg["velocity"], v)
    cache, cfg, cur = np.zeros_like(w), None, w.copy()
    for _ in range(3):
        cache = 0.99 * cache + 0.01 * dw * dw
        want = cur - 1e-2 * dw / (np.sqrt(cache) + 1e-8)
        cur, cfg = C.rmsprop(cur, dw, cfg)
        close(cur, want)
    m, vv, cfg, cur = np.zeros_like(w), np.zeros_like(w), {"learning_rate": 5e-3}, w.copy()
    for t in range(1, 4):
        m = 0.9 * m + 0.1 * dw
        vv = 0.999 * vv + 0.001 * dw * dw
        want = cur - 5e-3 * (m / (1 - 0.9 ** t)) / (np.sqrt(vv / (1 - 0.999 ** t)) + 1e-8)
        cur, cfg = C.adam(cur, dw, cfg)
        close(cur, want)
    assert cfg["t"] == 3


# ---- patch ------------------------------------------------------------------------------

def test_patch_rebinds_a_module_s_names_and_unpatch_restores_them():
    """A 'layers' module and a two-layer net's loss written on it, as in the assignments:
    after patch, the loss runs on dlkern's functions and gives the same numbers."""
    layers = types.ModuleType("layers")
    layers.affine_forward = lambda x, w, b: (np_affine(x, w, b), (x, w, b))

    def affine_backward(dout, cache):
        x, w, b = cache
        return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(0)
    layers.affine_backward = affine_backward
    layers.relu_forward = lambda x: (np.maximum(x, 0), x)
    layers.relu_backward = lambda dout, x: dout * (x > 0)
    layers.softmax_loss = lambda x, y: (
        float(-np.mean(np.log(np.exp(x - x.max(1, keepdims=True))[np.arange(len(y)), y]
                              / np.exp(x - x.max(1, keepdims=True)).sum(1)))), None)
    layers.helper = lambda: "untouched"
    code = """
def loss(X, y, W1, b1, W2, b2):
    h, c1 = affine_forward(X, W1, b1)
    a, c2 = relu_forward(h)
    s, c3 = affine_forward(a, W2, b2)
    return softmax_loss(s, y)[0]
"""
    exec(code, layers.__dict__)
    X, y = rand(8, 3, 2), RNG.integers(0, 4, 8)
    args = (X, y, rand(6, 5), rand(5), rand(5, 4), rand(4))
    before = layers.loss(*args)
    original = layers.affine_forward
    names = C.patch(layers)
    assert set(names) == {"affine_forward", "affine_backward", "relu_forward",
                          "relu_backward", "softmax_loss"}
    assert layers.affine_forward is C.affine_forward and layers.helper() == "untouched"
    close(layers.loss(*args), before)
    C.unpatch(layers)
    assert layers.affine_forward is original
