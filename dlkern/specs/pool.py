"""Specs of max pooling (seed section 3) and average pooling (contract additions)."""
import numpy as np

from ._base import Case, Grad, Spec, fixed_rand, ones, rand

_CASES = [  # label, x shape, kernel, stride, padding
    ("pool_mnist-like 2x2", (4, 3, 28, 28), 2, None, 0),
    ("3x3 s2 p1 (stem)", (2, 3, 17, 19), 3, 2, 1),
    ("rectangular 2x3 s(1,2) p1", (2, 2, 9, 11), (2, 3), (1, 2), (1, 1)),
    ("overlapping 3x3 s1", (1, 4, 10, 10), 3, 1, 1),
    ("batch 1, one channel, odd", (1, 1, 7, 5), 3, 2, 0),
    ("1x1", (2, 2, 4, 4), 1, 1, 0),
    ("window = input", (2, 3, 5, 6), (5, 6), 1, 0),
    ("wide rows 3x3 s2", (1, 2, 9, 70), 3, 2, 1),
    ("3x3 s2 p1, whole planes, rows of 35", (2, 2, 11, 70), 3, 2, 1),
    ("2x3 s2 p(0, 1), whole planes", (2, 3, 8, 33), (2, 3), 2, (0, 1)),
]


def _special_values(x, rng):
    """Ties, a NaN and two −inf columns at a plane's left edge (windows there hold
    nothing else): the cases where pooling rules matter."""
    x = x.copy()
    x[0, 0, :2, :2] = 1.0
    x.reshape(-1)[rng.integers(x.size)] = np.nan
    x[-1, -1, :, :2] = -np.inf
    return x


def _max_pool2d_samples(rng, dtype):
    for label, shape, k, s, p in _CASES:
        x = _special_values(rand(rng, dtype, *shape), rng)
        yield label, lambda m, x=x, k=k, s=s, p=p: m.max_pool2d(x, k, s, p)
    x = rand(rng, dtype, 2, 3, 12, 20)[:, :, :, ::2]
    yield "non-contiguous x", lambda m, x=x: m.max_pool2d(x, 3, 2, 1)


def _max_pool2d_backward_samples(rng, dtype):
    from .. import reference
    for label, shape, k, s, p in _CASES:
        x = _special_values(rand(rng, dtype, *shape), rng)
        y, idx = reference.max_pool2d(x, k, s, p)
        dy = rand(rng, dtype, *y.shape)
        yield label, lambda m, dy=dy, idx=idx, shape=shape: m.max_pool2d_backward(dy, idx,
                                                                                 shape)
    dy = rand(rng, dtype, 2, 3, 4, 6)
    idx = rng.integers(0, 5 * 5, size=(2, 3, 2, 3))
    dyn = dy[:, :, ::2, ::2]
    yield "non-contiguous dy, repeated indices", lambda m: m.max_pool2d_backward(
        dyn, idx, (2, 3, 5, 5))


def _geometry(st):
    """Any windows, and often the two that have whole-plane AVX-512 loops of their own:
    2×2 at stride 2 without padding, and 3×3 at stride 2 with padding 1 (any window 2
    or 3 wide at stride 2 takes that loop when there are planes enough)."""
    def make(kind, kh, kw, sh, sw, ph, pw, B, C, H, W):
        if kind == "2x2":
            kh = kw = sh = sw = 2
            ph = pw = 0
        elif kind == "stem":
            kh = kw = 3
            sh = sw = 2
            ph = pw = 1
        ph, pw = min(ph, kh // 2), min(pw, kw // 2)
        return (B, C, max(H, kh - 2 * ph), max(W, kw - 2 * pw)), (kh, kw), (sh, sw), (ph, pw)
    i = st.integers
    return st.builds(make, st.sampled_from(["2x2", "stem", "any"]), i(1, 4), i(1, 4),
                     i(1, 4), i(1, 4), i(0, 2), i(0, 2), i(1, 2), i(1, 5),
                     i(1, 40), i(1, 150))       # rows of up to 4 vectors at stride 2


def _fuzz_input(xs, dtype, seed, specials):
    rng = np.random.default_rng(seed)
    x = rand(rng, dtype, *xs)
    if specials:             # ties, ±inf, NaN and −0; windows of −inf at the left border
        x = np.round(x).astype(dtype)
        flat = x.reshape(-1)
        for v in (np.inf, -np.inf, np.nan, -0.0):
            flat[rng.integers(flat.size)] = v
        x[0, 0, :, :2] = -np.inf
    return rng, x


def _pool_fuzz(backward):
    def fuzz(st):
        def make(geometry, dtype, seed, specials):
            xs, k, s, p = geometry
            rng, x = _fuzz_input(xs, dtype, seed, specials)
            if not backward:
                return Case(dtype, lambda m: m.max_pool2d(x, k, s, p))
            from .. import reference
            y, idx = reference.max_pool2d(x, k, s, p)
            dy = rand(rng, dtype, *y.shape)
            return Case(dtype, lambda m: m.max_pool2d_backward(dy, idx, xs))
        return st.builds(make, _geometry(st), st.sampled_from([np.float32, np.float64]),
                         st.integers(0, 2 ** 31), st.booleans())
    return fuzz


def _max_pool2d_backward_grad():
    from .. import reference as R
    rng = np.random.default_rng(5)
    for k, s, p in [(2, 2, 0), (3, 2, 1), (3, 1, 1), ((2, 3), (1, 2), (1, 0))]:
        x = rng.permutation(2 * 3 * 7 * 8).reshape(2, 3, 7, 8) / 10.0   # distinct: no ties
        y, idx = R.max_pool2d(x, k, s, p)
        dy = rand(rng, float, *y.shape)
        yield Grad(f"k{k} s{s} p{p}", lambda x, k=k, s=s, p=p: R.max_pool2d(x, k, s, p)[0],
                   [x], [R.max_pool2d_backward(dy, idx, x.shape)], dy, eps=1e-4)


_BENCH = [((1, 1, 4, 4), 2, 2, 0), ((8, 16, 14, 14), 2, 2, 0), ((64, 32, 28, 28), 2, 2, 0),
          ((8, 64, 56, 56), 3, 2, 1), ((32, 64, 112, 112), 3, 2, 1)]


def _max_pool2d_bench(rng, dtype):
    for xs, k, s, p in _BENCH:
        yield f"{xs} {k}x{k} s{s}", (rand(rng, dtype, *xs), k), dict(stride=s, padding=p)


def _max_pool2d_backward_bench(rng, dtype):
    from .. import reference
    for xs, k, s, p in _BENCH:
        x = rand(rng, dtype, *xs)
        y, idx = reference.max_pool2d(x, k, s, p)
        yield f"{xs} {k}x{k} s{s}", (rand(rng, dtype, *y.shape), idx, xs), {}


def _torch_max_pool2d(torch, x, kernel_size, stride=None, padding=0):
    t = torch.from_numpy(x)
    return lambda: torch.nn.functional.max_pool2d(t, kernel_size, stride, padding,
                                                  return_indices=True)


SPECS = [
    Spec("max_pool2d", _max_pool2d_samples,
         valid=lambda: ([fixed_rand(2, 3, 6, 6), 2], {"stride": 2, "padding": 0}),
         errors=lambda: [
             ((ones(1, 1, 4, 4), 2), {"padding": 2}, ValueError, r"max_pool2d: padding must be at most half the kernel size"),
             ((ones(1, 1, 4, 4), 0), {}, ValueError, r"max_pool2d: kernel_size must be >= 1, got 0")],
         grad="the gradient of max_pool2d: max_pool2d_backward's cases check it",
         fuzz=_pool_fuzz(backward=False), bench=_max_pool2d_bench, torch=_torch_max_pool2d),
    Spec("max_pool2d_backward", _max_pool2d_backward_samples,
         valid=lambda: _max_pool2d_backward_valid(),
         errors=lambda: [
             ((ones(1, 1, 2, 2), np.zeros((1, 1, 2, 2), np.int32), (1, 1, 4, 4)), {}, TypeError, r"max_pool2d_backward: indices must be an int64 array"),
             ((ones(1, 1, 2, 2), np.full((1, 1, 2, 2), 16), (1, 1, 4, 4)), {}, ValueError, r"max_pool2d_backward: indices must lie in \[0, H·W\)"),
             ((ones(1, 1, 2, 2), np.full((1, 1, 2, 2), -1), (1, 1, 4, 4)), {}, ValueError, r"max_pool2d_backward: indices must lie in \[0, H·W\)")],
         grad=_max_pool2d_backward_grad, fuzz=_pool_fuzz(backward=True),
         bench=_max_pool2d_backward_bench),
]


def _max_pool2d_backward_valid():
    from .. import reference
    x = fixed_rand(2, 3, 6, 6)
    y, idx = reference.max_pool2d(x, 2, 2, 0)
    return [y, idx, x.shape], {}


# ---- average pooling -----------------------------------------------------------------

def _avg_pool2d_samples(rng, dtype):
    for label, shape, k, s, p in _CASES:
        x = rand(rng, dtype, *shape)
        for inc in (True, False):
            yield f"{label}, count_include_pad={inc}", \
                lambda m, x=x, k=k, s=s, p=p, inc=inc: m.avg_pool2d(x, k, s, p, inc)
    x = rand(rng, dtype, 2, 3, 12, 20)[:, :, :, ::2]
    yield "non-contiguous x", lambda m, x=x: m.avg_pool2d(x, 3, 2, 1)
    x = rand(rng, dtype, 3, 4, 7, 7)
    yield "global (kernel = plane)", lambda m, x=x: m.avg_pool2d(x, 7)


def _avg_pool2d_backward_samples(rng, dtype):
    from .. import reference
    for label, shape, k, s, p in _CASES:
        y = reference.avg_pool2d(rand(rng, dtype, *shape), k, s, p)
        dy = rand(rng, dtype, *y.shape)
        for inc in (True, False):
            yield f"{label}, count_include_pad={inc}", \
                lambda m, dy=dy, shape=shape, k=k, s=s, p=p, inc=inc: m.avg_pool2d_backward(
                    dy, shape, k, s, p, inc)
    dyn = rand(rng, dtype, 2, 3, 10, 6)[:, :, ::2, ::2]
    yield "non-contiguous dy", lambda m, dy=dyn: m.avg_pool2d_backward(dy, (2, 3, 10, 6), 2)


def _avg_pool_fuzz(backward):
    def fuzz(st):
        def make(geometry, inc, dtype, seed):
            xs, k, s, p = geometry
            rng = np.random.default_rng(seed)
            x = rand(rng, dtype, *xs)
            if not backward:
                return Case(dtype, lambda m: m.avg_pool2d(x, k, s, p, inc))
            from .. import reference
            dy = rand(rng, dtype, *reference.avg_pool2d(x, k, s, p).shape)
            return Case(dtype, lambda m: m.avg_pool2d_backward(dy, xs, k, s, p, inc))
        return st.builds(make, _geometry(st), st.booleans(),
                         st.sampled_from([np.float32, np.float64]), st.integers(0, 2 ** 31))
    return fuzz


def _avg_pool2d_backward_grad():
    from .. import reference as R
    rng = np.random.default_rng(6)
    for k, s, p, inc in [(2, 2, 0, True), (3, 2, 1, True), (3, 2, 1, False),
                         ((2, 3), (1, 2), (1, 1), False)]:
        x = rand(rng, float, 2, 3, 7, 8)
        y = R.avg_pool2d(x, k, s, p, inc)
        dy = rand(rng, float, *y.shape)
        yield Grad(f"k{k} s{s} p{p} include_pad={inc}",
                   lambda x, k=k, s=s, p=p, inc=inc: R.avg_pool2d(x, k, s, p, inc), [x],
                   [R.avg_pool2d_backward(dy, x.shape, k, s, p, inc)], dy)


def _avg_pool2d_bench(rng, dtype):
    for xs, k, s, p in _BENCH + [((64, 512, 7, 7), 7, 1, 0)]:
        yield f"{xs} {k}x{k} s{s}", (rand(rng, dtype, *xs), k), dict(stride=s, padding=p)


def _avg_pool2d_backward_bench(rng, dtype):
    from .. import reference
    for label, (x, k), kw in _avg_pool2d_bench(rng, dtype):
        y = reference.avg_pool2d(x, k, **kw)
        yield label, (rand(rng, dtype, *y.shape), x.shape, k), kw


def _torch_avg_pool2d(torch, x, kernel_size, stride=None, padding=0, count_include_pad=True):
    t = torch.from_numpy(x)
    return lambda: torch.nn.functional.avg_pool2d(t, kernel_size, stride, padding,
                                                  count_include_pad=count_include_pad)


def _torch_avg_pool2d_backward(torch, dy, x_shape, kernel_size, stride=None, padding=0,
                               count_include_pad=True):
    g, x = torch.from_numpy(dy), torch.zeros(x_shape, dtype=torch.from_numpy(dy).dtype)
    k = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size,) * 2
    st = k if stride is None else (stride if isinstance(stride, (tuple, list)) else (stride,) * 2)
    pd = padding if isinstance(padding, (tuple, list)) else (padding,) * 2
    return lambda: torch.ops.aten.avg_pool2d_backward(g, x, list(k), list(st), list(pd), False,
                                                      count_include_pad, None)


SPECS += [
    Spec("avg_pool2d", _avg_pool2d_samples,
         valid=lambda: ([fixed_rand(2, 3, 6, 6), 2], {"stride": 2, "padding": 0}),
         errors=lambda: [
             ((ones(1, 1, 4, 4), 2), {"padding": 2}, ValueError, r"avg_pool2d: padding must be at most half the kernel size"),
             ((ones(1, 1, 4, 4), 5), {}, ValueError, r"avg_pool2d: "),
             ((ones(1, 1, 4, 4), 2), {"count_include_pad": 1}, TypeError, r"avg_pool2d: count_include_pad must be a bool")],
         grad="the gradient of avg_pool2d: avg_pool2d_backward's cases check it",
         fuzz=_avg_pool_fuzz(backward=False), bench=_avg_pool2d_bench, torch=_torch_avg_pool2d),
    Spec("avg_pool2d_backward", _avg_pool2d_backward_samples,
         valid=lambda: ([fixed_rand(2, 3, 3, 3), (2, 3, 6, 6), 2], {}),
         errors=lambda: [
             ((ones(1, 1, 3, 3), (1, 1, 4, 4), 2), {}, ValueError, r"avg_pool2d_backward: dy must have shape \(1, 1, 2, 2\)"),
             ((ones(1, 1, 2, 2), (1, 1, 4), 2), {}, ValueError, r"avg_pool2d_backward: x_shape must be a \(B, C, H, W\) tuple")],
         grad=_avg_pool2d_backward_grad, fuzz=_avg_pool_fuzz(backward=True),
         bench=_avg_pool2d_backward_bench, torch=_torch_avg_pool2d_backward),
]
