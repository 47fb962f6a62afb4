"""Sample inputs per public function, shared by `dlkern check` and the tests.

``SAMPLES[name](rng, dtype)`` yields ``(label, run)`` pairs; ``run(module)`` calls
``module.<name>`` on fresh copies of the sample's inputs and returns the arrays the
call produced or updated, so the same sample runs on dlkern.reference, dlkern.native
or dlkern.ops and the results can be compared array by array.
"""
import numpy as np

SAMPLES = {}


def _register(name):
    def deco(fn):
        SAMPLES[name] = fn
        return fn
    return deco


# ---- optimizer steps (seed section 2) --------------------------------------------

_OPTIM = {
    "sgd_step": (0, dict(lr=0.05, weight_decay=0.01)),
    "momentum_step": (1, dict(lr=0.05, beta=0.8, weight_decay=0.01)),
    "adagrad_step": (1, dict(lr=0.05, eps=1e-6)),
    "rmsprop_step": (1, dict(lr=0.01, beta=0.9, eps=1e-6, weight_decay=0.01)),
    "adam_step": (2, dict(lr=0.01, beta1=0.9, beta2=0.99, weight_decay=0.01)),
}
_OPTIM_SHAPES = {
    "one array": [(1000,)],
    "odd sizes": [(1,), (7,), (33, 5), (2, 3, 4)],
    "list of 20": [(1000 + 37 * i,) for i in range(20)],
    "large": [(300_001,)],
}


def _optim_sample(name):
    nstate, hp = _OPTIM[name]

    def samples(rng, dtype):
        for label, shapes in _OPTIM_SHAPES.items():
            params = [rng.standard_normal(s).astype(dtype) for s in shapes]
            grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(5)]
            states = [[np.abs(rng.standard_normal(s)).astype(dtype) for s in shapes]
                      for _ in range(nstate)]

            def run(module, params=params, grads=grads, states=states):
                p = [x.copy() for x in params]
                st = [[x.copy() for x in s] for s in states]
                for k, g in enumerate(grads):
                    kw = dict(hp, step=k + 1) if name == "adam_step" else hp
                    getattr(module, name)(p, g, *st, **kw)
                return p + sum(st, [])
            yield label, run
            if name == "adam_step":
                def run_w(module, params=params, grads=grads, states=states):
                    p = [x.copy() for x in params]
                    st = [[x.copy() for x in s] for s in states]
                    for k, g in enumerate(grads):
                        getattr(module, name)(p, g, *st, step=k + 1, decoupled=True, **hp)
                    return p + sum(st, [])
                yield label + ", AdamW", run_w
    return samples


for _name in _OPTIM:
    _register(_name)(_optim_sample(_name))


# ---- max pooling --------------------------------------------------------------------

_POOL_CASES = [  # label, x shape, kernel, stride, padding
    ("pool_mnist-like 2x2", (4, 3, 28, 28), 2, None, 0),
    ("3x3 s2 p1 (stem)", (2, 3, 17, 19), 3, 2, 1),
    ("rectangular 2x3 s(1,2) p1", (2, 2, 9, 11), (2, 3), (1, 2), (1, 1)),
    ("overlapping 3x3 s1", (1, 4, 10, 10), 3, 1, 1),
    ("batch 1, one channel, odd", (1, 1, 7, 5), 3, 2, 0),
    ("1x1", (2, 2, 4, 4), 1, 1, 0),
    ("window = input", (2, 3, 5, 6), (5, 6), 1, 0),
    ("wide rows 3x3 s2", (1, 2, 9, 70), 3, 2, 1),
    ("3x3 s2 p1, whole planes, rows of 35", (2, 2, 11, 70), 3, 2, 1),
    ("2x3 s2 p(0, 1), whole planes", (2, 3, 8, 33), (2, 3), 2, (0, 1)),
]


def _special_values(x, rng):
    """Ties, a NaN and two −inf columns at a plane's left edge (windows there hold
    nothing else): the cases where pooling rules matter."""
    x = x.copy()
    x[0, 0, :2, :2] = 1.0
    x.reshape(-1)[rng.integers(x.size)] = np.nan
    x[-1, -1, :, :2] = -np.inf
    return x


@_register("max_pool2d")
def _max_pool2d_samples(rng, dtype):
    for label, shape, k, s, p in _POOL_CASES:
        x = _special_values(rng.standard_normal(shape).astype(dtype), rng)
        yield label, lambda m, x=x, k=k, s=s, p=p: m.max_pool2d(x, k, s, p)
    x = rng.standard_normal((2, 3, 12, 20)).astype(dtype)[:, :, :, ::2]
    yield "non-contiguous x", lambda m, x=x: m.max_pool2d(x, 3, 2, 1)


@_register("max_pool2d_backward")
def _max_pool2d_backward_samples(rng, dtype):
    from . import reference
    for label, shape, k, s, p in _POOL_CASES:
        x = _special_values(rng.standard_normal(shape).astype(dtype), rng)
        y, idx = reference.max_pool2d(x, k, s, p)
        dy = rng.standard_normal(y.shape).astype(dtype)
        yield label, lambda m, dy=dy, idx=idx, shape=shape: m.max_pool2d_backward(dy, idx,
                                                                                 shape)
    dy = rng.standard_normal((2, 3, 4, 6)).astype(dtype)
    idx = rng.integers(0, 5 * 5, size=(2, 3, 2, 3))
    dyn = dy[:, :, ::2, ::2]
    yield "non-contiguous dy, repeated indices", lambda m: m.max_pool2d_backward(
        dyn, idx, (2, 3, 5, 5))


# ---- dense layer and activations -------------------------------------------------------

_LINEAR_SHAPES = [("linear_mlp-like", 16, 78, 51), ("batch 1", 1, 5, 3), ("odd", 7, 13, 1),
                  ("wide", 33, 3, 70)]


@_register("linear")
def _linear_samples(rng, dtype):
    for label, B, I, O in _LINEAR_SHAPES:
        x, w, b = (rng.standard_normal(s).astype(dtype) for s in ((B, I), (O, I), (O,)))
        yield label, lambda m, x=x, w=w, b=b: m.linear(x, w, b)
    yield "no bias, transposed x", lambda m, x=x, w=w: m.linear(np.asfortranarray(x), w)


@_register("linear_backward")
def _linear_backward_samples(rng, dtype):
    for label, B, I, O in _LINEAR_SHAPES:
        x, w, dy = (rng.standard_normal(s).astype(dtype) for s in ((B, I), (O, I), (B, O)))
        yield label, lambda m, dy=dy, x=x, w=w: m.linear_backward(dy, x, w)
    yield "non-contiguous dy", lambda m, dy=dy, x=x, w=w: m.linear_backward(
        np.asfortranarray(dy), x, w)


_ELEMENTWISE_SHAPES = [(1,), (37,), (64, 32, 28, 28), (3, 1000)]


def _with_specials(x):
    flat = x.reshape(-1)
    flat[:4] = [0.0, -0.0, 80.0, -80.0][:flat.size]
    if flat.size > 6:
        flat[4:7] = [np.inf, -np.inf, np.nan]
    return x


def _elementwise(name):
    def samples(rng, dtype):
        for shape in _ELEMENTWISE_SHAPES:
            x = _with_specials(rng.standard_normal(shape).astype(dtype) * 3)
            yield f"{shape}", lambda m, x=x: getattr(m, name)(x)
        x = rng.standard_normal((6, 10)).astype(dtype)[:, ::3]
        yield "non-contiguous", lambda m, x=x: getattr(m, name)(x)
    return samples


for _name in ("relu", "sigmoid"):
    _register(_name)(_elementwise(_name))


@_register("relu_backward")
def _relu_backward_samples(rng, dtype):
    for shape in _ELEMENTWISE_SHAPES:
        x = _with_specials(rng.standard_normal(shape).astype(dtype))
        dy = rng.standard_normal(shape).astype(dtype)
        yield f"{shape}", lambda m, dy=dy, x=x: m.relu_backward(dy, x)


@_register("softmax")
def _softmax_samples(rng, dtype):
    for shape, axis in [((4, 10), -1), ((3, 5, 7), 1), ((8,), 0), ((2, 3, 1), 2),
                        ((128, 1000), -1)]:
        x = (rng.standard_normal(shape) * 10).astype(dtype)
        yield f"{shape} axis {axis}", lambda m, x=x, axis=axis: m.softmax(x, axis)
    x = np.array([[1000.0, -1000.0, 0.0], [np.nan, 1.0, 2.0]], dtype)
    yield "huge and NaN", lambda m, x=x: m.softmax(x)


# ---- batch normalisation --------------------------------------------------------------

_BN_SHAPES = [("bn_mnist-like", (8, 32, 28, 28)), ("batch 1", (1, 3, 5, 5)),
              ("1x1 planes", (16, 5, 1, 1)), ("odd", (3, 7, 9, 11))]


@_register("batch_norm2d")
def _batch_norm2d_samples(rng, dtype):
    for label, shape in _BN_SHAPES:
        x = (rng.standard_normal(shape) * 3 + 100).astype(dtype)   # offset: cancellation test
        g, b = (rng.standard_normal(shape[1]).astype(dtype) for _ in range(2))
        yield label, lambda m, x=x, g=g, b=b: m.batch_norm2d(x, g, b, 1e-5)
    xn = rng.standard_normal((4, 3, 6, 10)).astype(dtype)[:, :, :, ::2]
    yield "non-contiguous", lambda m, x=xn, g=g[:3], b=b[:3]: m.batch_norm2d(x, g, b)


@_register("batch_norm2d_backward")
def _batch_norm2d_backward_samples(rng, dtype):
    from . import reference
    for label, shape in _BN_SHAPES:
        x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
        g, b = (rng.standard_normal(shape[1]).astype(dtype) for _ in range(2))
        _, mean, invstd = reference.batch_norm2d(x, g, b)
        dy = rng.standard_normal(shape).astype(dtype)
        yield label, lambda m, dy=dy, x=x, g=g, mean=mean, invstd=invstd: \
            m.batch_norm2d_backward(dy, x, g, mean, invstd)


# ---- convolution ---------------------------------------------------------------------

_CONV_CASES = [  # label, (B, C_in, H, W), (C_out, K_h, K_w), stride, padding
    ("conv_mnist1-like", (4, 1, 28, 28), (8, 3, 3), 1, 1),
    ("conv_mnist2-like", (2, 32, 14, 14), (16, 3, 3), 1, 1),
    ("conv_stride-like 5x5 s2 p2", (2, 3, 32, 32), (8, 5, 5), 2, 2),
    ("batch 1, 1x1", (1, 5, 7, 7), (3, 1, 1), 1, 0),
    ("7x7 on 5x5 with padding", (2, 3, 5, 5), (4, 7, 7), 1, 2),
    ("rectangular 2x3, stride (2, 3), padding (0, 2)", (3, 3, 11, 10), (5, 2, 3), (2, 3), (0, 2)),
    ("odd channels", (2, 7, 9, 8), (5, 3, 3), 1, 1),
    ("kernel = padded input", (2, 2, 3, 4), (3, 5, 6), 1, 1),
    ("Winograd path, odd sizes", (3, 17, 9, 7), (19, 3, 3), 1, 1),
    ("Winograd path, no padding", (2, 16, 6, 5), (16, 3, 3), 1, 0),
    ("Winograd path, 8x8 planes (one tile to a lane)", (3, 16, 8, 8), (17, 3, 3), 1, 1),
    ("Winograd path, rows of 11 tiles and a spare, odd sizes", (2, 16, 23, 21), (17, 3, 3), 1, 1),
    ("same width, rows of padding only", (2, 3, 6, 7), (4, 5, 5), 1, (3, 2)),
    ("one-column planes", (3, 2, 5, 1), (3, 3, 1), 1, (1, 0)),
    ("direct loop: 6 channels, stride (2, 3), rows ending mid-vector",
     (2, 2, 23, 70), (6, 5, 3), (2, 3), (2, 1)),
    ("Winograd F(4x4, 3x3): rows of 20+, C·O >= 2048, sizes not multiples of 4",
     (2, 32, 9, 22), (64, 3, 3), 1, 1),
]


@_register("conv2d")
def _conv2d_samples(rng, dtype):
    for label, xs, (o, kh, kw), s, p in _CONV_CASES:
        x = rng.standard_normal(xs).astype(dtype)
        w = rng.standard_normal((o, xs[1], kh, kw)).astype(dtype)
        b = rng.standard_normal(o).astype(dtype)
        yield label, lambda m, x=x, w=w, b=b, s=s, p=p: m.conv2d(x, w, b, s, p)
    xn = rng.standard_normal((2, 3, 9, 18)).astype(dtype)[:, :, :, ::2]
    wn = rng.standard_normal((4, 3, 3, 6)).astype(dtype)[:, :, :, ::2]
    yield "non-contiguous x and w, no bias", lambda m: m.conv2d(xn, wn, None, 1, 1)


@_register("conv2d_backward")
def _conv2d_backward_samples(rng, dtype):
    from . import reference
    for label, xs, (o, kh, kw), s, p in _CONV_CASES:
        x = rng.standard_normal(xs).astype(dtype)
        w = rng.standard_normal((o, xs[1], kh, kw)).astype(dtype)
        dy = rng.standard_normal(reference.conv2d(x, w, None, s, p).shape).astype(dtype)
        yield label, lambda m, dy=dy, x=x, w=w, s=s, p=p: m.conv2d_backward(dy, x, w, s, p)


@_register("im2col")
def _im2col_samples(rng, dtype):
    for label, xs, (o, kh, kw), s, p in _CONV_CASES:
        x = rng.standard_normal(xs).astype(dtype)
        yield label, lambda m, x=x, k=(kh, kw), s=s, p=p: m.im2col(x, k, s, p)


@_register("col2im")
def _col2im_samples(rng, dtype):
    from . import reference
    for label, xs, (o, kh, kw), s, p in _CONV_CASES:
        shape = reference.im2col(np.zeros(xs, dtype), (kh, kw), s, p).shape
        cols = rng.standard_normal(shape).astype(dtype)
        yield label, lambda m, c=cols, xs=xs, k=(kh, kw), s=s, p=p: m.col2im(c, xs, k, s, p)


# ---- recurrent ---------------------------------------------------------------------------

_RNN_CASES = [  # label, B, T, D, H, nonlinearity, lengths
    ("rnn_temp-like", 4, 24, 8, 128, "tanh", None),
    ("relu, H != D", 3, 7, 5, 9, "relu", None),
    ("T = 1", 2, 1, 3, 4, "tanh", None),
    ("B = 1", 1, 6, 2, 33, "tanh", None),
    ("lengths 1..T", 4, 9, 3, 20, "tanh", [9, 1, 4, 9]),
    ("relu with lengths", 3, 5, 2, 17, "relu", [2, 5, 1]),
    ("long T = 300", 2, 300, 4, 16, "tanh", None),
]


def _rnn_inputs(rng, dtype, B, T, D, H):
    x = rng.standard_normal((B, T, D)).astype(dtype)
    h0 = rng.standard_normal((B, H)).astype(dtype) * dtype(0.5)
    W = (rng.standard_normal((H, H)) / np.sqrt(H)).astype(dtype)
    U = (rng.standard_normal((H, D)) / np.sqrt(D)).astype(dtype)
    b = rng.standard_normal(H).astype(dtype) * dtype(0.1)
    return x, h0, W, U, b


@_register("rnn_forward")
def _rnn_forward_samples(rng, dtype):
    for label, B, T, D, H, f, lengths in _RNN_CASES:
        x, h0, W, U, b = _rnn_inputs(rng, dtype, B, T, D, H)
        lens = None if lengths is None else np.array(lengths)
        yield label, lambda m, a=(x, h0, W, U, b, f, lens): m.rnn_forward(*a)
    x, h0, W, U, b = _rnn_inputs(rng, dtype, 2, 5, 6, 8)
    yield "non-contiguous x, no bias", lambda m: m.rnn_forward(x[:, :, ::2], h0, W, U[:, ::2],
                                                               None)


@_register("rnn_backward")
def _rnn_backward_samples(rng, dtype):
    from . import reference
    for label, B, T, D, H, f, lengths in _RNN_CASES:
        x, h0, W, U, b = _rnn_inputs(rng, dtype, B, T, D, H)
        lens = None if lengths is None else np.array(lengths)
        hs = reference.rnn_forward(x, h0, W, U, b, f, lens)
        dhs = rng.standard_normal(hs.shape).astype(dtype)
        yield label, lambda m, a=(dhs, x, hs, h0, W, U, f, lens): m.rnn_backward(*a)


@_register("clip_grad_norm")
def _clip_samples(rng, dtype):
    for label, shapes, max_norm in [("clipped list", [(1000,), (33, 7), (70_001,)], 1.0),
                                    ("not clipped", [(10,)], 1e6), ("one array", [(5, 5)], 0.5)]:
        gs = [rng.standard_normal(s).astype(dtype) for s in shapes]

        def run(m, gs=gs, max_norm=max_norm, single=label == "one array"):
            mine = [g.copy() for g in gs]
            norm = m.clip_grad_norm(mine[0] if single else mine, max_norm)
            return mine + [np.array([norm])]
        yield label, run


# ---- attention ---------------------------------------------------------------------------

_ATTN_CASES = [  # label, leading dims, T_q, T_k, d_k, d_v, causal, mask kind
    ("attn_512-like", (2, 2), 200, 200, 64, 64, False, None),
    ("causal, T not a multiple of the blocks", (2,), 300, 300, 16, 16, True, None),
    ("T_q != T_k", (3,), 70, 130, 8, 12, False, None),
    ("causal T_q != T_k", (2,), 130, 70, 8, 8, True, None),
    ("T_q = 1", (2,), 1, 3, 4, 4, False, None),   # T_k = 1 would make dq, dk exactly 0
    ("odd T, d_v != d_k", (1, 3), 37, 41, 5, 7, False, None),
    ("shared mask", (2, 2), 50, 60, 8, 8, False, "shared"),
    ("per-head mask and causal", (2, 2), 40, 40, 8, 8, True, "per-head"),
    ("a query that sees nothing", (2,), 20, 30, 4, 4, False, "empty row"),
    ("one head, no leading dims (the two-pass backward at 2 threads)", (), 150, 200, 16,
     16, True, None),
]


def _attn_inputs(rng, dtype, lead, tq, tk, dk, dv, mask_kind):
    q = rng.standard_normal(lead + (tq, dk)).astype(dtype)
    k = rng.standard_normal(lead + (tk, dk)).astype(dtype)
    v = rng.standard_normal(lead + (tk, dv)).astype(dtype)
    mask = None
    if mask_kind == "shared":
        mask = rng.random((tq, tk)) > 0.3
    elif mask_kind == "per-head":
        mask = rng.random(lead + (tq, tk)) > 0.3
        mask[..., 0] = True
    elif mask_kind == "empty row":
        mask = np.ones((tq, tk), bool)
        mask[3] = False
    return q, k, v, mask


@_register("scaled_dot_product_attention")
def _attention_samples(rng, dtype):
    for label, lead, tq, tk, dk, dv, causal, mk in _ATTN_CASES:
        q, k, v, mask = _attn_inputs(rng, dtype, lead, tq, tk, dk, dv, mk)
        yield label, lambda m, a=(q, k, v, causal, None, mask): \
            m.scaled_dot_product_attention(*a)
    q, k, v, _ = _attn_inputs(rng, dtype, (2,), 20, 20, 8, 8, None)
    yield "non-contiguous q, scale 0.3", lambda m: m.scaled_dot_product_attention(
        np.swapaxes(np.swapaxes(q, 0, 1).copy(), 0, 1), k, v, False, 0.3)


@_register("scaled_dot_product_attention_backward")
def _attention_backward_samples(rng, dtype):
    from . import reference
    for label, lead, tq, tk, dk, dv, causal, mk in _ATTN_CASES:
        q, k, v, mask = _attn_inputs(rng, dtype, lead, tq, tk, dk, dv, mk)
        out, lse = reference.scaled_dot_product_attention(q, k, v, causal, mask=mask)
        dout = rng.standard_normal(out.shape).astype(dtype)
        yield label, lambda m, a=(dout, q, k, v, out, lse, causal, None, mask): \
            m.scaled_dot_product_attention_backward(*a)


# ---- losses ---------------------------------------------------------------------------------

def _loss_samples(name):
    def samples(rng, dtype):
        for shape in [(1,), (7, 1), (64, 10), (5, 3, 4), (300, 70)]:
            if name == "bce":
                a = rng.uniform(0.02, 0.98, shape).astype(dtype)
                y = rng.integers(0, 2, shape).astype(dtype)
            elif name == "bce_with_logits":
                a = (rng.standard_normal(shape) * 30).astype(dtype)      # huge logits too
                y = rng.integers(0, 2, shape).astype(dtype)
            else:
                a, y = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
            yield f"{shape}", lambda m, a=a, y=y: _as_arrays(getattr(m, name)(a, y))
    return samples


def _as_arrays(result):
    loss, grad = result
    return [np.array([loss]), grad]


for _name in ("mse", "bce", "bce_with_logits"):
    _register(_name)(_loss_samples(_name))


@_register("cross_entropy")
def _cross_entropy_samples(rng, dtype):
    for B, C in [(1, 2), (64, 10), (7, 1000), (33, 3)]:
        z = (rng.standard_normal((B, C)) * 8).astype(dtype)
        labels = rng.integers(0, C, B)
        yield f"({B}, {C})", lambda m, z=z, l=labels: _as_arrays(m.cross_entropy(z, l))
    # huge equal logits: max + log Σ loses the log Σ (found by tests/test_fuzz.py)
    big = np.finfo(dtype).max / 4
    z = np.array([[-big, -big, -big], [big, big, 0.0]], dtype)
    yield "huge logits", lambda m, z=z: _as_arrays(m.cross_entropy(z, np.array([0, 2])))


@_register("sequence_mse")
def _sequence_mse_samples(rng, dtype):
    for N, T, D, lengths in [(4, 6, 2, [6, 1, 3, 6]), (1, 1, 1, [1]), (8, 20, 3, None)]:
        a, y = (rng.standard_normal((N, T, D)).astype(dtype) for _ in range(2))
        L = np.array(lengths) if lengths else rng.integers(1, T + 1, N)
        yield f"({N}, {T}, {D})", lambda m, a=a, y=y, L=L: _as_arrays(m.sequence_mse(a, y, L))


def compare(actual, expected):
    """(max abs error, max error relative to each expected array's largest magnitude);
    NaN where the other has NaN counts as equal, an integer array must match exactly."""
    if isinstance(actual, np.ndarray):
        actual, expected = [actual], [expected]
    abs_err, rel_err = 0.0, 0.0
    if len(actual) != len(expected):
        return float("inf"), float("inf")
    for a, e in zip(actual, expected):
        a = np.asarray(a, dtype=np.float64)
        e = np.asarray(e, dtype=np.float64)
        if a.shape != e.shape:
            return float("inf"), float("inf")
        if a.size == 0:
            continue
        same = (a == e) | (np.isnan(a) & np.isnan(e))        # equal infinities too
        with np.errstate(invalid="ignore"):
            d = np.where(same, 0.0, np.abs(a - e))
        d = np.where(np.isnan(d), np.inf, d)
        scale = max(float(np.max(np.abs(np.where(np.isfinite(e), e, 0.0)))), 1e-30)
        abs_err = max(abs_err, float(np.max(d)))
        rel_err = max(rel_err, float(np.max(d)) / scale)
    return abs_err, rel_err


# Native vs reference, relative to each array's scale (DESIGN.md conventions).
TOLERANCE = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-4}
