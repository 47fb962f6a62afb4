"""Property tests (hypothesis): random valid shapes, strides, paddings and dtypes —
native and reference agree; the first step of the hardening issue's fuzzing.
DLKERN_FUZZ_EXAMPLES sets the examples per test (60 in CI)."""
import os

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

from dlkern import native, reference  # noqa: E402
from dlkern.samples import TOLERANCE, compare  # noqa: E402

FUZZ = settings(max_examples=int(os.environ.get("DLKERN_FUZZ_EXAMPLES", 60)), deadline=None,
                derandomize=True)
dtypes = st.sampled_from([np.float32, np.float64])


def agree(a, b, dtype):
    """Errors relative to each expected array's scale, with a floor of 1 (the inputs'
    scale): gradients that are exactly 0 in theory (one visible key, say) come out as
    rounding noise on both sides."""
    for x, e in zip(a if isinstance(a, (tuple, list)) else [a],
                    b if isinstance(b, (tuple, list)) else [b]):
        abs_err, _ = compare([x], [e])
        scale = max(float(np.max(np.abs(np.where(np.isfinite(e), e, 0)), initial=0)), 1.0)
        assert abs_err <= TOLERANCE[np.dtype(dtype)] * scale, (abs_err, scale)


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
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    H = draw(st.integers(max(1, kh - 2 * ph), 40))
    W = draw(st.integers(max(1, kw - 2 * pw), 40))
    return (draw(st.integers(1, 2)), draw(st.integers(1, 3)), H, W), (kh, kw), (sh, sw), \
        (ph, pw), draw(dtypes), draw(st.integers(0, 2 ** 31)), draw(st.booleans())


@FUZZ
@given(pool_case())
def test_max_pool2d_forward_and_backward(case):
    xs, k, s, p, dtype, seed, specials = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(xs).astype(dtype)
    if specials:             # ties, ±inf, NaN and −0
        x = np.round(x).astype(dtype)
        flat = x.reshape(-1)
        for v in (np.inf, -np.inf, np.nan, -0.0):
            flat[rng.integers(flat.size)] = v
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
