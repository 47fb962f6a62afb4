"""Random invalid arguments (hypothesis): every public function, given a valid call with
one or two arguments swapped for something wrong, raises TypeError or ValueError — never
another exception, never a crash — on both backends alike, and leaves its inputs as
they were.  DLKERN_FUZZ_EXAMPLES sets the examples per function (60 in CI)."""
import os

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

from calls import VALID  # noqa: E402
from dlkern import native, reference  # noqa: E402

FUZZ = settings(max_examples=int(os.environ.get("DLKERN_FUZZ_EXAMPLES", 60)), deadline=None,
                derandomize=True)
assert sorted(VALID) == sorted(native.implemented())


def _bad_arrays(a):
    """Wrong versions of a float array argument."""
    out = [None, "x", 3, a.astype(np.int32), a.astype(np.complex128), a.astype(np.float16),
           a.astype(object), a[None], a.reshape(-1)[:1].reshape(()), np.empty((0,) * a.ndim)]
    if a.ndim > 1:
        out.append(a[0])
    if a.size > 1:
        out.append(a[..., :-1])
        out.append(np.concatenate([a, a], axis=-1))
    if a.dtype.kind == "f":
        out.append(a.astype(np.float64 if a.dtype == np.float32 else np.float32))
    return out


BAD_SCALARS = [0, -1, -3, 2 ** 62, 2 ** 70, 1.5, float("nan"), float("inf"), -1.0, "x", None,
               (1, 2, 3), (0, 1), (1, -1), (), [2, 2], True, np.array([1, 2])]


def _mutations(value):
    if isinstance(value, np.ndarray):
        return _bad_arrays(value)
    if isinstance(value, list):          # a list of arrays (the optimizers)
        out = [value[:1], value + value[:1], value[0], None, []]
        for i, a in enumerate(value):
            out += [value[:i] + [b] + value[i + 1:] for b in _bad_arrays(a)[:8]]
        return out
    if isinstance(value, str):
        return ["sigmoidal", "", None, 3]
    return BAD_SCALARS


def _slots(name):
    args, kw = VALID[name]
    return list(range(len(args))) + sorted(kw)


def _snapshot(args, kw):
    arrays = []
    for v in list(args) + list(kw.values()):
        if isinstance(v, np.ndarray):
            arrays.append(v)
        elif isinstance(v, list):
            arrays += [a for a in v if isinstance(a, np.ndarray)]
    return arrays, [a.copy() for a in arrays]


def _call(module, name, args, kw):
    """('ok', None) or ('raised', exception type); anything but TypeError and ValueError
    escapes and fails the test."""
    args = [[a.copy() if isinstance(a, np.ndarray) else a for a in v] if isinstance(v, list)
            else v for v in args]       # in-place updates of the valid parts stay local
    arrays, before = _snapshot(args, kw)
    try:
        with np.errstate(all="ignore"):
            getattr(module, name)(*args, **kw)
    except (TypeError, ValueError) as exc:
        for a, b in zip(arrays, before):     # nothing changed by a refused call
            np.testing.assert_array_equal(a, b)
        return "raised", type(exc)
    return "ok", None


@pytest.mark.parametrize("name", sorted(VALID))
@FUZZ
@given(data=st.data())
def test_bad_arguments(name, data):
    """One or two arguments swapped for wrong ones."""
    args, kw = VALID[name]
    args, kw = list(args), dict(kw)
    slots = data.draw(st.lists(st.sampled_from(_slots(name)), min_size=1, max_size=2,
                               unique=True), label="slots")
    for slot in slots:
        value = args[slot] if isinstance(slot, int) else kw[slot]
        bad = data.draw(st.sampled_from(_mutations(value)), label=f"bad {slot}")
        if isinstance(slot, int):
            args[slot] = bad
        else:
            kw[slot] = bad
    mine, theirs = _call(native, name, args, kw), _call(reference, name, args, kw)
    if len(slots) == 1:
        assert mine == theirs, f"native {mine}, reference {theirs}"
    else:    # two faults: the backends may name either first, but both must refuse
        assert mine[0] == theirs[0], f"native {mine}, reference {theirs}"
