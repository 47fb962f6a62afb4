"""Shared test helpers: the per-dtype tolerance table, PyTorch as an optional oracle,
and the two backends as a fixture."""
import importlib.util
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import dlkern
from dlkern import reference
from dlkern.specs import noncontiguous  # noqa: F401  (the tests' helper)

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


def bench_module(name):
    """bench/<name>.py, imported (bench/ is not a package)."""
    path = os.path.join(os.path.dirname(__file__), "..", "bench", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_python(code, env=None):
    """Runs `python -c code` in a fresh interpreter and returns its stdout; fails with
    its stderr. It runs outside the checkout: from the root, `-c` would import the
    unbuilt sources instead of the installed package."""
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                       text=True, cwd=tempfile.gettempdir(), timeout=600)
    assert r.returncode == 0, r.stderr
    return r.stdout
