"""The shape of a spec, and the helpers the family files share."""
from dataclasses import dataclass
from typing import Callable, Optional, Union

import numpy as np

# Native against reference, relative to each array's scale (DESIGN.md conventions).
TOLERANCE = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-4}
DTYPES = (np.float32, np.float64)


@dataclass(frozen=True)
class Spec:
    """Everything the checks, tests, fuzzers and benchmarks know about one public
    function.  A field that does not apply holds a string saying why (and where the
    property is checked instead), so that a missing field is never silent.

    name     the public function (a name of dlkern.reference.__all__)
    samples  (rng, dtype) -> iterable of (label, run): ``run(module)`` calls
             ``module.<name>`` on copies of fixed inputs and returns the arrays it
             produced or updated (``dlkern check``, tests/test_native.py)
    valid    () -> (args, kwargs): one small valid float32 call (the hardening tests)
    errors   () -> [(args, kwargs, exception, message regex)]: bad inputs and the
             error both backends must raise (tests/test_errors.py)
    grad     () -> iterable of Grad: finite-difference cases in float64 (the
             reference's gradient is checked, tests/test_gradients.py); or why none
    fuzz     (strategies) -> a hypothesis strategy of Case (tests/test_fuzz.py); the
             argument is ``hypothesis.strategies``, so that hypothesis stays a test
             dependency; or why none
    bench    (rng, dtype) -> iterable of (label, args, kwargs): the shapes the sweep
             times (bench/sweep.py)
    numpy    the idiomatic NumPy expression a user would write, with the function's
             signature (the sweep times it beside the reference), or None
    numpy_values  False when that expression does the same work but gives other values
             (dropout's mask from NumPy's own generator): it is timed, not compared
    torch    (torch, *args, **kwargs) -> a zero-argument callable doing the same work
             in PyTorch on tensors made beforehand, or None
    tolerance  {dtype: relative error} for native against reference
    """
    name: str
    samples: Callable
    valid: Callable
    errors: Callable
    grad: Union[Callable, str]
    fuzz: Union[Callable, str]
    bench: Callable
    numpy: Optional[Callable] = None
    numpy_values: bool = True
    torch: Optional[Callable] = None
    tolerance: Optional[dict] = None

    def tol(self, dtype):
        return (self.tolerance or TOLERANCE)[np.dtype(dtype)]


@dataclass(frozen=True)
class Grad:
    """A finite-difference case: ``f(*inputs)`` is the forward (returning an array or
    a tuple of them); ``analytic[k]`` is the gradient of ``<dy, f(*inputs)>`` with
    respect to ``inputs[wrt[k]]``.  eps: the central-difference step."""
    label: str
    f: Callable
    inputs: list
    analytic: list
    dy: object
    wrt: Optional[list] = None
    eps: float = 1e-6


@dataclass(frozen=True)
class Case:
    """A fuzz example: ``run(module)`` as in samples; tol overrides the spec's."""
    dtype: type
    run: Callable
    tol: Optional[float] = None


def rand(rng, dtype, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def fixed_rand(*shape, dtype=np.float32, seed=0):
    """Inputs of `valid` and `errors`: the same values on every call."""
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def ones(*shape):
    return np.ones(shape, np.float32)


SPECIALS = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -1e-310, 3e38, -1e300]


def sprinkle(x, rng, on=True):
    """With `on`, special values (±0, ±inf, NaN, subnormals, huge) at random places;
    values the dtype cannot hold become inf or 0, as a cast makes them."""
    if on and x.size:
        flat = x.reshape(-1)
        with np.errstate(over="ignore"):
            for v in rng.choice(np.array(SPECIALS), size=min(flat.size, 6)):
                flat[rng.integers(flat.size)] = x.dtype.type(v)
    return x


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
    return buf[tuple(every_other)]


def view(x, rng, on=True):
    """With `on`, the same values as a non-contiguous view along a random axis."""
    return noncontiguous(x, int(rng.integers(x.ndim))) if on and x.ndim else x


def shifted(x):
    """A C-contiguous copy of x that starts one element into its buffer (unaligned)."""
    buf = np.empty(x.size + 1, x.dtype)
    out = buf[1:].reshape(x.shape)
    out[...] = x
    return out


def tensors(torch, *arrays):
    """PyTorch tensors sharing the arrays' memory (None stays None)."""
    return [None if a is None else torch.from_numpy(np.ascontiguousarray(a)) for a in arrays]


def as_arrays(result):
    """A loss's (value, gradient) as two arrays, for comparison."""
    loss, grad = result
    return [np.array([loss]), grad]


def compare(actual, expected):
    """(max abs error, max error relative to each expected array's largest magnitude);
    NaN where the other has NaN counts as equal, an integer array must match exactly."""
    if isinstance(actual, np.ndarray):
        actual, expected = [actual], [expected]
    abs_err, rel_err = 0.0, 0.0
    if len(actual) != len(expected):
        return float("inf"), float("inf")
    for a, e in zip(actual, expected):
        a, e = np.asarray(a), np.asarray(e)
        if a.shape != e.shape:
            return float("inf"), float("inf")
        if a.size == 0:
            continue
        if a.dtype.kind in "iub" or e.dtype.kind in "iub":
            if not np.array_equal(a, e):
                return float("inf"), float("inf")
            continue
        a, e = a.astype(np.float64), e.astype(np.float64)
        same = (a == e) | (np.isnan(a) & np.isnan(e))        # equal infinities too
        with np.errstate(invalid="ignore"):
            d = np.where(same, 0.0, np.abs(a - e))
        d = np.where(np.isnan(d), np.inf, d)
        scale = max(float(np.max(np.abs(np.where(np.isfinite(e), e, 0.0)))), 1e-30)
        abs_err = max(abs_err, float(np.max(d)))
        rel_err = max(rel_err, float(np.max(d)) / scale)
    return abs_err, rel_err
