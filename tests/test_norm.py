"""Normalisation against PyTorch: batch-norm of (B, C) features, in training and in
evaluation mode, and layer-norm with its gradients, on a grid of shapes."""
import numpy as np
import pytest

from dlkern import native, reference
from conftest import DTYPES, needs_torch, torch

BACKENDS = [reference, native]
TORCH_TOL = {np.float64: 1e-9, np.float32: 2e-4}


def close(got, want, dtype, scale=1.0):
    want = np.asarray(want)
    err = np.max(np.abs(got - want), initial=0) / max(np.max(np.abs(want), initial=0), 1.0)
    assert err <= TORCH_TOL[dtype] * scale, err


@needs_torch
@pytest.mark.parametrize("m", BACKENDS, ids=["numpy", "native"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 8), (3, 5, 7), (4, 1), (2, 6, 768), (33, 4097)])
def test_layer_norm_matches_torch(m, dtype, shape):
    rng = np.random.default_rng(len(shape) * 7 + shape[-1])
    x = (rng.standard_normal(shape) * 2 + 3).astype(dtype)
    g, b = rng.standard_normal(shape[-1]).astype(dtype), rng.standard_normal(shape[-1]).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    y, mean, invstd = m.layer_norm(x, g, b, eps=1e-5)
    dx, dg, db = m.layer_norm_backward(dy, x, g, mean, invstd)
    tx, tg, tb = (torch.tensor(a, requires_grad=True) for a in (x, g, b))
    ty = torch.nn.functional.layer_norm(tx, (shape[-1],), tg, tb, 1e-5)
    ty.backward(torch.tensor(dy))
    close(y, ty.detach().numpy(), dtype)
    close(dx, tx.grad.numpy(), dtype, scale=10)
    close(dg, tg.grad.numpy(), dtype, scale=10)
    close(db, tb.grad.numpy(), dtype)
    assert mean.shape == invstd.shape == shape[:-1]


@needs_torch
@pytest.mark.parametrize("m", BACKENDS, ids=["numpy", "native"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3), (64, 100), (200, 17), (5, 4, 3, 3), (3, 2, 20, 20)])
def test_batch_norm_train_and_eval_match_torch(m, dtype, shape):
    rng = np.random.default_rng(shape[0] * 13 + shape[1])
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    C = shape[1]
    g, b = rng.standard_normal(C).astype(dtype), rng.standard_normal(C).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    y, mean, invstd = m.batch_norm2d(x, g, b)
    dx, dg, db = m.batch_norm2d_backward(dy, x, g, mean, invstd)
    tx, tg, tb = (torch.tensor(a, requires_grad=True) for a in (x, g, b))
    ty = torch.nn.functional.batch_norm(tx, None, None, tg, tb, training=True, eps=1e-5)
    ty.backward(torch.tensor(dy))
    close(y, ty.detach().numpy(), dtype)
    close(dx, tx.grad.numpy(), dtype, scale=10)
    close(dg, tg.grad.numpy(), dtype, scale=10)
    close(db, tb.grad.numpy(), dtype)
    rm = rng.standard_normal(C).astype(dtype)
    rv = (rng.random(C) + 0.1).astype(dtype)
    ye = m.batch_norm_inference(x, g, b, rm, rv, eps=1e-3)
    te = torch.nn.functional.batch_norm(torch.tensor(x), torch.tensor(rm), torch.tensor(rv),
                                        torch.tensor(g), torch.tensor(b), training=False,
                                        eps=1e-3)
    close(ye, te.numpy(), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(300, 70), (40, 9, 3, 3), (2, 5)])
def test_batch_norm_statistics_survive_a_large_mean(dtype, shape):
    """Features far from zero (a mean 10⁴ times their spread): the statistics of the
    small-plane path, summed about a shift in one pass, match a two-pass sum in float64."""
    rng = np.random.default_rng(5)
    C, per_channel = shape[1], (1, -1) + (1,) * (len(shape) - 2)
    offset = (4000 + 1000 * rng.random(C)).reshape(per_channel)
    x = (rng.standard_normal(shape) * 0.5 + offset).astype(dtype)
    y, mean, invstd = native.batch_norm2d(x, np.ones(C, dtype), np.zeros(C, dtype))
    axes = (0,) + tuple(range(2, x.ndim))
    x64 = x.astype(np.float64)
    m = x64.mean(axis=axes)
    var = ((x64 - m.reshape(per_channel)) ** 2).mean(axis=axes)
    np.testing.assert_allclose(mean, m, rtol=1e-6 if dtype == np.float32 else 1e-13)
    np.testing.assert_allclose(invstd, 1 / np.sqrt(var + 1e-5),
                               rtol=1e-5 if dtype == np.float32 else 1e-9)
    want = (x64 - m.reshape(per_channel)) / np.sqrt(var.reshape(per_channel) + 1e-5)
    # y keeps the rounding of x − mean in x's dtype: a few units in the last place of x
    np.testing.assert_allclose(y, want, atol=4 * np.spacing(x.max()) * invstd.max())


@pytest.mark.parametrize("dtype", DTYPES)
def test_layer_norm_backward_sums_do_not_depend_on_threads(dtype):
    import dlkern
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1000, 37)).astype(dtype)
    g, b = rng.standard_normal(37).astype(dtype), rng.standard_normal(37).astype(dtype)
    dy = rng.standard_normal(x.shape).astype(dtype)
    _, mean, invstd = native.layer_norm(x, g, b)
    outs = []
    for n in (1, 2, 3):
        with dlkern.threads(n):
            outs.append(native.layer_norm_backward(dy, x, g, mean, invstd))
    for o in outs[1:]:
        for a, e in zip(o, outs[0]):
            assert np.array_equal(a, e)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2000, 40), (700, 30, 2, 2)])
def test_batch_norm_small_planes_do_not_depend_on_threads(dtype, shape):
    """Small planes large enough to be split sum over fixed chunks of rows: the same bits
    at 1, 2 and 3 threads, forward and backward, and the reference's values."""
    import dlkern
    rng = np.random.default_rng(4)
    C = shape[1]
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    g, b = rng.standard_normal(C).astype(dtype), rng.standard_normal(C).astype(dtype)
    outs = []
    for n in (1, 2, 3):
        with dlkern.threads(n):
            y, mean, invstd = native.batch_norm2d(x, g, b)
            outs.append((y, mean, invstd) + tuple(
                native.batch_norm2d_backward(dy, x, g, mean, invstd)))
    for o in outs[1:]:
        for a, e in zip(o, outs[0]):
            assert np.array_equal(a, e)
    y, mean, invstd = reference.batch_norm2d(x, g, b)
    want = (y, mean, invstd) + tuple(reference.batch_norm2d_backward(dy, x, g, mean, invstd))
    for a, e in zip(outs[0], want):
        close(a, e, dtype)
