"""cross_entropy's ignore_index against PyTorch (masked / temporal cross-entropy)."""
import numpy as np
import pytest

from dlkern import native, reference
from conftest import DTYPES, needs_torch, torch


@needs_torch
@pytest.mark.parametrize("m", [reference, native], ids=["numpy", "native"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("B,C,ignore,frac", [(1, 3, -100, 0.0), (50, 1004, 0, 0.4),
                                             (17, 5, -1, 0.9), (4, 2, 3, 1.0)])
def test_ignored_rows_add_nothing_as_in_torch(m, dtype, B, C, ignore, frac):
    rng = np.random.default_rng(B * C)
    z = (rng.standard_normal((B, C)) * 4).astype(dtype)
    labels = rng.integers(0, C, B)
    labels[rng.random(B) < frac] = ignore
    if frac == 1.0:
        labels[:] = ignore
    loss, grad = m.cross_entropy(z, labels, ignore_index=ignore)
    tz = torch.tensor(z, requires_grad=True)
    tl = torch.nn.functional.cross_entropy(tz, torch.tensor(labels), ignore_index=ignore)
    tl.backward()
    tol = 1e-5 if dtype == np.float32 else 1e-12
    if np.isnan(tl.item()):
        assert np.isnan(loss)
    else:
        assert abs(loss - tl.item()) <= tol * max(1.0, abs(tl.item()))
    np.testing.assert_allclose(grad, tz.grad.numpy(), atol=tol)
    assert not grad[labels == ignore].any()
