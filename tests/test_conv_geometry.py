"""conv2d / conv2d_backward with dilation, groups and padding "same"/"valid" against
torch.nn.functional.conv2d and its gradients, on both backends and in both dtypes;
nn.Conv2d and the analysis functions with them."""
import warnings

import numpy as np
import pytest

import dlkern
from dlkern import analysis, native, nn, reference
from conftest import DTYPES, needs_torch, torch

# (B, C_in, H, W, C_out, K, stride, padding, dilation, groups)
GRID = [
    (2, 4, 9, 9, 6, 3, 1, 1, 2, 1),
    (2, 4, 10, 11, 4, 3, 2, 2, 2, 2),
    (3, 8, 7, 7, 8, 3, 1, 1, 1, 8),            # depthwise
    (2, 8, 12, 12, 16, 3, 2, 1, 1, 8),         # depthwise, two filters per channel
    (2, 6, 9, 8, 6, 5, 1, "same", 1, 3),
    (2, 3, 8, 8, 4, 4, 1, "same", 1, 1),       # even kernel: one more at bottom/right
    (1, 4, 9, 10, 4, 2, 1, "same", 3, 2),
    (2, 3, 9, 9, 5, 5, 1, "valid", 1, 1),
    (2, 6, 13, 13, 6, 3, 1, "same", 2, 6),
    (1, 4, 16, 16, 8, 1, 2, 0, 1, 4),
    (2, 32, 6, 6, 32, 3, 1, 1, 1, 32),         # wide enough for the Winograd plans
    (1, 16, 20, 20, 32, 3, 1, 1, 2, 1),
    (2, 16, 11, 11, 16, 7, 2, 3, 1, 4),
]


@needs_torch
@pytest.mark.parametrize("m", [reference, native], ids=["numpy", "native"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", GRID, ids=[str(c) for c in GRID])
def test_conv_geometry_matches_torch(m, dtype, case):
    B, C, H, W, O, K, s, p, d, g = case
    rng = np.random.default_rng(sum(c if isinstance(c, int) else 7 for c in case))
    x = rng.standard_normal((B, C, H, W)).astype(dtype)
    w = (rng.standard_normal((O, C // g, K, K)) * 0.3).astype(dtype)
    b = rng.standard_normal(O).astype(dtype)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    with warnings.catch_warnings():      # torch's note on even kernels with "same"
        warnings.simplefilter("ignore", UserWarning)
        ty = torch.nn.functional.conv2d(tx, tw, tb, s, p, d, g)
    dy = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    ty.backward(torch.tensor(dy))
    with dlkern.threads(2):
        y = m.conv2d(x, w, b, stride=s, padding=p, dilation=d, groups=g)
        dx, dw, db = m.conv2d_backward(dy, x, w, stride=s, padding=p, dilation=d, groups=g)
    tol = 2e-4 if dtype == np.float32 else 1e-10
    for name, got, want in [("y", y, ty), ("dx", dx, tx.grad), ("dw", dw, tw.grad),
                            ("db", db, tb.grad)]:
        want = want.detach().numpy()
        assert got.shape == want.shape and got.dtype == dtype, name
        np.testing.assert_allclose(got, want, atol=tol * max(1, np.abs(want).max()),
                                   err_msg=name)


def test_native_plan_sends_dilation_and_groups_to_im2col_gemm():
    from dlkern._native import conv
    for kw in (dict(dilation=2), dict(groups=2), dict(padding="same")):
        w = (32, 16 // kw.get("groups", 1), 4 if "padding" in kw else 3, 3)
        plan = conv.explain((2, 16, 12, 12), w, **{"padding": 1, **kw})
        assert plan["forward"]["impl"] == "im2col_gemm"
        assert "winograd_f2x2" in plan["forward"]["declined"] or "padding" in kw


def test_nn_conv2d_depthwise_and_dilated_on_both_backends():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 10, 10))
    out = {}
    for backend in ("numpy", "native"):
        with dlkern.use_backend(backend):
            layer = nn.Conv2d(6, 12, 3, padding="same", dilation=2, groups=6, dtype=np.float64,
                              seed=1)
            y = layer.forward(x)
            out[backend] = (y, layer.backward(np.ones_like(y)), layer.gradients()["weight"])
    assert out["native"][0].shape == (2, 12, 10, 10)
    assert out["native"][2].shape == (12, 1, 3, 3)
    for a, e in zip(out["native"], out["numpy"]):
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-12)
    assert "groups=6" in repr(layer) and "dilation=2" in repr(layer)
    with pytest.raises(ValueError, match="groups = 4 must divide"):
        nn.Conv2d(6, 12, 3, groups=4)


def test_analysis_counts_groups_and_dilation():
    assert analysis.conv2d_output_shape((1, 8, 32, 32), 8, 3, padding="same") == (1, 8, 32, 32)
    assert analysis.conv2d_output_shape((1, 8, 32, 32), 8, 3, dilation=2) == (1, 8, 28, 28)
    assert analysis.conv2d_macs((1, 8, 32, 32), 8, 3, 1, 1, groups=8) == 8 * 32 * 32 * 9
    assert analysis.conv2d_params(8, 16, 3, groups=8) == 16 * 9 + 16
    s = analysis.summary(nn.Sequential(nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=8)),
                         (1, 8, 16, 16))
    row = s.rows[-1]
    assert row.output_shape == (1, 8, 16, 16) and row.macs == 8 * 16 * 16 * 9
    assert row.receptive_field == (5, 5)


DEPTHWISE = [c for c in GRID if c[9] == c[1]] + [
    (2, 5, 7, 7, 5, 3, 1, 1, 1, 5), (1, 3, 13, 6, 9, (3, 5), 1, (1, 2), 1, 3),
    (2, 4, 15, 15, 4, 5, 1, 2, 2, 4), (2, 6, 9, 9, 6, 2, 1, "same", 1, 6),
    (1, 2, 1, 1, 2, 1, 1, 0, 1, 2), (2, 3, 6, 6, 6, 3, 1, 0, 1, 3),
    # strided: phase planes, odd sizes, a stride over the kernel, dilation with stride
    (3, 4, 11, 13, 4, 3, 2, 1, 1, 4), (2, 3, 14, 9, 6, 5, 2, 2, 1, 3),
    (2, 2, 10, 10, 2, 1, 3, 0, 1, 2), (2, 4, 17, 12, 4, 3, 2, 2, 2, 4),
    (1, 3, 9, 9, 3, 2, (2, 3), 0, 1, 3),
    # samples stacked in groups of 8 (4 in float64) and 12 (6), the last one short
    (11, 2, 30, 30, 2, 3, 1, 1, 1, 2), (29, 2, 30, 30, 4, 3, 2, 1, 1, 2)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", DEPTHWISE, ids=[str(c) for c in DEPTHWISE])
def test_depthwise_loops_match_im2col_gemm_and_the_reference(dtype, case):
    """The depthwise plan (chosen for groups = C_in) against im2col + GEMM forced and the
    reference, at 1 and 3 threads (the same bits)."""
    from dlkern._native import conv
    B, C, H, W, O, K, s, p, d, g = case
    kh, kw = (K, K) if isinstance(K, int) else K
    rng = np.random.default_rng(5)
    x = rng.standard_normal((B, C, H, W)).astype(dtype)
    w = rng.standard_normal((O, 1, kh, kw)).astype(dtype)
    b = rng.standard_normal(O).astype(dtype)
    a = dict(stride=s, padding=p, dilation=d, groups=g)
    assert conv.explain(x.shape, w.shape, dtype=dtype, **a)["forward"]["impl"] == "depthwise"
    y = conv.conv2d(x, w, b, **a)
    dy = rng.standard_normal(y.shape).astype(dtype)
    got = [y, *conv.conv2d_backward(dy, x, w, **a)]
    gemm = [conv.conv2d(x, w, b, **a, impl="im2col_gemm"),
            *conv.conv2d_backward(dy, x, w, **a, impl="im2col_gemm")]
    ref = [reference.conv2d(x, w, b, **a), *reference.conv2d_backward(dy, x, w, **a)]
    tol = 1e-4 if dtype == np.float32 else 1e-11
    for name, u, v, r in zip(["y", "dx", "dw", "db"], got, gemm, ref):
        np.testing.assert_allclose(u, r, atol=tol * max(1, np.abs(r).max()), err_msg=name)
        np.testing.assert_allclose(u, v, atol=tol * max(1, np.abs(r).max()), err_msg=name)
    for nt in (1, 3):
        with dlkern.threads(nt):
            again = [conv.conv2d(x, w, b, **a), *conv.conv2d_backward(dy, x, w, **a)]
        for u, v in zip(got, again):
            np.testing.assert_array_equal(u, v)
