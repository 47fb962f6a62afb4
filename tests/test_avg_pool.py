"""avg_pool2d against PyTorch over every combination of kernel, stride, padding and
count_include_pad, on both backends."""
import itertools

import numpy as np
import pytest

from dlkern import native, reference
from conftest import DTYPES, needs_torch, torch

GEOMETRIES = [(k, s, p) for k, s, p in itertools.product([1, 2, 3, (2, 3)], [1, 2, (2, 1)],
                                                         [0, 1])
              if 2 * p <= min(np.atleast_1d(k))]


@needs_torch
@pytest.mark.parametrize("m", [reference, native], ids=["numpy", "native"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("inc", [True, False])
def test_avg_pool2d_and_backward_match_torch(m, dtype, inc):
    rng = np.random.default_rng(int(inc))
    for shape in [(2, 3, 9, 8), (1, 1, 5, 7)]:
        x = rng.standard_normal(shape).astype(dtype)
        for k, s, p in GEOMETRIES:
            tx = torch.tensor(x, requires_grad=True)
            ty = torch.nn.functional.avg_pool2d(tx, k, s, p, count_include_pad=inc)
            dy = rng.standard_normal(tuple(ty.shape)).astype(dtype)
            ty.backward(torch.tensor(dy))
            tol = 1e-5 if dtype == np.float32 else 1e-12
            y = m.avg_pool2d(x, k, s, p, count_include_pad=inc)
            np.testing.assert_allclose(y, ty.detach().numpy(), atol=tol, err_msg=f"{k} {s} {p}")
            dx = m.avg_pool2d_backward(dy, shape, k, s, p, count_include_pad=inc)
            np.testing.assert_allclose(dx, tx.grad.numpy(), atol=tol, err_msg=f"{k} {s} {p}")


def test_a_kernel_of_the_whole_plane_is_global_average_pooling():
    x = np.random.default_rng(0).standard_normal((4, 5, 7, 6))
    np.testing.assert_allclose(native.avg_pool2d(x, (7, 6))[..., 0, 0], x.mean(axis=(2, 3)),
                               rtol=1e-12)
