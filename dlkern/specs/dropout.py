"""Specs of inverted dropout (seed section 7; contract additions)."""
import numpy as np

from ._base import Case, Grad, Spec, fixed_rand, ones, rand, view

_CASES = [("(64, 100) p 0.5", (64, 100), 0.5), ("odd count p 0.1", (3, 7, 5), 0.1),
          ("one element", (1,), 0.3), ("p 0: all kept", (10, 10), 0.0),
          ("p 1: all dropped", (4, 9), 1.0), ("empty", (0, 3), 0.5),
          ("large p 0.9", (2, 30_001), 0.9)]


def _dropout_samples(rng, dtype):
    for k, (label, shape, p) in enumerate(_CASES):
        x = rand(rng, dtype, *shape)
        yield label, lambda m, x=x, p=p, k=k: m.dropout(x, p, seed=1234 + k)
    x = rand(rng, dtype, 6, 20)[:, ::2]
    yield "non-contiguous x, a 64-bit seed", lambda m, x=x: m.dropout(x, 0.25, 2 ** 64 - 1)


def _dropout_backward_samples(rng, dtype):
    for label, shape, p in _CASES:
        dy = rand(rng, dtype, *shape)
        mask = rng.random(shape) >= p
        yield label, lambda m, dy=dy, mask=mask, p=p: m.dropout_backward(dy, mask, p)


def _dropout_backward_grad():
    from .. import reference as R
    rng = np.random.default_rng(11)
    x, dy = rand(rng, float, 5, 8), rand(rng, float, 5, 8)
    _, mask = R.dropout(x, 0.4, 7)
    yield Grad("p 0.4", lambda x: R.dropout(x, 0.4, 7)[0], [x],
               [R.dropout_backward(dy, mask, 0.4)], dy)


def _fuzz(backward):
    def fuzz(st):
        def make(shape, p, seed, strided, dtype):
            rng = np.random.default_rng(seed % 2 ** 32)
            x = view(np.asarray(rand(rng, dtype, *shape)), rng, strided and len(shape) > 0)
            if backward:
                mask = np.asarray(rng.random(x.shape) >= p)
                return Case(dtype, lambda m: m.dropout_backward(x, mask, p))
            return Case(dtype, lambda m: m.dropout(x, p, seed))
        return st.builds(make, st.lists(st.integers(0, 40), max_size=3),
                         st.floats(0, 1), st.integers(0, 2 ** 64 - 1), st.booleans(),
                         st.sampled_from([np.float32, np.float64]))
    return fuzz


def _dropout_bench(rng, dtype):
    for n in (10, 1_000, 100_000, 10_000_000):
        yield f"{n:,} elements", (rand(rng, dtype, n), 0.5, 1), {}


def _dropout_backward_bench(rng, dtype):
    for n in (10, 1_000, 100_000, 10_000_000):
        yield f"{n:,} elements", (rand(rng, dtype, n), rng.random(n) >= 0.5, 0.5), {}


def _numpy_dropout(x, p, seed):
    """What a NumPy model does (CS231n's dropout_forward): a fresh uniform mask."""
    mask = np.random.default_rng(seed).random(x.shape) >= p
    return x * mask / (1 - p), mask


def _torch_dropout(torch, x, p, seed):
    t = torch.from_numpy(x)
    return lambda: torch.native_dropout(t, p, True)


def _torch_dropout_backward(torch, dy, mask, p):
    g, m = torch.from_numpy(dy), torch.from_numpy(mask)
    return lambda: torch.ops.aten.native_dropout_backward(g, m, 1 / (1 - p))


SPECS = [
    Spec("dropout", _dropout_samples,
         valid=lambda: ([fixed_rand(3, 4), 0.5, 0], {}),
         errors=lambda: [
             ((ones(3, 4), 1.5, 0), {}, ValueError, r"dropout: p must be .*\[0.0, 1.0\]"),
             ((ones(3, 4), 0.5, -1), {}, ValueError, r"dropout: seed must be an integer >= 0"),
             ((ones(3, 4), 0.5, 0.5), {}, TypeError, r"dropout: seed must be an integer"),
             ((np.ones(3, np.int16), 0.5, 0), {}, TypeError, r"dropout: x must be float32 or float64")],
         grad="the gradient of dropout: dropout_backward's cases check it",
         fuzz=_fuzz(backward=False), bench=_dropout_bench, numpy=_numpy_dropout,
         numpy_values=False, torch=_torch_dropout),
    Spec("dropout_backward", _dropout_backward_samples,
         valid=lambda: ([fixed_rand(3, 4), np.ones((3, 4), bool), 0.5], {}),
         errors=lambda: [
             ((ones(3, 4), np.ones((3, 4)), 0.5), {}, TypeError, r"dropout_backward: mask must be a bool array"),
             ((ones(3, 4), np.ones((4, 3), bool), 0.5), {}, ValueError, r"dropout_backward: mask has shape \(4, 3\), dy has shape \(3, 4\)"),
             ((ones(3, 4), np.ones((3, 4), bool), -0.1), {}, ValueError, r"dropout_backward: p must be")],
         grad=_dropout_backward_grad, fuzz=_fuzz(backward=True), bench=_dropout_backward_bench,
         numpy=lambda dy, mask, p: dy * mask / (1 - p), torch=_torch_dropout_backward),
]
