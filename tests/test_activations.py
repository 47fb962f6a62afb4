"""GELU and tanh against PyTorch and against math.erf, on both backends."""
import math

import numpy as np
import pytest

from dlkern import native, reference
from conftest import DTYPES, needs_torch, torch

BACKENDS = [reference, native]


@needs_torch
@pytest.mark.parametrize("m", BACKENDS, ids=["numpy", "native"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("n", [1, 17, 100_003])
def test_gelu_and_its_gradient_match_torch(m, dtype, approximate, n):
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 4).astype(dtype)
    x[:min(n, 4)] = np.array([0.0, -12.0, 12.0, -3.5], dtype)[:min(n, 4)]
    dy = rng.standard_normal(n).astype(dtype)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.gelu(tx, approximate=approximate)
    ty.backward(torch.tensor(dy))
    tol = 3e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(m.gelu(x, approximate), ty.detach().numpy(), rtol=tol,
                               atol=tol)
    np.testing.assert_allclose(m.gelu_backward(dy, x, approximate), tx.grad.numpy(),
                               rtol=tol, atol=tol * 4)


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_tanh_matches_torch(dtype):
    x = np.linspace(-20, 20, 100_001).astype(dtype)
    tol = 2e-7 if dtype == np.float32 else 1e-15
    np.testing.assert_allclose(native.tanh(x), torch.tanh(torch.tensor(x)).numpy(), atol=tol)


def test_float_gelu_follows_math_erf():
    """Exact GELU in float32 against x/2 (1 + math.erf(x/√2)) in double, on a fine grid:
    the error bound of dlk_math.h's erf, carried through GELU."""
    x = np.linspace(-8, 8, 400_001).astype(np.float32)
    want = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.astype(float)])
    err = np.abs(native.gelu(x).astype(np.float64) - want)
    assert np.all(err <= 2.5e-7 * np.maximum(np.abs(x), 1.0)), float(np.max(err))
