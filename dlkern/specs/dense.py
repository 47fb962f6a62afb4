"""Specs of the dense layer and the activations (seed sections 1, 3, 4)."""
import numpy as np

from ._base import Case, Grad, Spec, fixed_rand, ones, rand, sprinkle, tensors, view

_LINEAR_SHAPES = [("linear_mlp-like", 16, 78, 51), ("batch 1", 1, 5, 3), ("odd", 7, 13, 1),
                  ("wide", 33, 3, 70)]
_DIMS = [1, 2, 3, 5, 7, 13, 31, 64, 97]      # prime and size-1 dimensions for the fuzzers


def _linear_samples(rng, dtype):
    for label, B, I, O in _LINEAR_SHAPES:
        x, w, b = rand(rng, dtype, B, I), rand(rng, dtype, O, I), rand(rng, dtype, O)
        yield label, lambda m, x=x, w=w, b=b: m.linear(x, w, b)
    yield "no bias, transposed x", lambda m, x=x, w=w: m.linear(np.asfortranarray(x), w)
    wio = np.ascontiguousarray(w.T)
    yield "weight_layout in_out", lambda m, x=x, w=wio, b=b: m.linear(x, w, b, "in_out")
    yield "in_out, transposed w", lambda m, x=x, w=w: m.linear(x, w.T, None, "in_out")


def _linear_backward_samples(rng, dtype):
    for label, B, I, O in _LINEAR_SHAPES:
        x, w, dy = rand(rng, dtype, B, I), rand(rng, dtype, O, I), rand(rng, dtype, B, O)
        yield label, lambda m, dy=dy, x=x, w=w: m.linear_backward(dy, x, w)
    yield "non-contiguous dy", lambda m, dy=dy, x=x, w=w: m.linear_backward(
        np.asfortranarray(dy), x, w)
    wio = np.ascontiguousarray(w.T)
    yield "weight_layout in_out", lambda m, dy=dy, x=x, w=wio: m.linear_backward(
        dy, x, w, weight_layout="in_out")
    yield "in_out, transposed x", lambda m, dy=dy, x=x, w=wio: m.linear_backward(
        dy, np.asfortranarray(x), w, weight_layout="in_out")


def _linear_fuzz_inputs(B, D, O, specials, strided, dtype, seed):
    rng = np.random.default_rng(seed)
    x = view(sprinkle(rand(rng, dtype, B, D), rng, specials), rng, strided)
    w = view(rand(rng, dtype, O, D), rng, strided)
    return rng, x, w


def _linear_fuzz(st):
    def make(B, D, O, bias, specials, strided, dtype, seed):
        rng, x, w = _linear_fuzz_inputs(B, D, O, specials, strided, dtype, seed)
        b = rand(rng, dtype, O) if bias else None
        return Case(dtype, lambda m: m.linear(x, w, b))
    d = st.sampled_from(_DIMS)
    return st.builds(make, d, d, d, st.booleans(), st.booleans(), st.booleans(),
                     st.sampled_from([np.float32, np.float64]), st.integers(0, 2 ** 31))


def _linear_backward_fuzz(st):
    def make(B, D, O, specials, strided, dtype, seed):
        rng, x, w = _linear_fuzz_inputs(B, D, O, specials, strided, dtype, seed)
        dy = view(rand(rng, dtype, B, O), rng, strided)
        return Case(dtype, lambda m: m.linear_backward(dy, x, w))
    d = st.sampled_from(_DIMS)
    return st.builds(make, d, d, d, st.booleans(), st.booleans(),
                     st.sampled_from([np.float32, np.float64]), st.integers(0, 2 ** 31))


def _linear_grad():
    from .. import reference as R
    rng = np.random.default_rng(42)
    for label, B, I, O in [("5x4 -> 3", 5, 4, 3), ("batch 1", 1, 6, 2)]:
        x, w, b = rand(rng, float, B, I), rand(rng, float, O, I), rand(rng, float, O)
        dy = rand(rng, float, B, O)
        yield Grad(label, R.linear, [x, w, b], list(R.linear_backward(dy, x, w)), dy)
        wio = np.ascontiguousarray(w.T)     # a (D_in, D_out) weight: y = x w + b
        yield Grad(label + ", in_out", lambda x, w, b: R.linear(x, w, b, "in_out"),
                   [x, wio, b], list(R.linear_backward(dy, x, wio, "in_out")), dy)


def _linear_bench(rng, dtype):
    for B, I, O in [(4, 2, 2), (1, 512, 512), (10, 3072, 10), (768, 64, 64), (256, 784, 512),
                    (2048, 1024, 1024)]:
        yield f"{B}x{I}->{O}", (rand(rng, dtype, B, I), rand(rng, dtype, O, I, scale=0.05),
                                rand(rng, dtype, O)), {}


def _linear_backward_bench(rng, dtype):
    for label, (x, w, _), kw in _linear_bench(rng, dtype):
        yield label, (rand(rng, dtype, x.shape[0], w.shape[0]), x, w), kw


def _numpy_linear_backward(dy, x, w):
    return dy @ w, dy.T @ x, dy.sum(axis=0)


_ELEMENTWISE_SHAPES = [(1,), (37,), (64, 32, 28, 28), (3, 1000)]


def _with_specials(x):
    flat = x.reshape(-1)
    flat[:4] = [0.0, -0.0, 80.0, -80.0][:flat.size]
    if flat.size > 6:
        flat[4:7] = [np.inf, -np.inf, np.nan]
    if flat.size > 8:                   # where float's e^x turns subnormal
        flat[7:9] = [-87.2, -95.0]
    return x


def _elementwise_samples(name):
    def samples(rng, dtype):
        for shape in _ELEMENTWISE_SHAPES:
            x = _with_specials(rand(rng, dtype, *shape, scale=3))
            yield f"{shape}", lambda m, x=x: getattr(m, name)(x)
        x = rand(rng, dtype, 6, 10)[:, ::3]
        yield "non-contiguous", lambda m, x=x: getattr(m, name)(x)
    return samples


def _gelu_samples(rng, dtype):
    for approximate in ("none", "tanh"):
        for label, run in _elementwise_samples("gelu")(rng, dtype):
            yield f"{approximate}, {label}", lambda m, run=run, a=approximate: run(
                _Bound(m, "gelu", approximate=a))


def _gelu_backward_samples(rng, dtype):
    for approximate in ("none", "tanh"):
        for shape in _ELEMENTWISE_SHAPES:
            x = _with_specials(rand(rng, dtype, *shape, scale=3))
            dy = rand(rng, dtype, *shape)
            yield f"{approximate}, {shape}", lambda m, dy=dy, x=x, a=approximate: \
                m.gelu_backward(dy, x, approximate=a)


class _Bound:
    """A module whose `name` has keyword arguments set (a sample run through it)."""

    def __init__(self, module, name, **kw):
        self._f = getattr(module, name)
        self._kw = kw
        setattr(self, name, self._call)

    def _call(self, *args):
        return self._f(*args, **self._kw)


def _gelu_grad():
    from .. import reference as R
    rng = np.random.default_rng(2)
    for approximate in ("none", "tanh"):
        x, dy = rand(rng, float, 5, 7, scale=2), rand(rng, float, 5, 7)
        yield Grad(approximate, lambda x, a=approximate: R.gelu(x, a), [x],
                   [R.gelu_backward(dy, x, approximate)], dy)


def _tanh_grad():
    from .. import reference as R
    rng = np.random.default_rng(3)
    x, dy = rand(rng, float, 4, 6), rand(rng, float, 4, 6)
    yield Grad("1 - tanh²", R.tanh, [x], [dy * (1 - np.tanh(x) ** 2)], dy)


def _gelu_bench(rng, dtype):
    for n in (10, 1_000, 100_000, 1_000_000):      # the reference's erf is a Python call
        x = rand(rng, dtype, n)
        yield f"{n:,} elements", (x,), {}
        yield f"{n:,} elements tanh", (x,), {"approximate": "tanh"}


def _gelu_backward_bench(rng, dtype):
    for label, (x,), kw in _gelu_bench(rng, dtype):
        yield label, (rand(rng, dtype, x.size), x), kw


try:                                # what a NumPy user would call for erf, if installed
    from scipy.special import erf as _scipy_erf
except ImportError:  # pragma: no cover
    _scipy_erf = None


def _numpy_gelu(x, approximate="none"):
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    from .. import reference
    if _scipy_erf is None:
        return reference.gelu(x)
    return 0.5 * x * (1 + _scipy_erf(x / np.sqrt(2)))


def _numpy_gelu_backward(dy, x, approximate="none"):
    if approximate == "tanh":
        t = np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))
        return dy * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * np.sqrt(2 / np.pi)
                     * (1 + 3 * 0.044715 * x * x))
    from .. import reference
    if _scipy_erf is None:
        return reference.gelu_backward(dy, x)
    return dy * (0.5 * (1 + _scipy_erf(x / np.sqrt(2)))
                 + x * np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi))


def _torch_gelu(torch, x, approximate="none"):
    t = torch.from_numpy(x)
    return lambda: torch.nn.functional.gelu(t, approximate=approximate)


def _torch_gelu_backward(torch, dy, x, approximate="none"):
    a, b = torch.from_numpy(dy), torch.from_numpy(x)
    return lambda: torch.ops.aten.gelu_backward(a, b, approximate=approximate)


def _relu_backward_samples(rng, dtype):
    for shape in _ELEMENTWISE_SHAPES:
        x = _with_specials(rand(rng, dtype, *shape))
        dy = rand(rng, dtype, *shape)
        yield f"{shape}", lambda m, dy=dy, x=x: m.relu_backward(dy, x)


def _activation_fuzz(name):
    def fuzz(st):
        def make(shape, specials, strided, dtype, seed):
            while np.prod(shape) > 100_000:          # 97⁴ elements would take seconds
                shape = shape[:-1]
            rng = np.random.default_rng(seed)
            x = view(sprinkle(rand(rng, dtype, *shape, scale=30), rng, specials), rng,
                     strided)
            if name == "softmax":
                axis = int(rng.integers(-x.ndim, x.ndim))
                return Case(dtype, lambda m: m.softmax(x, axis))
            kw = {}
            if name.startswith("gelu"):
                kw["approximate"] = str(rng.choice(["none", "tanh"]))
            if name.endswith("_backward"):
                dy = view(rand(rng, dtype, *shape), rng, strided)
                return Case(dtype, lambda m: getattr(m, name)(dy, x, **kw))
            return Case(dtype, lambda m: getattr(m, name)(x, **kw))
        return st.builds(make, st.lists(st.sampled_from(_DIMS), min_size=1, max_size=4),
                         st.booleans(), st.booleans(),
                         st.sampled_from([np.float32, np.float64]), st.integers(0, 2 ** 31))
    return fuzz


def _relu_grad():
    from .. import reference as R
    rng = np.random.default_rng(1)
    x = rand(rng, float, 6, 7)
    x[np.abs(x) < 1e-3] = 0.5                     # away from the kink
    dy = rand(rng, float, 6, 7)
    yield Grad("6x7 away from zero", R.relu, [x], [R.relu_backward(dy, x)], dy)


def _elementwise_bench(rng, dtype):
    for n in (10, 1_000, 100_000, 10_000_000):
        yield f"{n:,} elements", (rand(rng, dtype, n),), {}


def _relu_backward_bench(rng, dtype):
    for label, (x,), kw in _elementwise_bench(rng, dtype):
        yield label, (rand(rng, dtype, x.size), x), kw


def _softmax_samples(rng, dtype):
    for shape, axis in [((4, 10), -1), ((3, 5, 7), 1), ((8,), 0), ((2, 3, 1), 2),
                        ((128, 1000), -1)]:
        x = rand(rng, dtype, *shape, scale=10)
        yield f"{shape} axis {axis}", lambda m, x=x, axis=axis: m.softmax(x, axis)
    x = np.array([[1000.0, -1000.0, 0.0], [np.nan, 1.0, 2.0]], dtype)
    yield "huge and NaN", lambda m, x=x: m.softmax(x)
    # terms e^-86 .. e^-104 below the max (float's subnormal range, where the native
    # float exponential gives 0), -inf (masks; a row masked but for one), a NaN after
    # the max
    x = np.full((4, 40), -np.inf, dtype)
    x[0] = -np.linspace(0, 104, 40)
    x[1, :3] = [5.0, -90.0, -np.inf]
    x[2, 17] = 3.0
    x[3] = np.linspace(-3, 3, 40)
    x[3, 30] = np.nan
    yield "underflow, masks, inf, NaN", lambda m, x=x: m.softmax(x)


def _rows_bench(rng, dtype):
    """Rows × columns from 10 to 50,000 columns (vocabularies)."""
    for rows, cols in [(1, 10), (64, 10), (800, 1004), (16, 50_000), (4096, 128)]:
        yield f"{rows}x{cols}", (rand(rng, dtype, rows, cols, scale=3),), {}


def _numpy_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _torch_unary(fn):
    def make(torch, x, *args, **kw):
        t = torch.from_numpy(np.ascontiguousarray(x))
        return lambda: getattr(torch, fn)(t, *args, **kw)
    return make


NO_BACKWARD = ("no backward function in the contract; its derivative is checked where a "
               "caller uses it (the layers' tests, tests/test_nn.py)")

SPECS = [
    Spec("linear", _linear_samples,
         valid=lambda: ([fixed_rand(4, 3), fixed_rand(2, 3), fixed_rand(2)], {}),
         errors=lambda: [
             ((ones(2, 3), ones(4, 2)), {}, ValueError, r"linear: w has 2 input features, x has 3"),
             ((ones(2, 3, 1), ones(4, 3)), {}, ValueError, r"linear: x must be 2-D \(B, D_in\), got shape \(2, 3, 1\)"),
             ((ones(2, 3), ones(4, 3), ones(3)), {}, ValueError, r"linear: b must have shape \(4,\), got \(3,\)"),
             ((ones(2, 3), np.ones((4, 3))), {}, TypeError, r"linear: w is float64, x is float32"),
             ((ones(2, 3), ones(4, 3)), {"weight_layout": "in_out"}, ValueError, r"linear: w has 4 input features, x has 3 \(weight_layout='in_out'"),
             ((ones(2, 3), ones(4, 3)), {"weight_layout": "io"}, ValueError, r"linear: weight_layout must be 'out_in' or 'in_out', got 'io'")],
         grad=_linear_grad, fuzz=_linear_fuzz, bench=_linear_bench,
         numpy=lambda x, w, b=None: x @ w.T if b is None else x @ w.T + b,
         torch=lambda torch, x, w, b=None: (lambda t=tensors(torch, x, w, b):
                                            torch.nn.functional.linear(*t))),
    Spec("linear_backward", _linear_backward_samples,
         valid=lambda: ([fixed_rand(4, 2), fixed_rand(4, 3), fixed_rand(2, 3)], {}),
         errors=lambda: [
             ((ones(2, 5), ones(2, 3), ones(4, 3)), {}, ValueError, r"linear_backward: dy must have shape \(2, 4\) \(B, D_out\), got \(2, 5\)")],
         grad="the gradient of linear: linear's cases check linear_backward",
         fuzz=_linear_backward_fuzz, bench=_linear_backward_bench,
         numpy=_numpy_linear_backward,
         torch=lambda torch, dy, x, w: (lambda t=tensors(torch, dy, x, w):
                                        (t[0] @ t[2], t[0].T @ t[1], t[0].sum(0)))),
    Spec("relu", _elementwise_samples("relu"),
         valid=lambda: ([fixed_rand(3, 4)], {}),
         errors=lambda: [
             ((np.ones(3, np.int64),), {}, TypeError, r"relu: x must be float32 or float64, got int64")],
         grad=_relu_grad, fuzz=_activation_fuzz("relu"), bench=_elementwise_bench,
         numpy=lambda x: np.maximum(x, 0), torch=_torch_unary("relu")),
    Spec("relu_backward", _relu_backward_samples,
         valid=lambda: ([fixed_rand(3, 4), fixed_rand(3, 4, seed=1)], {}),
         errors=lambda: [
             ((ones(2, 5), ones(2, 4)), {}, ValueError, r"relu_backward: dy has shape \(2, 5\), x has shape \(2, 4\)")],
         grad="the gradient of relu: relu's cases check relu_backward",
         fuzz=_activation_fuzz("relu_backward"), bench=_relu_backward_bench,
         numpy=lambda dy, x: dy * (x > 0),
         torch=lambda torch, dy, x: (lambda a=torch.from_numpy(dy), b=torch.from_numpy(x):
                                     torch.where(b > 0, a, 0.0))),
    Spec("sigmoid", _elementwise_samples("sigmoid"),
         valid=lambda: ([fixed_rand(3, 4)], {}),
         errors=lambda: [
             (([1.0, 2.0],), {}, TypeError, r"sigmoid: x must be a numpy.ndarray, got list")],
         grad=NO_BACKWARD, fuzz=_activation_fuzz("sigmoid"), bench=_elementwise_bench,
         numpy=lambda x: 1 / (1 + np.exp(-x)), torch=_torch_unary("sigmoid")),
    Spec("softmax", _softmax_samples,
         valid=lambda: ([fixed_rand(3, 4)], {"axis": -1}),
         errors=lambda: [
             ((ones(3),), {"axis": 2}, ValueError, r"softmax: axis must be an int in")],
         grad=NO_BACKWARD, fuzz=_activation_fuzz("softmax"), bench=_rows_bench,
         numpy=_numpy_softmax,
         torch=lambda torch, x, axis=-1: (lambda t=torch.from_numpy(x): torch.softmax(t, axis))),
    Spec("tanh", _elementwise_samples("tanh"),
         valid=lambda: ([fixed_rand(3, 4)], {}),
         errors=lambda: [
             ((np.ones(3, np.int32),), {}, TypeError, r"tanh: x must be float32 or float64, got int32")],
         grad=_tanh_grad, fuzz=_activation_fuzz("tanh"), bench=_elementwise_bench,
         numpy=np.tanh, torch=_torch_unary("tanh")),
    Spec("gelu", _gelu_samples,
         valid=lambda: ([fixed_rand(3, 4)], {"approximate": "tanh"}),
         errors=lambda: [
             ((ones(3),), {"approximate": "erf"}, ValueError, r"gelu: approximate must be 'none' or 'tanh', got 'erf'"),
             (([0.5],), {}, TypeError, r"gelu: x must be a numpy.ndarray, got list")],
         grad="the gradient of gelu: gelu_backward's cases check it",
         fuzz=_activation_fuzz("gelu"), bench=_gelu_bench, numpy=_numpy_gelu,
         torch=_torch_gelu),
    Spec("gelu_backward", _gelu_backward_samples,
         valid=lambda: ([fixed_rand(3, 4), fixed_rand(3, 4, seed=1)], {}),
         errors=lambda: [
             ((ones(2, 5), ones(2, 4)), {}, ValueError, r"gelu_backward: dy has shape \(2, 5\), x has shape \(2, 4\)"),
             ((ones(2, 4), ones(2, 4)), {"approximate": None}, ValueError, r"gelu_backward: approximate must be")],
         grad=_gelu_grad, fuzz=_activation_fuzz("gelu_backward"), bench=_gelu_backward_bench,
         numpy=_numpy_gelu_backward, torch=_torch_gelu_backward),
]
