"""Shared test helpers: the per-dtype tolerance table, PyTorch as an optional oracle,
and the two backends as a fixture."""
import numpy as np
import pytest

import dlkern
from dlkern import reference

try:  # PyTorch is a test oracle only, never a dependency
    import torch
    torch.set_num_threads(2)
except ImportError:  # pragma: no cover
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch not installed "
                                 "(pip install torch==2.13.0 to compare against it)")

# Native vs reference (DESIGN.md conventions).
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-4, atol=1e-5)}
DTYPES = [np.float64, np.float32]


@pytest.fixture(params=["numpy", "native"])
def backend(request):
    """Runs a test once per backend, with dlkern's public functions switched to it."""
    with dlkern.use_backend(request.param):
        yield request.param


def backend_module(name):
    if name == "numpy":
        return reference
    from dlkern import native
    return native


def assert_close(actual, expected, dtype, scale=1.0):
    tol = TOL[np.dtype(dtype).type]
    np.testing.assert_allclose(actual, expected, rtol=tol["rtol"], atol=tol["atol"] * scale)


def noncontiguous(x, axis=-1):
    """The same values as x in a non-contiguous view (every other element of a
    twice-as-large buffer along `axis`)."""
    if x.ndim == 0:
        return x
    shape = list(x.shape)
    shape[axis] *= 2
    buf = np.empty(shape, dtype=x.dtype)
    every_other = [slice(None)] * x.ndim
    every_other[axis] = slice(None, None, 2)
    buf[tuple(every_other)] = x
    view = buf[tuple(every_other)]
    assert not view.flags.c_contiguous or x.shape[axis] <= 1 or x.size == 0
    return view
