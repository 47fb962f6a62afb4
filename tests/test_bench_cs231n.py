"""bench/captioning.py and bench/convnet.py measure what they say: each step gives the
same loss and gradients on both backends and on the assignments' layers in plain NumPy
(bench/cs231n_numpy.py), and the captioning step's PyTorch twin the same loss."""
import numpy as np
import pytest

import dlkern
from conftest import bench_module, needs_torch, torch

cap = bench_module("captioning")
convnet = bench_module("convnet")
layers = bench_module("cs231n_numpy")


def _problem(cell):
    rng = np.random.default_rng(3)
    p = cap.params(rng, V=23, W=6, H=8, F=5, cell=cell)
    features = rng.standard_normal((4, 5)).astype(np.float32)
    captions = rng.integers(0, 23, (4, 7))          # id 0 (<NULL>) is masked out
    return p, features, captions


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_captioning_step_agrees_on_both_backends(cell):
    p, features, captions = _problem(cell)
    out = {}
    for backend in ("native", "numpy"):
        with dlkern.use_backend(backend):
            out[backend] = cap.loss(p, features, captions, cell)
    (ln, gn), (lr, gr) = out["native"], out["numpy"]
    assert abs(ln - lr) <= 1e-5 * abs(lr) and ln > 0
    assert set(gn) == set(p)
    for k in p:
        assert gn[k].shape == p[k].shape
        np.testing.assert_allclose(gn[k], gr[k], atol=1e-5, err_msg=k)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_captioning_step_on_plain_numpy_layers_agrees(cell, dtype):
    """The plain-NumPy layers the bench compares with compute what compat computes."""
    p, features, captions = _problem(cell)
    p = {k: v.astype(dtype) for k, v in p.items()}
    lc, gc = cap.loss(p, features.astype(dtype), captions, cell)
    ln, gn = cap.loss(p, features.astype(dtype), captions, cell, layers)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert abs(ln - lc) <= tol * abs(lc) and ln > 0
    assert set(gn) == set(p)
    for k in p:
        assert gn[k].shape == p[k].shape and gn[k].dtype == dtype, k
        assert np.abs(gn[k]).max() > 0, k
        np.testing.assert_allclose(gn[k], gc[k], rtol=tol, atol=tol, err_msg=k)


@needs_torch
@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_captioning_torch_twin_computes_the_same_loss(cell):
    p, features, captions = _problem(cell)
    ours, _ = cap.loss(p, features, captions, cell)
    theirs = cap.torch_step(torch, p, features, captions, cell)
    assert abs(ours - theirs) <= 1e-5 * abs(ours)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_convnet_step_agrees_on_both_backends(dtype):
    rng = np.random.default_rng(5)
    p = convnet.params(rng, HW=8, F=4, K=3, hidden=6, dtype=dtype)
    p = {k: v * 300 for k, v in p.items()}           # gradients well above rounding
    X = rng.standard_normal((3, 3, 8, 8)).astype(dtype)
    y = rng.integers(0, 10, 3)
    out = {}
    for backend in ("native", "numpy"):
        with dlkern.use_backend(backend):
            out[backend] = convnet.loss(p, X, y)
    (ln, gn), (lr, gr) = out["native"], out["numpy"]
    assert abs(ln - lr) <= 1e-5 * abs(lr) and ln > 0
    assert set(gn) == set(p)
    for k in p:
        assert gn[k].shape == p[k].shape and gn[k].dtype == dtype
        assert np.abs(gr[k]).max() > 0, k
        np.testing.assert_allclose(gn[k], gr[k], rtol=1e-4, atol=1e-6, err_msg=k)
