"""Every public function has a complete spec (dlkern.specs), and the spec's parts are
sound: the idiomatic NumPy peers compute what the reference does, the PyTorch peers
run, every sample and benchmark point is a valid call."""
import warnings

import numpy as np
import pytest

from conftest import needs_torch, torch
from dlkern import reference
from dlkern.specs import SPECS, Spec, compare

NAMES = sorted(SPECS)


def test_every_public_function_has_a_spec():
    assert sorted(reference.__all__) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_spec_is_complete(name):
    spec = SPECS[name]
    assert isinstance(spec, Spec)
    assert list(spec.samples(np.random.default_rng(0), np.float32)), "no samples"
    args, kwargs = spec.valid()
    getattr(reference, name)(*args, **kwargs)
    assert spec.errors(), "no bad inputs"
    for field in ("grad", "fuzz"):      # a case maker, or the reason there is none
        value = getattr(spec, field)
        assert callable(value) or (isinstance(value, str) and len(value) > 20), field
    if callable(spec.grad):
        assert list(spec.grad()), "no gradient cases"
    assert list(spec.bench(np.random.default_rng(0), np.float32)), "no benchmark shapes"


def _first_bench_points(spec, dtype=np.float32, limit=2):
    """The spec's smallest benchmark points (the first ones: the grids run tiny to large)."""
    points = []
    for point in spec.bench(np.random.default_rng(0), dtype):
        points.append(point)
        if len(points) == limit:
            break
    return points


def _fresh(args):
    return [[a.copy() for a in v] if isinstance(v, list) else v for v in args]


@pytest.mark.parametrize("name", [n for n in NAMES if SPECS[n].numpy is not None
                                  and SPECS[n].numpy_values])
def test_numpy_peer_computes_what_the_reference_does(name):
    spec = SPECS[name]
    for label, args, kwargs in _first_bench_points(spec, np.float64):
        expected = getattr(reference, name)(*_fresh(args), **kwargs)
        actual = spec.numpy(*_fresh(args), **kwargs)
        if not isinstance(expected, tuple):
            expected, actual = [expected], [actual]
        expected = [np.asarray(e) for e in expected]
        actual = [np.asarray(a) for a in actual]
        assert compare(actual, expected)[1] <= 1e-10, f"{name} [{label}]"


@needs_torch
@pytest.mark.parametrize("name", [n for n in NAMES if SPECS[n].torch is not None])
def test_torch_peer_runs(name):
    spec = SPECS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for label, args, kwargs in _first_bench_points(spec):
            spec.torch(torch, *_fresh(args), **kwargs)()


@pytest.mark.parametrize("name", NAMES)
def test_docstring_returns_section_names_each_output(name):
    """The docstring has a Returns section; a function that returns a tuple names its
    outputs there as "(a, b, …):" in the order it returns them — as many as it returns."""
    import inspect
    import re
    doc = inspect.getdoc(getattr(reference, name))
    assert "\nReturns\n-------\n" in doc, f"{name}: no Returns section"
    first = doc.split("\nReturns\n-------\n", 1)[1].split("\n", 1)[0]
    args, kwargs = SPECS[name].valid()
    out = getattr(reference, name)(*_fresh(args), **kwargs)
    if isinstance(out, tuple):
        m = re.match(r"\(([^)]*)\):", first)
        assert m, f"{name}: the Returns section does not open with (a, b, …):"
        assert len(m.group(1).split(",")) == len(out), f"{name}: {m.group(1)} vs {len(out)}"
    else:
        assert not first.startswith("("), f"{name} returns one value, not a tuple"
