"""The convolution's plan step: which implementation takes each pass (explain), and
every implementation forced on problems it takes, checked against the reference."""
import numpy as np
import pytest

from dlkern import reference
from dlkern._native import common, conv

from dlkern.specs import TOLERANCE, compare

from conftest import DTYPES

NAMES = [name for name, _ in conv.implementations()]
AVX512 = common.avx512_loops()

# (B, C, H, W, O, k, stride, padding): shapes that between them reach every
# implementation's every pass, odd sizes and batch 1 included
SHAPES = [
    (2, 16, 24, 24, 16, 3, 1, 1),      # F(2x2): wide rows, but C*O under 2048
    (2, 48, 22, 21, 48, 3, 1, 1),      # F(4x4) forward and dX, F(2x2) dW
    (3, 16, 7, 9, 17, 3, 1, 2),        # F(2x2), small planes, padding 2
    (4, 16, 8, 8, 16, 3, 1, 1),        # F(2x2) on 8x8 planes (its AVX-512 input transform)
    (1, 20, 30, 12, 18, 3, 1, 0),      # F(2x2) spare-tile rows
    (2, 3, 28, 28, 8, 5, 1, 2),        # direct
    (3, 3, 33, 31, 5, 5, 2, 2),        # direct, stride 2
    (2, 2, 19, 40, 3, 3, 1, 1),        # direct, rows of 40
    (2, 5, 9, 11, 7, 3, 2, 1),         # im2col only (rows under 12)
    (2, 4, 13, 13, 6, 1, 2, 0),        # strided 1x1: im2col only
]


def assert_close(got, want, dtype):
    """The error relative to the expected array's scale (at least 1), as the fuzz
    tests measure it: Winograd's float32 rounding grows with the values."""
    abs_err, _ = compare([got], [want])
    scale = max(float(np.max(np.abs(want), initial=0)), 1.0)
    assert abs_err <= TOLERANCE[np.dtype(dtype)] * scale, (abs_err, scale)


def shape_args(shape):
    B, C, H, W, O, k, s, p = shape
    return (B, C, H, W), (O, C, k, k), s, p


def test_implementations_listed_in_plan_order():
    assert NAMES == ["winograd_f4x4", "winograd_f2x2", "direct_avx512", "depthwise",
                     "im2col_gemm"]
    assert dict(conv.implementations())["direct_avx512"] == "avx512"


@pytest.mark.parametrize("name,shape,forward,dx,dw", [
    ("conv_mnist2", (64, 32, 14, 14, 64, 3, 1, 1), "winograd_f2x2", "winograd_f2x2",
     "winograd_f2x2"),
    ("conv_resnet", (32, 64, 56, 56, 64, 3, 1, 1), "winograd_f4x4", "winograd_f4x4",
     "winograd_f2x2"),
    ("conv_stride", (16, 3, 64, 64, 32, 5, 2, 2), "direct", "direct", "direct"),
    ("conv_mnist1", (64, 1, 28, 28, 32, 3, 1, 1), "direct", "direct", "direct"),
])
def test_named_workloads_take_their_paths(name, shape, forward, dx, dw):
    x_shape, w_shape, s, p = shape_args(shape)
    plan = conv.explain(x_shape, w_shape, s, p, workspace=32 << 20, threads=2)
    direct = "direct_avx512" if AVX512 else "im2col_gemm"
    want = {q: direct if n == "direct" else n for q, n in
            zip(("forward", "dx", "dw"), (forward, dx, dw))}
    assert {q: plan[q]["impl"] for q in plan} == want
    # every implementation tried before the chosen one says why it declined
    for q, entry in plan.items():
        earlier = NAMES[:NAMES.index(entry["impl"])]
        assert sorted(entry["declined"]) == sorted(earlier)
        assert all(isinstance(r, str) and r for r in entry["declined"].values())


def test_explain_follows_the_workspace():
    x_shape, w_shape, s, p = shape_args((4, 256, 28, 28, 256, 3, 1, 1))
    small = conv.explain(x_shape, w_shape, s, p, workspace=32 << 20, passes=("forward",))
    large = conv.explain(x_shape, w_shape, s, p, workspace=128 << 20, passes=("forward",))
    assert small["forward"]["impl"] == "winograd_f2x2"
    assert "quarter of the workspace" in small["forward"]["declined"]["winograd_f4x4"]
    assert large["forward"]["impl"] == "winograd_f4x4"


def _problem(shape, dtype, seed):
    x_shape, w_shape, s, p = shape_args(shape)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    return x, w, b, s, p


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("impl", [n for n in NAMES if n != "depthwise"])
def test_each_implementation_forced_matches_the_reference(impl, dtype):
    """(The depthwise loops take groups = C_in only: tests/test_conv_geometry.py.)"""
    if impl == "direct_avx512" and not AVX512:
        pytest.skip("no AVX-512 on this CPU (or DLKERN_PORTABLE_LOOPS set)")
    ran = set()
    for i, shape in enumerate(SHAPES):
        x, w, b, s, p = _problem(shape, dtype, i)
        plan = conv.explain(x.shape, w.shape, s, p, dtype=dtype, workspace=32 << 20)
        # forced, an implementation is asked directly: it declines a pass it declined in
        # the plan; one the plan never asked (an earlier one was chosen) it may take or
        # decline, and the last assert checks that every pass ran somewhere
        declined = {q for q in ("forward", "dx", "dw") if impl in plan[q]["declined"]}
        chosen = {q for q in ("forward", "dx", "dw") if plan[q]["impl"] == impl}
        if "forward" in declined:
            with pytest.raises(ValueError, match=f"conv2d: impl '{impl}' does not take"):
                conv.conv2d(x, w, b, s, p, impl=impl)
        else:
            try:
                y = conv.conv2d(x, w, b, s, p, impl=impl)
            except ValueError as e:
                assert "forward" not in chosen and "does not take" in str(e), e
            else:
                assert_close(y, reference.conv2d(x, w, b, s, p), dtype)
                ran.add("forward")
        y = reference.conv2d(x, w, b, s, p)
        dy = np.random.default_rng(100 + i).standard_normal(y.shape).astype(dtype)
        want = reference.conv2d_backward(dy, x, w, s, p)
        for q in ("dx", "dw"):
            if q in declined:
                continue
            try:
                got = conv.conv2d_backward(dy, x, w, s, p, impl={q: impl})
            except ValueError as e:
                assert q not in chosen and "does not take" in str(e), e
                continue
            for g, e in zip(got, want):
                assert_close(g, e, dtype)
            ran.add(q)
    # the shapes reach every pass the implementation has
    assert ran == ({"forward", "dx"} if impl == "winograd_f4x4" else {"forward", "dx", "dw"})


def test_forcing_errors_name_the_problem():
    x, w, b, s, p = _problem((2, 5, 9, 11, 7, 3, 2, 1), np.float32, 0)
    with pytest.raises(ValueError, match="impl must be one of"):
        conv.conv2d(x, w, b, s, p, impl="fft")
    with pytest.raises(ValueError, match="not 3x3 stride 1"):
        conv.conv2d(x, w, b, s, p, impl="winograd_f2x2")
    with pytest.raises(ValueError, match="impl keys must be among"):
        conv.conv2d_backward(np.zeros((2, 7, 5, 6), np.float32), x, w, s, p,
                             impl={"forward": "im2col_gemm"})


def test_wide_filters_with_few_positions_leave_winograd():
    """C·O over 32768: the forward pass needs C·O/32 output positions, dX and dW 256."""
    few = conv.explain((1, 512, 7, 7), (512, 512, 3, 3), 1, 1, workspace=128 << 20)
    assert {few[p]["impl"] for p in ("forward", "dx", "dw")} == {"im2col_gemm"}
    assert "filter transform" in few["forward"]["declined"]["winograd_f2x2"]
    some = conv.explain((16, 512, 7, 7), (512, 512, 3, 3), 1, 1, workspace=128 << 20)
    assert some["forward"]["impl"] == "im2col_gemm" and some["dw"]["impl"] == "winograd_f2x2"
    narrow = conv.explain((1, 128, 14, 14), (128, 128, 3, 3), 1, 1, workspace=128 << 20)
    assert narrow["forward"]["impl"] == "winograd_f2x2"
