"""Central-difference gradient checks in float64 (PyTorch gradcheck's defaults:
eps 1e-6, atol 1e-5, rtol 1e-3) with a random upstream gradient."""
import numpy as np


def numeric_grad(f, arrays, index, dy, eps=1e-6, max_entries=60, rng=None):
    """d<dy, f(arrays)>/d arrays[index], by central differences, at up to max_entries
    randomly chosen entries; returns (positions, values)."""
    rng = rng or np.random.default_rng(0)
    x = arrays[index]
    flat = x.reshape(-1)
    n = flat.size
    picks = np.arange(n) if n <= max_entries else rng.choice(n, max_entries, replace=False)
    out = []
    for i in picks:
        old = flat[i]
        flat[i] = old + eps
        fp = _dot(dy, f(*arrays))
        flat[i] = old - eps
        fm = _dot(dy, f(*arrays))
        flat[i] = old
        out.append((fp - fm) / (2 * eps))
    return picks, np.array(out)


def _dot(dy, y):
    if isinstance(y, tuple):
        return sum(float(np.sum(a * b)) for a, b in zip(dy, y) if a is not None)
    return float(np.sum(dy * y))


def check(f, arrays, analytic, dy, indices=None, atol=1e-5, rtol=1e-3, **kw):
    """Assert that analytic[k] (the gradient wrt arrays[indices[k]]) matches differences."""
    indices = range(len(analytic)) if indices is None else indices
    for k, index in zip(range(len(analytic)), indices):
        picks, num = numeric_grad(f, arrays, index, dy, **kw)
        ana = np.asarray(analytic[k]).reshape(-1)[picks]
        np.testing.assert_allclose(ana, num, atol=atol, rtol=rtol,
                                   err_msg=f"gradient of input {index}")
