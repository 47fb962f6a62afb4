"""Property tests (hypothesis): random valid shapes, strides, paddings, dtypes,
non-contiguous and unaligned views and special values — native and reference agree.
Every spec's fuzz strategy (dlkern.specs, field `fuzz`) runs here, then the
convolution's paths under forced workspace limits and thread counts.
DLKERN_FUZZ_EXAMPLES sets the examples per test (60 in CI)."""
import os

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

from dlkern import native, reference  # noqa: E402
from dlkern.specs import SPECS, TOLERANCE, compare, sprinkle  # noqa: E402

FUZZ = settings(max_examples=int(os.environ.get("DLKERN_FUZZ_EXAMPLES", 60)), deadline=None,
                derandomize=True)
dtypes = st.sampled_from([np.float32, np.float64])


def agree(a, b, dtype, tol=None):
    """Errors relative to each expected array's scale, with a floor of 1 (the inputs'
    scale): gradients that are exactly 0 in theory (one visible key, say) come out as
    rounding noise on both sides; integer arrays (pooling's indices) exactly equal.
    tol: instead of the dtype's TOLERANCE."""
    for x, e in zip(a if isinstance(a, (tuple, list)) else [a],
                    b if isinstance(b, (tuple, list)) else [b]):
        abs_err, _ = compare([x], [e])
        scale = max(float(np.max(np.abs(np.where(np.isfinite(e), e, 0)), initial=0)), 1.0)
        tol = TOLERANCE[np.dtype(dtype)] if tol is None else tol
        assert abs_err <= tol * scale, (abs_err, scale)


FUZZED = [name for name, spec in SPECS.items() if callable(spec.fuzz)]


@pytest.mark.parametrize("name", FUZZED)
@FUZZ
@given(data=st.data())
def test_native_agrees_with_reference(name, data):
    spec = SPECS[name]
    case = data.draw(spec.fuzz(st), label="case")
    with np.errstate(all="ignore"):
        expected = case.run(reference)
        actual = case.run(native)
    agree(actual, expected, case.dtype, case.tol or spec.tol(case.dtype))


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
