"""Bad input gets a TypeError/ValueError that starts with the function's name and says
what was expected and what came — on both backends — and changes no input."""
import warnings

import numpy as np
import pytest

import dlkern
from conftest import backend  # noqa: F401  (fixture)
from dlkern.specs import SPECS

ERRORS = [(name,) + case for name, spec in SPECS.items() for case in spec.errors()]


def _arrays(args):
    """The arrays among the arguments, lists of arrays (the optimizers) opened."""
    for a in args:
        if isinstance(a, np.ndarray):
            yield a
        elif isinstance(a, list):
            yield from (x for x in a if isinstance(x, np.ndarray))


@pytest.mark.parametrize("name,args,kwargs,exc,pattern", ERRORS,
                         ids=[f"{e[0]}-{i}" for i, e in enumerate(ERRORS)])
def test_bad_input(backend, name, args, kwargs, exc, pattern):
    before = [a.copy() for a in _arrays(args)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # the fallback's notice
        with pytest.raises(exc, match=pattern):
            getattr(dlkern, name)(*args, **kwargs)
    for a, b in zip(_arrays(args), before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_outputs_keep_the_input_dtype(backend, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 6)).astype(dtype)
    w = rng.standard_normal((4, 3, 3, 3)).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert dlkern.conv2d(x, w, padding=1).dtype == dtype
        assert dlkern.max_pool2d(x, 2)[0].dtype == dtype
        assert all(a.dtype == dtype for a in dlkern.batch_norm2d(x, np.ones(3, dtype), np.zeros(3, dtype)))
        q = rng.standard_normal((2, 5, 4)).astype(dtype)
        assert all(a.dtype == dtype for a in dlkern.scaled_dot_product_attention(q, q, q, True))
        hs = dlkern.rnn_forward(q, np.zeros((2, 3), dtype), np.eye(3, dtype=dtype),
                                np.ones((3, 4), dtype), np.zeros(3, dtype))
        assert hs.dtype == dtype
