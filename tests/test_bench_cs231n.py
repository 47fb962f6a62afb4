"""bench/captioning.py and bench/convnet.py measure what they say: each step gives the
same loss and gradients on both backends, and the captioning step's PyTorch twin the
same loss."""
import importlib.util
import os

import numpy as np
import pytest

import dlkern
from conftest import needs_torch, torch



def _bench(name):
    path = os.path.join(os.path.dirname(__file__), "..", "bench", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cap = _bench("captioning")
convnet = _bench("convnet")


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
