"""The layer, loss and update-rule API of Stanford's CS231n assignments, on dlkern's
kernels: the same names, arguments, return values and `cache` conventions, so that a
model written on the assignments' `layers`, `fast_layers`, `layer_utils`, `rnn_layers`
and `optim` modules runs on dlkern after one line:

    from dlkern.compat import cs231n
    cs231n.patch(layers)             # rebinds the names `layers` defines; unpatch undoes it

Conventions followed (as the published assignments state them):
- affine weights are (D, M) with out = x·w + b, x of shape (N, d_1, …, d_k) flattened to
  (N, D) — dlkern's weight_layout="in_out", read in place;
- images are NCHW; `conv_param` has "stride" and "pad"; `pool_param` has "pool_height",
  "pool_width" and "stride";
- `bn_param` has "mode" ("train" or "test"), "eps" (1e-5), "momentum" (0.9) and the running
  averages "running_mean", "running_var" (created as zeros), updated in training as
  r = momentum·r + (1 − momentum)·batch value with the biased batch variance;
- `dropout_param` has "p", the probability of KEEPING a unit (the 2019-and-later
  assignments; dlkern's own dropout takes the probability of dropping one, 1 − p), "mode"
  and an optional "seed" (the same seed gives the same mask; without one, a seed is drawn
  from NumPy's global generator, as the assignments' np.random.rand would draw the mask);
- the RNN has Wx (D, H), Wh (H, H): next_h = tanh(x·Wx + prev_h·Wh + b); the LSTM has
  Wx (D, 4H), Wh (H, 4H) with the gates in the order (i, f, o, g) — dlkern's kernels use
  torch's (i, f, g, o), and the weights are reordered on the way in and the gradients on
  the way out; lstm_forward starts from c0 = 0;
- temporal_softmax_loss sums the masked cross-entropy over (N, T) and divides by N;
- the update rules take (w, dw, config) and return (next_w, config), filling config's
  defaults; sgd updates w in place (as theirs does), the others return a new array;
  sgd_momentum keeps the assignments' velocity v = momentum·v − lr·dw (dlkern's
  momentum_step keeps −v).
Arrays of different float dtypes are promoted as NumPy promotes them (float32 with
float64 gives float64); integer inputs are taken as float64.
"""
import numpy as np

from .. import ops

__all__ = [
    "affine_forward", "affine_backward", "relu_forward", "relu_backward",
    "affine_relu_forward", "affine_relu_backward",
    "batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt",
    "spatial_batchnorm_forward", "spatial_batchnorm_backward",
    "layernorm_forward", "layernorm_backward",
    "dropout_forward", "dropout_backward",
    "conv_forward_naive", "conv_backward_naive", "conv_forward_fast", "conv_backward_fast",
    "conv_forward_im2col", "conv_backward_im2col", "conv_forward_strides",
    "conv_backward_strides", "conv_relu_forward", "conv_relu_backward",
    "conv_relu_pool_forward", "conv_relu_pool_backward",
    "max_pool_forward_naive", "max_pool_backward_naive", "max_pool_forward_fast",
    "max_pool_backward_fast", "max_pool_forward_reshape", "max_pool_backward_reshape",
    "svm_loss", "softmax_loss",
    "word_embedding_forward", "word_embedding_backward",
    "temporal_affine_forward", "temporal_affine_backward", "temporal_softmax_loss",
    "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
    "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward",
    "sgd", "sgd_momentum", "rmsprop", "adam",
]


def _floats(*arrays):
    """The arrays in one float dtype, the one NumPy's promotion gives (float64 for
    integers)."""
    dt = np.result_type(*arrays)
    if dt != np.float32:
        dt = np.dtype(np.float64)
    return [np.asarray(a, dt) for a in arrays]


# ---- affine and ReLU ----------------------------------------------------------------

def affine_forward(x, w, b):
    """out = x.reshape(N, D) · w + b with w (D, M).  Returns (out, cache)."""
    x2, w, b = _floats(x.reshape(x.shape[0], -1), w, b)
    return ops.linear(x2, w, b, weight_layout="in_out"), (x, w, b)


def affine_backward(dout, cache):
    """Returns (dx of x's shape, dw (D, M), db (M,))."""
    x, w, _ = cache
    dout, x2, w = _floats(dout, x.reshape(x.shape[0], -1), w)
    dx, dw, db = ops.linear_backward(dout, x2, w, weight_layout="in_out")
    return dx.reshape(x.shape), dw, db


def relu_forward(x):
    """Returns (max(x, 0), cache)."""
    (x,) = _floats(x)
    return ops.relu(x), x


def relu_backward(dout, cache):
    dout, x = _floats(dout, cache)
    return ops.relu_backward(dout, x)


def affine_relu_forward(x, w, b):
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    fc_cache, relu_cache = cache
    return affine_backward(relu_backward(dout, relu_cache), fc_cache)


# ---- normalisation ------------------------------------------------------------------

def _batchnorm(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    x, gamma, beta = _floats(x, gamma, beta)
    C = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(C, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(C, dtype=x.dtype))
    if mode == "train":
        out, mean, invstd = ops.batch_norm2d(x, gamma, beta, eps)
        var = 1.0 / invstd.astype(np.float64) ** 2 - eps      # the biased batch variance
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
        cache = ("train", x, gamma, mean, invstd)
    elif mode == "test":
        rm, rv = _floats(running_mean, running_var)
        out = ops.batch_norm_inference(x, gamma, beta, rm.astype(x.dtype),
                                       rv.astype(x.dtype), eps)
        cache = ("test", x, gamma, rm, rv, eps)
    else:
        raise ValueError(f'Invalid forward batchnorm mode "{mode}"')
    bn_param["running_mean"] = np.asarray(running_mean, x.dtype)
    bn_param["running_var"] = np.asarray(running_var, x.dtype)
    return out, cache


def _batchnorm_backward(dout, cache):
    if cache[0] == "train":
        _, x, gamma, mean, invstd = cache
        return ops.batch_norm2d_backward(np.asarray(dout, x.dtype), x, gamma, mean, invstd)
    _, x, gamma, rm, rv, eps = cache     # test mode: an affine map with fixed statistics
    s = (1, -1) + (1,) * (x.ndim - 2)
    axes = (0,) + tuple(range(2, x.ndim))
    invstd = 1.0 / np.sqrt(rv + eps)
    xhat = (x - rm.reshape(s)) * invstd.reshape(s)
    return ((dout * (gamma * invstd).reshape(s)).astype(x.dtype),
            (dout * xhat).sum(axis=axes).astype(x.dtype), dout.sum(axis=axes).astype(x.dtype))


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch-norm of (N, D) features, bn_param as the module docstring says.
    Returns (out, cache)."""
    return _batchnorm(x, gamma, beta, bn_param)


def batchnorm_backward(dout, cache):
    """Returns (dx, dgamma, dbeta)."""
    return _batchnorm_backward(dout, cache)


batchnorm_backward_alt = batchnorm_backward


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Batch-norm of (N, C, H, W) images per channel.  Returns (out, cache)."""
    return _batchnorm(x, gamma, beta, bn_param)


def spatial_batchnorm_backward(dout, cache):
    return _batchnorm_backward(dout, cache)


def layernorm_forward(x, gamma, beta, ln_param):
    """Layer-norm over the last axis of (N, D); ln_param may hold "eps" (1e-5)."""
    x, gamma, beta = _floats(x, gamma, beta)
    out, mean, invstd = ops.layer_norm(x, gamma, beta, ln_param.get("eps", 1e-5))
    return out, (x, gamma, mean, invstd)


def layernorm_backward(dout, cache):
    x, gamma, mean, invstd = cache
    return ops.layer_norm_backward(dout.astype(x.dtype, copy=False), x, gamma, mean, invstd)


# ---- dropout ------------------------------------------------------------------------

def dropout_forward(x, dropout_param):
    """Inverted dropout keeping each unit with probability dropout_param["p"].
    Returns (out, cache)."""
    p, mode = dropout_param["p"], dropout_param["mode"]
    (x,) = _floats(x)
    if mode == "train":
        seed = dropout_param.get("seed")
        seed = int(np.random.randint(2 ** 31)) if seed is None else int(seed)
        out, mask = ops.dropout(x, 1.0 - p, seed)
        return out, (dropout_param, mask)
    if mode == "test":
        return x, (dropout_param, None)
    raise ValueError(f'Invalid forward dropout mode "{mode}"')


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    if dropout_param["mode"] == "train":
        return ops.dropout_backward(dout, mask, 1.0 - dropout_param["p"])
    return dout


# ---- convolution and pooling ----------------------------------------------------------

def conv_forward_fast(x, w, b, conv_param):
    """out = conv(x, w) + b, x (N, C, H, W), w (F, C, HH, WW); conv_param "stride", "pad".
    Returns (out, cache)."""
    x, w, b = _floats(x, w, b)
    s, p = conv_param["stride"], conv_param["pad"]
    return ops.conv2d(x, w, b, s, p), (x, w, conv_param)


def conv_backward_fast(dout, cache):
    """Returns (dx, dw, db)."""
    x, w, conv_param = cache
    return ops.conv2d_backward(dout.astype(x.dtype, copy=False), x, w, conv_param["stride"],
                               conv_param["pad"])


conv_forward_naive = conv_forward_im2col = conv_forward_strides = conv_forward_fast
conv_backward_naive = conv_backward_im2col = conv_backward_strides = conv_backward_fast


def max_pool_forward_fast(x, pool_param):
    """Max pooling; pool_param "pool_height", "pool_width", "stride".  Returns (out, cache)."""
    (x,) = _floats(x)
    k = (pool_param["pool_height"], pool_param["pool_width"])
    out, idx = ops.max_pool2d(x, k, pool_param["stride"])
    return out, (x.shape, idx)


def max_pool_backward_fast(dout, cache):
    shape, idx = cache
    return ops.max_pool2d_backward(dout, idx, shape)


max_pool_forward_naive = max_pool_forward_reshape = max_pool_forward_fast
max_pool_backward_naive = max_pool_backward_reshape = max_pool_backward_fast


def conv_relu_forward(x, w, b, conv_param):
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    out, relu_cache = relu_forward(a)
    return out, (conv_cache, relu_cache)


def conv_relu_backward(dout, cache):
    conv_cache, relu_cache = cache
    return conv_backward_fast(relu_backward(dout, relu_cache), conv_cache)


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    s, relu_cache = relu_forward(a)
    out, pool_cache = max_pool_forward_fast(s, pool_param)
    return out, (conv_cache, relu_cache, pool_cache)


def conv_relu_pool_backward(dout, cache):
    conv_cache, relu_cache, pool_cache = cache
    ds = max_pool_backward_fast(dout, pool_cache)
    return conv_backward_fast(relu_backward(ds, relu_cache), conv_cache)


# ---- losses -------------------------------------------------------------------------

def svm_loss(x, y):
    """Multiclass hinge loss with margin 1, the mean over the N rows.  Returns (loss, dx)."""
    (x,) = _floats(x)
    N = x.shape[0]
    rows = np.arange(N)
    margins = np.maximum(0, x - x[rows, y][:, None] + 1.0)
    margins[rows, y] = 0
    positive = (margins > 0).astype(x.dtype)
    dx = positive
    dx[rows, y] -= positive.sum(axis=1)
    return float(margins.sum() / N), dx / N


def softmax_loss(x, y):
    """Softmax cross-entropy, the mean over the N rows.  Returns (loss, dx)."""
    (x,) = _floats(x)
    return ops.cross_entropy(x, np.asarray(y))


# ---- sequences ----------------------------------------------------------------------

def word_embedding_forward(x, W):
    """out[n, t] = W[x[n, t]], x (N, T) integer, W (V, D).  Returns (out, cache)."""
    return ops.embedding(np.asarray(x), W), (np.asarray(x), W.shape[0])


def word_embedding_backward(dout, cache):
    """Returns dW (V, D)."""
    x, V = cache
    return ops.embedding_backward(dout, x, V)


def temporal_affine_forward(x, w, b):
    """out[n, t] = x[n, t] · w + b for x (N, T, D), w (D, M).  Returns (out, cache)."""
    N, T, D = x.shape
    x2, w, b = _floats(x.reshape(N * T, D), w, b)
    out = ops.linear(x2, w, b, weight_layout="in_out")
    return out.reshape(N, T, -1), (x, w, b)


def temporal_affine_backward(dout, cache):
    x, w, _ = cache
    N, T, D = x.shape
    dout, x2, w = _floats(dout.reshape(N * T, -1), x.reshape(N * T, D), w)
    dx, dw, db = ops.linear_backward(dout, x2, w, weight_layout="in_out")
    return dx.reshape(N, T, D), dw, db


def temporal_softmax_loss(x, y, mask, verbose=False):
    """Σ over the (n, t) with mask[n, t] of −log softmax(x[n, t])[y[n, t]], divided by N.
    Returns (loss, dx)."""
    N, T, V = x.shape
    (x,) = _floats(x)
    labels = np.where(np.asarray(mask).reshape(-1), np.asarray(y).reshape(-1), -1)
    kept = int(np.count_nonzero(labels >= 0))
    if kept == 0:
        return 0.0, np.zeros_like(x)
    loss, dx = ops.cross_entropy(x.reshape(N * T, V), labels, ignore_index=-1)
    scale = kept / N                       # dlkern's mean is over the kept rows
    if verbose:
        print("dx_flat: ", dx.shape)
    dx *= x.dtype.type(scale)              # in place: a second (N·T, V) array costs more
    return loss * scale, dx.reshape(N, T, V)


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """next_h = tanh(x·Wx + prev_h·Wh + b).  Returns (next_h, cache)."""
    x, prev_h, Wx, Wh, b = _floats(x, prev_h, Wx, Wh, b)
    hs = ops.rnn_forward(x[:, None], prev_h, Wh.T, Wx.T, b)
    return hs[:, 0], (x[:, None], prev_h, Wx, Wh, hs)


def rnn_step_backward(dnext_h, cache):
    """Returns (dx, dprev_h, dWx, dWh, db)."""
    x, h0, Wx, Wh, hs = cache
    dx, dh0, dW, dU, db = ops.rnn_backward(dnext_h[:, None].astype(x.dtype, copy=False), x, hs,
                                           h0, Wh.T, Wx.T)
    return dx[:, 0], dh0, dU.T, dW.T, db


def rnn_forward(x, h0, Wx, Wh, b):
    """Every step of the tanh RNN over x (N, T, D).  Returns (h (N, T, H), cache)."""
    x, h0, Wx, Wh, b = _floats(x, h0, Wx, Wh, b)
    hs = ops.rnn_forward(x, h0, Wh.T, Wx.T, b)
    return hs, (x, h0, Wx, Wh, hs)


def rnn_backward(dh, cache):
    """dh (N, T, H): the upstream gradient of every step.  Returns (dx, dh0, dWx, dWh, db)."""
    x, h0, Wx, Wh, hs = cache
    dx, dh0, dW, dU, db = ops.rnn_backward(dh.astype(x.dtype, copy=False), x, hs, h0, Wh.T,
                                           Wx.T)
    return dx, dh0, dU.T, dW.T, db


def _swap_og(a):
    """The last axis's gate blocks (i, f, o, g) as (i, f, g, o), or back: the one swap
    both ways (block copies, not a gather)."""
    H = a.shape[-1] // 4
    return np.concatenate([a[..., :2 * H], a[..., 3 * H:], a[..., 2 * H:3 * H]], axis=-1)


def _lstm_weights(Wx, Wh, b):
    """dlkern's W (4H, H), U (4H, D), b: transposed views of the reordered Wh, Wx, which
    the kernels read in place."""
    return _swap_og(Wh).T, _swap_og(Wx).T, _swap_og(b)


def _lstm_grads(dW, dU, db):
    """dWx, dWh, db back in the assignments' layout (dW, dU come transposed, as W, U
    went in)."""
    return _swap_og(dU.T), _swap_og(dW.T), _swap_og(db)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One LSTM step, gates (i, f, o, g) from x·Wx + prev_h·Wh + b.
    Returns (next_h, next_c, cache)."""
    x, prev_h, prev_c, Wx, Wh, b = _floats(x, prev_h, prev_c, Wx, Wh, b)
    W, U, bb = _lstm_weights(Wx, Wh, b)
    hs, cs, gates = ops.lstm_forward(x[:, None], prev_h, prev_c, W, U, bb, return_gates=True)
    return hs[:, 0], cs[:, 0], (x[:, None], prev_h, prev_c, W, U, bb, hs, cs, gates)


def lstm_step_backward(dnext_h, dnext_c, cache):
    """Returns (dx, dprev_h, dprev_c, dWx, dWh, db)."""
    x, h0, c0, W, U, bb, hs, cs, gates = cache
    dx, dh0, dc0, dW, dU, db = ops.lstm_backward(
        dnext_h[:, None].astype(x.dtype, copy=False), x, hs, cs, h0, c0, W, U, bb,
        dc_last=dnext_c.astype(x.dtype, copy=False), gates=gates)
    return (dx[:, 0], dh0, dc0) + _lstm_grads(dW, dU, db)


def lstm_forward(x, h0, Wx, Wh, b):
    """The LSTM over x (N, T, D) from h0 and c0 = 0.  Returns (h (N, T, H), cache)."""
    x, h0, Wx, Wh, b = _floats(x, h0, Wx, Wh, b)
    W, U, bb = _lstm_weights(Wx, Wh, b)
    c0 = np.zeros_like(h0)
    hs, cs, gates = ops.lstm_forward(x, h0, c0, W, U, bb, return_gates=True)
    return hs, (x, h0, c0, W, U, bb, hs, cs, gates)


def lstm_backward(dh, cache):
    """Returns (dx, dh0, dWx, dWh, db)."""
    x, h0, c0, W, U, bb, hs, cs, gates = cache
    dx, dh0, _, dW, dU, db = ops.lstm_backward(dh.astype(x.dtype, copy=False), x, hs, cs, h0,
                                               c0, W, U, bb, gates=gates)
    return (dx, dh0) + _lstm_grads(dW, dU, db)


# ---- update rules -------------------------------------------------------------------

def sgd(w, dw, config=None):
    """w -= learning_rate · dw (in place, as the assignments' sgd).  Returns (w, config)."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    ops.sgd_step(w, np.asarray(dw, w.dtype), config["learning_rate"])
    return w, config


def sgd_momentum(w, dw, config=None):
    """v = momentum·v − learning_rate·dw; next_w = w + v.  Returns (next_w, config)."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = -np.asarray(config.get("velocity", np.zeros_like(w)), w.dtype)   # dlkern's sign
    next_w = w.copy()
    ops.momentum_step(next_w, np.asarray(dw, w.dtype), v, config["learning_rate"],
                      beta=config["momentum"])
    config["velocity"] = -v
    return next_w, config


def rmsprop(w, dw, config=None):
    """cache = decay_rate·cache + (1 − decay_rate)·dw²; next_w = w − lr·dw/(√cache + ε).
    Returns (next_w, config)."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    cache = np.array(config.get("cache", np.zeros_like(w)), w.dtype)
    next_w = w.copy()
    ops.rmsprop_step(next_w, np.asarray(dw, w.dtype), cache, config["learning_rate"],
                     beta=config["decay_rate"], eps=config["epsilon"])
    config["cache"] = cache
    return next_w, config


def adam(w, dw, config=None):
    """Adam with bias correction at t + 1 (config "t" counts the steps taken).
    Returns (next_w, config)."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("t", 0)
    m = np.array(config.get("m", np.zeros_like(w)), w.dtype)
    v = np.array(config.get("v", np.zeros_like(w)), w.dtype)
    config["t"] += 1
    next_w = w.copy()
    ops.adam_step(next_w, np.asarray(dw, w.dtype), m, v, config["t"],
                  lr=config["learning_rate"], beta1=config["beta1"], beta2=config["beta2"],
                  eps=config["epsilon"])
    config["m"], config["v"] = m, v
    return next_w, config


# ---- patching -----------------------------------------------------------------------

def patch(module):
    """Rebinds, in `module`, every name of this API that it defines, to the function
    here; functions of the module that call those names (layer_utils' sandwiches, a
    model's loss) then run on dlkern.  Returns the names rebound; unpatch(module) puts
    the originals back."""
    originals = module.__dict__.setdefault("_dlkern_originals", {})
    names = [n for n in __all__ if n in module.__dict__]
    for n in names:
        originals.setdefault(n, module.__dict__[n])
        setattr(module, n, globals()[n])
    return names


def unpatch(module):
    """Undoes patch(module)."""
    for n, f in module.__dict__.pop("_dlkern_originals", {}).items():
        setattr(module, n, f)
