"""Property tests (hypothesis): random valid shapes, strides, paddings and dtypes —
native and reference agree; the first step of the hardening issue's fuzzing.
DLKERN_FUZZ_EXAMPLES sets the examples per test (60 in CI)."""
import os

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

from conftest import noncontiguous  # noqa: E402
from dlkern import native, reference  # noqa: E402
from dlkern.samples import TOLERANCE, compare  # noqa: E402

FUZZ = settings(max_examples=int(os.environ.get("DLKERN_FUZZ_EXAMPLES", 60)), deadline=None,
                derandomize=True)
dtypes = st.sampled_from([np.float32, np.float64])


def agree(a, b, dtype, tol=None):
    """Errors relative to each expected array's scale, with a floor of 1 (the inputs'
    scale): gradients that are exactly 0 in theory (one visible key, say) come out as
    rounding noise on both sides.  tol: instead of the dtype's TOLERANCE."""
    for x, e in zip(a if isinstance(a, (tuple, list)) else [a],
                    b if isinstance(b, (tuple, list)) else [b]):
        abs_err, _ = compare([x], [e])
        scale = max(float(np.max(np.abs(np.where(np.isfinite(e), e, 0)), initial=0)), 1.0)
        tol = TOLERANCE[np.dtype(dtype)] if tol is None else tol
        assert abs_err <= tol * scale, (abs_err, scale)


@st.composite
def conv_case(draw):
    B, C, O = draw(st.integers(1, 3)), draw(st.integers(1, 5)), draw(st.integers(1, 6))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    H = draw(st.integers(max(1, kh - 2 * ph), 13))
    W = draw(st.integers(max(1, kw - 2 * pw), 13))
    return (B, C, H, W), (O, C, kh, kw), (sh, sw), (ph, pw), draw(dtypes), draw(st.integers(0, 2 ** 31))


@FUZZ
@given(conv_case())
def test_conv2d_forward_and_backward(case):
    xs, ws, s, p, dtype, seed = case
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype)
    y = reference.conv2d(x, w, b, s, p)
    agree(native.conv2d(x, w, b, s, p), y, dtype)
    dy = rng.standard_normal(y.shape).astype(dtype)
    agree(native.conv2d_backward(dy, x, w, s, p), reference.conv2d_backward(dy, x, w, s, p),
          dtype)


@st.composite
def pool_case(draw):
    """Any windows, and often the two that have whole-plane AVX-512 loops of their own:
    2×2 at stride 2 without padding, and 3×3 at stride 2 with padding 1 (any window 2
    or 3 wide at stride 2 takes that loop when there are planes enough)."""
    kind = draw(st.sampled_from(["2x2", "stem", "any"]))
    if kind == "2x2":
        kh = kw = sh = sw = 2
        ph = pw = 0
    elif kind == "stem":
        kh = kw = 3
        sh = sw = 2
        ph = pw = 1
    else:
        kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        sh, sw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    H = draw(st.integers(max(1, kh - 2 * ph), 40))
    W = draw(st.integers(max(1, kw - 2 * pw), 150))    # rows of up to 4 vectors at stride 2
    return (draw(st.integers(1, 2)), draw(st.integers(1, 5)), H, W), (kh, kw), (sh, sw), \
        (ph, pw), draw(dtypes), draw(st.integers(0, 2 ** 31)), draw(st.booleans())


@FUZZ
@given(pool_case())
def test_max_pool2d_forward_and_backward(case):
    xs, k, s, p, dtype, seed, specials = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(xs).astype(dtype)
    if specials:             # ties, ±inf, NaN and −0; windows of −inf at the left border
        x = np.round(x).astype(dtype)
        flat = x.reshape(-1)
        for v in (np.inf, -np.inf, np.nan, -0.0):
            flat[rng.integers(flat.size)] = v
        x[0, 0, :, :2] = -np.inf
    y, idx = reference.max_pool2d(x, k, s, p)
    y2, idx2 = native.max_pool2d(x, k, s, p)
    np.testing.assert_array_equal(idx2, idx)
    np.testing.assert_array_equal(y2, y)
    dy = rng.standard_normal(y.shape).astype(dtype)
    agree(native.max_pool2d_backward(dy, idx, xs), reference.max_pool2d_backward(dy, idx, xs),
          dtype)


@st.composite
def attention_case(draw):
    lead = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    tq, tk = draw(st.integers(1, 150)), draw(st.integers(1, 150))
    dk, dv = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    return lead, tq, tk, dk, dv, draw(st.booleans()), draw(st.booleans()), draw(dtypes), \
        draw(st.integers(0, 2 ** 31))


@FUZZ
@given(attention_case())
def test_attention_forward_and_backward(case):
    lead, tq, tk, dk, dv, causal, masked, dtype, seed = case
    rng = np.random.default_rng(seed)
    q = rng.standard_normal(lead + (tq, dk)).astype(dtype)
    k = rng.standard_normal(lead + (tk, dk)).astype(dtype)
    v = rng.standard_normal(lead + (tk, dv)).astype(dtype)
    mask = rng.random((tq, tk)) > 0.2 if masked else None
    out, lse = reference.scaled_dot_product_attention(q, k, v, causal, mask=mask)
    agree(native.scaled_dot_product_attention(q, k, v, causal, mask=mask), (out, lse), dtype)
    dout = rng.standard_normal(out.shape).astype(dtype)
    agree(native.scaled_dot_product_attention_backward(dout, q, k, v, out, lse, causal,
                                                        mask=mask),
          reference.scaled_dot_product_attention_backward(dout, q, k, v, out, lse, causal,
                                                          mask=mask), dtype)


@FUZZ
@given(st.integers(1, 4), st.integers(1, 30), st.integers(1, 5), st.integers(1, 40),
       st.booleans(), dtypes, st.integers(0, 2 ** 31))
def test_rnn_forward_and_backward(B, T, D, H, relu, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, T, D)).astype(dtype)
    h0 = rng.standard_normal((B, H)).astype(dtype) * dtype(0.5)
    W = (rng.standard_normal((H, H)) / np.sqrt(H)).astype(dtype)
    U = (rng.standard_normal((H, D)) / np.sqrt(D)).astype(dtype)
    b = rng.standard_normal(H).astype(dtype)
    lengths = rng.integers(1, T + 1, B)
    f = "relu" if relu else "tanh"
    hs = reference.rnn_forward(x, h0, W, U, b, f, lengths)
    agree(native.rnn_forward(x, h0, W, U, b, f, lengths), hs, dtype)
    dhs = rng.standard_normal(hs.shape).astype(dtype)
    agree(native.rnn_backward(dhs, x, hs, h0, W, U, f, lengths),
          reference.rnn_backward(dhs, x, hs, h0, W, U, f, lengths), dtype)


# ---- the remaining native functions: random shapes (prime and size-1 dimensions),
# non-contiguous views and special values ---------------------------------------------

SPECIALS = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -1e-310, 3e38, -1e300]


def sprinkle(x, rng, on):
    """With `on`, put special values (±0, ±inf, NaN, subnormals, huge) at random
    places; values that the dtype cannot hold become inf or 0, as a cast makes them."""
    if on and x.size:
        flat = x.reshape(-1)
        with np.errstate(over="ignore"):
            for v in rng.choice(np.array(SPECIALS), size=min(flat.size, 6)):
                flat[rng.integers(flat.size)] = x.dtype.type(v)
    return x


def view(x, rng, on):
    """With `on`, the same values as a non-contiguous view along a random axis."""
    return noncontiguous(x, int(rng.integers(x.ndim))) if on and x.ndim else x


def shifted(x):
    """A C-contiguous copy of x that starts one element into its buffer (unaligned)."""
    buf = np.empty(x.size + 1, x.dtype)
    out = buf[1:].reshape(x.shape)
    out[...] = x
    return out


dims = st.sampled_from([1, 2, 3, 5, 7, 13, 31, 64, 97])


@FUZZ
@given(st.lists(dims, min_size=1, max_size=4), st.sampled_from(["relu", "sigmoid", "softmax"]),
       st.booleans(), st.booleans(), dtypes, st.integers(0, 2 ** 31))
def test_activations(shape, name, specials, strided, dtype, seed):
    rng = np.random.default_rng(seed)
    x = view(sprinkle((rng.standard_normal(shape) * 30).astype(dtype), rng, specials), rng,
             strided)
    args = (x, int(rng.integers(-x.ndim, x.ndim))) if name == "softmax" else (x,)
    with np.errstate(all="ignore"):
        expected = getattr(reference, name)(*args)
    agree(getattr(native, name)(*args), expected, dtype)
    dy = view(rng.standard_normal(shape).astype(dtype), rng, strided)
    agree(native.relu_backward(dy, x), reference.relu_backward(dy, x), dtype)


@FUZZ
@given(dims, dims, dims, st.booleans(), st.booleans(), st.booleans(), dtypes,
       st.integers(0, 2 ** 31))
def test_linear_forward_and_backward(B, D, O, bias, specials, strided, dtype, seed):
    rng = np.random.default_rng(seed)
    x = view(sprinkle(rng.standard_normal((B, D)).astype(dtype), rng, specials), rng, strided)
    w = view(rng.standard_normal((O, D)).astype(dtype), rng, strided)
    b = rng.standard_normal(O).astype(dtype) if bias else None
    with np.errstate(all="ignore"):
        agree(native.linear(x, w, b), reference.linear(x, w, b), dtype)
        dy = view(rng.standard_normal((B, O)).astype(dtype), rng, strided)
        agree(native.linear_backward(dy, x, w), reference.linear_backward(dy, x, w), dtype)


@FUZZ
@given(st.integers(1, 3), st.integers(1, 5), dims, dims, st.booleans(), st.booleans(), dtypes,
       st.integers(0, 2 ** 31))
def test_batch_norm2d_forward_and_backward(B, C, H, W, offset, strided, dtype, seed):
    rng = np.random.default_rng(seed)
    if B * H * W == 1:
        H = 2            # one value per channel has no variance to normalise by
    x = (rng.standard_normal((B, C, H, W)) * 3 + (1000 if offset else 0)).astype(dtype)
    x = view(x, rng, strided)
    g, b = (rng.standard_normal(C).astype(dtype) for _ in range(2))
    y, mean, invstd = reference.batch_norm2d(x, g, b)
    # float32 normalisation of values 1000 ± 3: the mean carries 1000·2⁻²⁴ of rounding
    tol = 1e-3 if offset and dtype == np.float32 else None
    agree(native.batch_norm2d(x, g, b), (y, mean, invstd), dtype, tol)
    dy = view(rng.standard_normal(x.shape).astype(dtype), rng, strided)
    agree(native.batch_norm2d_backward(dy, x, g, mean, invstd),
          reference.batch_norm2d_backward(dy, x, g, mean, invstd), dtype, tol)


@FUZZ
@given(conv_case(), st.booleans())
def test_im2col_and_col2im(case, strided):
    xs, ws, s, p, dtype, seed = case
    rng = np.random.default_rng(seed)
    x = view(rng.standard_normal(xs).astype(dtype), rng, strided)
    k = ws[2:]
    cols = reference.im2col(x, k, s, p)
    np.testing.assert_array_equal(native.im2col(x, k, s, p), cols)
    c = view(rng.standard_normal(cols.shape).astype(dtype), rng, strided)
    agree(native.col2im(c, xs, k, s, p), reference.col2im(c, xs, k, s, p), dtype)


OPTIMIZERS = {  # name: number of state arrays, hyper-parameter strategy
    "sgd_step": (0, st.fixed_dictionaries({"lr": st.floats(1e-4, 1.0),
                                           "weight_decay": st.sampled_from([0.0, 0.1])})),
    "momentum_step": (1, st.fixed_dictionaries({"lr": st.floats(1e-4, 1.0),
                                                "beta": st.floats(0.0, 0.99),
                                                "weight_decay": st.sampled_from([0.0, 0.1])})),
    "adagrad_step": (1, st.fixed_dictionaries({"lr": st.floats(1e-4, 1.0),
                                               "eps": st.sampled_from([1e-8, 1e-3]),
                                               "weight_decay": st.sampled_from([0.0, 0.1])})),
    "rmsprop_step": (1, st.fixed_dictionaries({"lr": st.floats(1e-4, 1.0),
                                               "beta": st.floats(0.0, 0.999),
                                               "eps": st.sampled_from([1e-8, 1e-3]),
                                               "weight_decay": st.sampled_from([0.0, 0.1])})),
    "adam_step": (2, st.fixed_dictionaries({"step": st.integers(1, 10 ** 6),
                                            "lr": st.floats(1e-5, 0.1),
                                            "beta1": st.floats(0.0, 0.99),
                                            "beta2": st.floats(0.5, 0.9999),
                                            "weight_decay": st.sampled_from([0.0, 0.1]),
                                            "decoupled": st.booleans()})),
}


@st.composite
def optim_case(draw):
    name = draw(st.sampled_from(sorted(OPTIMIZERS)))
    nstate, hp = OPTIMIZERS[name]
    shapes = draw(st.lists(st.lists(dims, min_size=1, max_size=3), min_size=1, max_size=5))
    return name, nstate, draw(hp), shapes, draw(st.booleans()), draw(dtypes), \
        draw(st.integers(0, 2 ** 31))


@FUZZ
@given(optim_case())
def test_optimizer_steps(case):
    name, nstate, hp, shapes, specials, dtype, seed = case
    rng = np.random.default_rng(seed)
    p = [rng.standard_normal(s).astype(dtype) for s in shapes]
    g = [sprinkle(rng.standard_normal(s).astype(dtype), rng, specials) for s in shapes]
    states = [[np.abs(rng.standard_normal(s)).astype(dtype) for s in shapes]
              for _ in range(nstate)]
    # the native side updates arrays that start one element into a buffer (the peel
    # before the vector loop) from strided gradients
    ours = [[shifted(a) for a in arrays] for arrays in [p] + states]
    with np.errstate(all="ignore"):
        getattr(reference, name)(p, g, *states, **hp)
        getattr(native, name)(ours[0], [view(a, rng, True) for a in g], *ours[1:], **hp)
    for mine, theirs in zip(sum(ours, []), p + sum(states, [])):
        agree(mine, theirs, dtype)


@FUZZ
@given(st.lists(st.lists(dims, min_size=1, max_size=3), min_size=1, max_size=5),
       st.floats(1e-3, 1e3), dtypes, st.integers(0, 2 ** 31))
def test_clip_grad_norm(shapes, max_norm, dtype, seed):
    rng = np.random.default_rng(seed)
    g = [rng.standard_normal(s).astype(dtype) for s in shapes]
    mine = [shifted(a) for a in g]
    n_ref, n_mine = reference.clip_grad_norm(g, max_norm), native.clip_grad_norm(mine, max_norm)
    agree(np.array(n_mine), np.array(n_ref), dtype)
    for a, e in zip(mine, g):
        agree(a, e, dtype)


@FUZZ
@given(st.sampled_from(["bce", "bce_with_logits", "mse", "cross_entropy", "sequence_mse"]),
       dims, dims, st.booleans(), dtypes, st.integers(0, 2 ** 31))
def test_losses(name, B, C, specials, dtype, seed):
    rng = np.random.default_rng(seed)
    if name == "cross_entropy":
        args = (sprinkle((rng.standard_normal((B, C)) * 30).astype(dtype), rng, specials),
                rng.integers(0, C, B))
    elif name == "sequence_mse":
        T = int(rng.integers(1, 9))
        args = (rng.standard_normal((B, T, C)).astype(dtype),
                rng.standard_normal((B, T, C)).astype(dtype), rng.integers(1, T + 1, B))
    elif name == "bce":
        args = (rng.uniform(0.01, 0.99, (B, C)).astype(dtype),
                rng.integers(0, 2, (B, C)).astype(dtype))
    else:
        args = (sprinkle((rng.standard_normal((B, C)) * 30).astype(dtype), rng, specials),
                rng.integers(0, 2, (B, C)).astype(dtype))
    with np.errstate(all="ignore"):
        loss, grad = getattr(reference, name)(*args)
        loss2, grad2 = getattr(native, name)(*args)
    agree(np.array(loss2), np.array(loss), dtype)
    agree(grad2, grad, dtype)


@FUZZ
@given(st.integers(1, 3), st.integers(1, 5), st.integers(1, 13), st.integers(1, 7),
       st.integers(1, 7), st.integers(1, 3), st.integers(1, 3), st.integers(0, 3),
       st.integers(0, 3), st.integers(1, 40), st.integers(8, 70), st.integers(1, 2),
       st.sampled_from([32, 0.0625]), st.booleans(), dtypes, st.integers(0, 2 ** 31))
def test_conv2d_direct_path(B, C, O, kh, kw, sh, sw, ph, pw, H, W, threads, limit, specials,
                            dtype, seed):
    """Forward passes with few taps and rows of 12+ outputs take the direct loop on
    AVX-512 CPUs, and so does their dW and db: strides up to the kernel's size (larger
    ones go through im2col), rectangular kernels, channel counts that leave a short
    last block of channels, tap counts that leave a short last block of taps, rows that
    end mid-vector, samples split over the threads (batch 1) and blocks of rows under a
    small workspace limit.  With specials, an inf or NaN in x must reach exactly the
    taps that read it (the lanes past a row's end load as zeros)."""
    import dlkern
    H, W = max(H, kh - 2 * ph), max(W, kw - 2 * pw)
    rng = np.random.default_rng(seed)
    x = sprinkle(rng.standard_normal((B, C, H, W)).astype(dtype), rng, specials)
    w = rng.standard_normal((O, C, kh, kw)).astype(dtype)
    b = rng.standard_normal(O).astype(dtype)
    args = ((sh, sw), (ph, pw))
    before = dlkern.get_workspace_limit() / 2 ** 20
    dlkern.set_workspace_limit(limit)
    try:
        with dlkern.threads(threads), np.errstate(all="ignore"):
            y = reference.conv2d(x, w, b, *args)
            agree(native.conv2d(x, w, b, *args), y, dtype)
            dy = rng.standard_normal(y.shape).astype(dtype)
            agree(native.conv2d_backward(dy, x, w, *args),
                  reference.conv2d_backward(dy, x, w, *args), dtype)
    finally:
        dlkern.set_workspace_limit(before)


@FUZZ
@given(st.integers(1, 3), st.integers(16, 21), st.integers(16, 21),
       st.one_of(st.just(8), st.integers(1, 19)), st.one_of(st.just(8), st.integers(1, 40)),
       st.integers(0, 2), st.sampled_from([32, 0.0625]), dtypes, st.integers(0, 2 ** 31))
def test_conv2d_winograd_path(B, C, O, H, W, pad, limit, dtype, seed):
    """3×3 stride-1 convolutions with 16+ channels take the Winograd path: forward, dX
    and dW (whole samples per chunk, or blocks of tile rows under a small workspace
    limit; rows of under 16 tiles through the per-plane tables, longer ones row by
    row; 8×8 planes with padding 1 through their own AVX-512 input transform)."""
    import dlkern
    H, W = max(H, 3 - 2 * pad), max(W, 3 - 2 * pad)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, C, H, W)).astype(dtype)
    w = rng.standard_normal((O, C, 3, 3)).astype(dtype)
    b = rng.standard_normal(O).astype(dtype)
    before = dlkern.get_workspace_limit() / 2 ** 20
    dlkern.set_workspace_limit(limit)          # MB; 64 KB: blocks of tile rows
    try:
        y = reference.conv2d(x, w, b, 1, pad)
        agree(native.conv2d(x, w, b, 1, pad), y, dtype)
        dy = rng.standard_normal(y.shape).astype(dtype)       # dX, dW through Winograd
        agree(native.conv2d_backward(dy, x, w, 1, pad),
              reference.conv2d_backward(dy, x, w, 1, pad), dtype)
    finally:
        dlkern.set_workspace_limit(before)


@FUZZ
@given(st.integers(1, 3), st.integers(32, 70), st.integers(64, 70), st.integers(1, 30),
       st.integers(20, 45), st.integers(0, 2), st.sampled_from([32, 1.5]), dtypes,
       st.integers(0, 2 ** 31))
def test_conv2d_winograd4_path(B, C, O, H, W, pad, limit, dtype, seed):
    """Wider rows and bigger products take F(4×4, 3×3), forward and (its transpose: C
    and O swapped) dX: whole samples per item, several to a product, or blocks of tile
    rows under a smaller workspace limit; planes whose sizes are not multiples of 4."""
    import dlkern
    H = max(H, 3 - 2 * pad)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, C, H, W)).astype(dtype)
    w = rng.standard_normal((O, C, 3, 3)).astype(dtype)
    b = rng.standard_normal(O).astype(dtype)
    before = dlkern.get_workspace_limit() / 2 ** 20
    dlkern.set_workspace_limit(limit)          # MB; 1.5: blocks of 1 to 4 tile rows
    try:
        y = reference.conv2d(x, w, b, 1, pad)
        agree(native.conv2d(x, w, b, 1, pad), y, dtype)
        dy = rng.standard_normal(y.shape).astype(dtype)
        agree(native.conv2d_backward(dy, x, w, 1, pad),
              reference.conv2d_backward(dy, x, w, 1, pad), dtype)
    finally:
        dlkern.set_workspace_limit(before)
