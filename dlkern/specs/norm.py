"""Specs of normalisation: batch-norm in training and evaluation mode, layer-norm."""
import numpy as np

from ._base import Case, Grad, Spec, fixed_rand, ones, rand, tensors, view

_SHAPES = [("bn_mnist-like", (8, 32, 28, 28)), ("batch 1", (1, 3, 5, 5)),
           ("1x1 planes", (16, 5, 1, 1)), ("odd", (3, 7, 9, 11)), ("(B, C)", (64, 37)),
           ("(B, C) batch 3", (3, 5))]


def _batch_norm2d_samples(rng, dtype):
    for label, shape in _SHAPES:
        x = rand(rng, dtype, *shape, scale=3) + dtype(100)   # offset: cancellation test
        g, b = rand(rng, dtype, shape[1]), rand(rng, dtype, shape[1])
        yield label, lambda m, x=x, g=g, b=b: m.batch_norm2d(x, g, b, 1e-5)
    xn = rand(rng, dtype, 4, 3, 6, 10)[:, :, :, ::2]
    yield "non-contiguous", lambda m, x=xn, g=g[:3], b=b[:3]: m.batch_norm2d(x, g, b)


def _batch_norm2d_backward_samples(rng, dtype):
    from .. import reference
    for label, shape in _SHAPES:
        x = rand(rng, dtype, *shape, scale=3) + dtype(1)
        g, b = rand(rng, dtype, shape[1]), rand(rng, dtype, shape[1])
        _, mean, invstd = reference.batch_norm2d(x, g, b)
        dy = rand(rng, dtype, *shape)
        yield label, lambda m, dy=dy, x=x, g=g, mean=mean, invstd=invstd: \
            m.batch_norm2d_backward(dy, x, g, mean, invstd)


def _bn_fuzz(backward):
    def fuzz(st):
        def make(B, C, H, W, offset, strided, dtype, seed):
            rng = np.random.default_rng(seed)
            if B * H * W == 1:
                H = 2        # one value per channel has no variance to normalise by
            x = (rng.standard_normal((B, C, H, W)) * 3 + (1000 if offset else 0)).astype(dtype)
            x = view(x, rng, strided)
            g, b = rand(rng, dtype, C), rand(rng, dtype, C)
            # float32 normalisation of values 1000 ± 3: the mean carries 1000·2⁻²⁴ of
            # rounding
            tol = 1e-3 if offset and dtype == np.float32 else None
            if not backward:
                return Case(dtype, lambda m: m.batch_norm2d(x, g, b), tol)
            from .. import reference
            _, mean, invstd = reference.batch_norm2d(x, g, b)
            dy = view(rand(rng, dtype, *x.shape), rng, strided)
            return Case(dtype, lambda m: m.batch_norm2d_backward(dy, x, g, mean, invstd), tol)
        d = st.sampled_from([1, 2, 3, 5, 7, 13, 31, 64, 97])
        return st.builds(make, st.integers(1, 3), st.integers(1, 5), d, d, st.booleans(),
                         st.booleans(), st.sampled_from([np.float32, np.float64]),
                         st.integers(0, 2 ** 31))
    return fuzz


def _batch_norm2d_backward_grad():
    from .. import reference as R
    rng = np.random.default_rng(6)
    for shape in [(4, 3, 5, 2), (16, 4, 1, 1), (6, 5)]:
        x, gamma, beta = rand(rng, float, *shape), rand(rng, float, shape[1]), \
            rand(rng, float, shape[1])
        y, mean, invstd = R.batch_norm2d(x, gamma, beta)
        dy = rand(rng, float, *y.shape)
        yield Grad(f"{shape}", lambda x, g, b: R.batch_norm2d(x, g, b)[0], [x, gamma, beta],
                   list(R.batch_norm2d_backward(dy, x, gamma, mean, invstd)), dy)


_BENCH = [(64, 100), (200, 100), (256, 512), (64, 100, 1, 1), (8, 3, 32, 32),
          (64, 32, 28, 28), (32, 64, 56, 56)]


def _batch_norm2d_bench(rng, dtype):
    for shape in _BENCH:
        C = shape[1]
        yield f"{shape}", (rand(rng, dtype, *shape), rand(rng, dtype, C), rand(rng, dtype, C)), {}


def _batch_norm2d_backward_bench(rng, dtype):
    from .. import reference
    for label, (x, g, b), _ in _batch_norm2d_bench(rng, dtype):
        _, mean, invstd = reference.batch_norm2d(x, g, b)
        yield label, (rand(rng, dtype, *x.shape), x, g, mean, invstd), {}


def _axes(x):
    """The reduction axes of a batch-norm and the shape a channel vector broadcasts as."""
    return ((0,) + tuple(range(2, x.ndim)), (-1,) + (1,) * (x.ndim - 2))


def _numpy_batch_norm2d(x, gamma, beta, eps=1e-5):
    axes, s = _axes(x)
    mean = x.mean(axis=axes)
    invstd = 1 / np.sqrt(x.var(axis=axes) + eps)
    y = (x - mean.reshape(s)) * (invstd * gamma).reshape(s) + beta.reshape(s)
    return y, mean, invstd


def _numpy_batch_norm2d_backward(dy, x, gamma, mean, invstd):
    axes, s = _axes(x)
    n = x.size // x.shape[1]
    xhat = (x - mean.reshape(s)) * invstd.reshape(s)
    dbeta = dy.sum(axis=axes)
    dgamma = (dy * xhat).sum(axis=axes)
    dx = (gamma * invstd / n).reshape(s) * (n * dy - dbeta.reshape(s) - xhat * dgamma.reshape(s))
    return dx, dgamma, dbeta


def _torch_batch_norm2d(torch, x, gamma, beta, eps=1e-5):
    t = tensors(torch, x, gamma, beta)
    return lambda: torch.native_batch_norm(t[0], t[1], t[2], None, None, True, 0.0, eps)


def _torch_batch_norm2d_backward(torch, dy, x, gamma, mean, invstd):
    t = tensors(torch, dy, x, gamma, mean, invstd)
    return lambda: torch.ops.aten.native_batch_norm_backward(
        t[0], t[1], t[2], None, None, t[3], t[4], True, 1e-5, [True, True, True])


SPECS = [
    Spec("batch_norm2d", _batch_norm2d_samples,
         valid=lambda: ([fixed_rand(2, 3, 6, 6), fixed_rand(3), fixed_rand(3)], {"eps": 1e-5}),
         errors=lambda: [
             ((ones(2, 3, 4, 4), ones(2), ones(3)), {}, ValueError, r"batch_norm2d: gamma must have shape \(3,\), got \(2,\)"),
             ((ones(2, 3, 4, 4), ones(3), ones(3)), {"eps": 0}, ValueError, r"batch_norm2d: eps must be a finite number"),
             ((ones(2, 3, 4), ones(3), ones(3)), {}, ValueError, r"batch_norm2d: x must be 2-D \(B, C\) or 4-D"),
             ((ones(0, 3), ones(3), ones(3)), {}, ValueError, r"batch_norm2d: x has no values per channel")],
         grad="the gradient of batch_norm2d: batch_norm2d_backward's cases check it",
         fuzz=_bn_fuzz(backward=False), bench=_batch_norm2d_bench,
         numpy=_numpy_batch_norm2d, torch=_torch_batch_norm2d),
    Spec("batch_norm2d_backward", _batch_norm2d_backward_samples,
         valid=lambda: _batch_norm2d_backward_valid(),
         errors=lambda: [
             ((ones(2, 3, 4, 4), ones(2, 3, 4, 4), ones(3), ones(3), ones(4)), {}, ValueError, r"batch_norm2d_backward: invstd must have shape \(3,\), got \(4,\)")],
         grad=_batch_norm2d_backward_grad, fuzz=_bn_fuzz(backward=True),
         bench=_batch_norm2d_backward_bench, numpy=_numpy_batch_norm2d_backward,
         torch=_torch_batch_norm2d_backward),
]


def _batch_norm2d_backward_valid():
    from .. import reference
    x = fixed_rand(2, 3, 6, 6)
    y, mean, invstd = reference.batch_norm2d(x, fixed_rand(3), fixed_rand(3))
    return [y, x, fixed_rand(3), mean, invstd], {}


# ---- evaluation mode ---------------------------------------------------------------

def _stats(rng, dtype, C):
    return (rand(rng, dtype, C), rand(rng, dtype, C), rand(rng, dtype, C) + dtype(50),
            np.abs(rand(rng, dtype, C)) + dtype(0.5))


def _batch_norm_inference_samples(rng, dtype):
    for label, shape in _SHAPES:
        x = rand(rng, dtype, *shape, scale=3) + dtype(50)
        st = _stats(rng, dtype, shape[1])
        yield label, lambda m, x=x, st=st: m.batch_norm_inference(x, *st, eps=1e-3)
    xn = rand(rng, dtype, 4, 3, 6, 10)[:, :, :, ::2]
    st = _stats(rng, dtype, 3)
    yield "non-contiguous", lambda m, x=xn, st=st: m.batch_norm_inference(x, *st)


def _batch_norm_inference_grad():
    from .. import reference as R
    rng = np.random.default_rng(9)
    for shape in [(4, 3, 2, 5), (7, 4)]:
        x = rand(rng, float, *shape)
        g, b, rm, rv = _stats(rng, float, shape[1])
        dy = rand(rng, float, *shape)
        s = (1, -1) + (1,) * (x.ndim - 2)
        k = g / np.sqrt(rv + 1e-5)
        dx = dy * k.reshape(s)
        axes = (0,) + tuple(range(2, x.ndim))
        dg = (dy * (x - rm.reshape(s)) / np.sqrt(rv + 1e-5).reshape(s)).sum(axis=axes)
        yield Grad(f"{shape}",
                   lambda x, g, b, rm=rm, rv=rv: R.batch_norm_inference(x, g, b, rm, rv),
                   [x, g, b], [dx, dg, dy.sum(axis=axes)], dy)


def _batch_norm_inference_fuzz(st):
    def make(shape, strided, dtype, seed):
        rng = np.random.default_rng(seed)
        x = view(rand(rng, dtype, *shape, scale=2), rng, strided)
        stats = _stats(rng, dtype, shape[1])
        return Case(dtype, lambda m: m.batch_norm_inference(x, *stats))
    d = st.integers(1, 9)
    shape = st.one_of(st.tuples(d, d), st.tuples(d, d, d, d))
    return st.builds(make, shape, st.booleans(), st.sampled_from([np.float32, np.float64]),
                     st.integers(0, 2 ** 31))


def _batch_norm_inference_bench(rng, dtype):
    for label, (x, g, b), _ in _batch_norm2d_bench(rng, dtype):
        yield label, (x, *_stats(rng, dtype, x.shape[1])), {}


def _numpy_batch_norm_inference(x, gamma, beta, running_mean, running_var, eps=1e-5):
    s = (-1,) + (1,) * (x.ndim - 2)
    k = gamma / np.sqrt(running_var + eps)
    return x * k.reshape(s) + (beta - running_mean * k).reshape(s)


def _torch_batch_norm_inference(torch, x, gamma, beta, running_mean, running_var, eps=1e-5):
    t = tensors(torch, x, gamma, beta, running_mean, running_var)
    return lambda: torch.nn.functional.batch_norm(t[0], t[3], t[4], t[1], t[2], False, 0.0, eps)


# ---- layer-norm ----------------------------------------------------------------------

_LN_SHAPES = [("gpt-2 rows", (4, 16, 768)), ("one vector", (5,)), ("D 1", (6, 1)),
              ("odd", (3, 7, 13)), ("wide", (2, 3000))]


def _layer_norm_samples(rng, dtype):
    for label, shape in _LN_SHAPES:
        x = rand(rng, dtype, *shape, scale=3) + dtype(20)
        g, b = rand(rng, dtype, shape[-1]), rand(rng, dtype, shape[-1])
        yield label, lambda m, x=x, g=g, b=b: m.layer_norm(x, g, b)
    xn = rand(rng, dtype, 6, 20)[:, ::2]
    g, b = rand(rng, dtype, 10), rand(rng, dtype, 10)
    yield "non-contiguous", lambda m, x=xn, g=g, b=b: m.layer_norm(x, g, b, eps=1e-3)


def _layer_norm_backward_samples(rng, dtype):
    from .. import reference
    for label, shape in _LN_SHAPES + [("many rows", (700, 9))]:
        x = rand(rng, dtype, *shape, scale=2) + dtype(1)
        g, b = rand(rng, dtype, shape[-1]), rand(rng, dtype, shape[-1])
        _, mean, invstd = reference.layer_norm(x, g, b)
        dy = rand(rng, dtype, *shape)
        yield label, lambda m, dy=dy, x=x, g=g, mean=mean, invstd=invstd: \
            m.layer_norm_backward(dy, x, g, mean, invstd)


def _layer_norm_backward_grad():
    from .. import reference as R
    rng = np.random.default_rng(8)
    for shape in [(4, 6), (2, 3, 5), (3, 1)]:
        x, g, b = rand(rng, float, *shape), rand(rng, float, shape[-1]), \
            rand(rng, float, shape[-1])
        _, mean, invstd = R.layer_norm(x, g, b)
        dy = rand(rng, float, *shape)
        yield Grad(f"{shape}", lambda x, g, b: R.layer_norm(x, g, b)[0], [x, g, b],
                   list(R.layer_norm_backward(dy, x, g, mean, invstd)), dy)


def _ln_fuzz(backward):
    def fuzz(st):
        def make(lead, D, offset, strided, dtype, seed):
            rng = np.random.default_rng(seed)
            x = rand(rng, dtype, *lead, D, scale=3) + dtype(100 if offset else 0)
            x = view(x, rng, strided)
            g, b = rand(rng, dtype, D), rand(rng, dtype, D)
            tol = 1e-3 if offset and dtype == np.float32 else None
            if not backward:
                return Case(dtype, lambda m: m.layer_norm(x, g, b), tol)
            from .. import reference
            _, mean, invstd = reference.layer_norm(x, g, b)
            dy = view(rand(rng, dtype, *x.shape), rng, strided)
            return Case(dtype, lambda m: m.layer_norm_backward(dy, x, g, mean, invstd), tol)
        return st.builds(make, st.lists(st.integers(1, 7), max_size=2),
                         st.sampled_from([2, 3, 8, 17, 64, 100, 300]), st.booleans(),
                         st.booleans(), st.sampled_from([np.float32, np.float64]),
                         st.integers(0, 2 ** 31))
    return fuzz


_LN_BENCH = [(1, 8), (32, 64), (128, 768), (4096, 768), (512, 4096), (16, 50000)]


def _layer_norm_bench(rng, dtype):
    for shape in _LN_BENCH:
        D = shape[-1]
        yield f"{shape}", (rand(rng, dtype, *shape), rand(rng, dtype, D), rand(rng, dtype, D)), {}


def _layer_norm_backward_bench(rng, dtype):
    from .. import reference
    for label, (x, g, b), _ in _layer_norm_bench(rng, dtype):
        _, mean, invstd = reference.layer_norm(x, g, b)
        yield label, (rand(rng, dtype, *x.shape), x, g, mean, invstd), {}


def _numpy_layer_norm(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=-1, keepdims=True)
    invstd = 1 / np.sqrt(x.var(axis=-1, keepdims=True) + eps)
    return (x - mean) * invstd * gamma + beta, mean[..., 0], invstd[..., 0]


def _numpy_layer_norm_backward(dy, x, gamma, mean, invstd):
    xhat = (x - mean[..., None]) * invstd[..., None]
    g = dy * gamma
    dx = invstd[..., None] * (g - g.mean(axis=-1, keepdims=True)
                              - xhat * (g * xhat).mean(axis=-1, keepdims=True))
    lead = tuple(range(x.ndim - 1))
    return dx, (dy * xhat).sum(axis=lead), dy.sum(axis=lead)


def _torch_layer_norm(torch, x, gamma, beta, eps=1e-5):
    t = tensors(torch, x, gamma, beta)
    return lambda: torch.native_layer_norm(t[0], [x.shape[-1]], t[1], t[2], eps)


def _torch_layer_norm_backward(torch, dy, x, gamma, mean, invstd):
    t = tensors(torch, dy, x, gamma, mean[..., None], invstd[..., None], np.zeros_like(gamma))
    return lambda: torch.ops.aten.native_layer_norm_backward(
        t[0], t[1], [x.shape[-1]], t[3], t[4], t[2], t[5], [True, True, True])


SPECS += [
    Spec("batch_norm_inference", _batch_norm_inference_samples,
         valid=lambda: ([fixed_rand(2, 3, 6, 6), fixed_rand(3), fixed_rand(3), fixed_rand(3),
                         np.ones(3, np.float32)], {"eps": 1e-5}),
         errors=lambda: [
             ((ones(2, 3), ones(3), ones(3), ones(2), ones(3)), {}, ValueError, r"batch_norm_inference: running_mean must have shape \(3,\), got \(2,\)"),
             ((ones(2, 3), ones(3), ones(3), ones(3), np.ones(3)), {}, TypeError, r"batch_norm_inference: running_var is float64, x is float32"),
             ((ones(2, 3, 4), ones(3), ones(3), ones(3), ones(3)), {}, ValueError, r"batch_norm_inference: x must be 2-D \(B, C\) or 4-D"),
             ((ones(2, 3), ones(3), ones(3), ones(3), ones(3)), {"eps": -1}, ValueError, r"batch_norm_inference: eps must be a finite number")],
         grad=_batch_norm_inference_grad, fuzz=_batch_norm_inference_fuzz,
         bench=_batch_norm_inference_bench, numpy=_numpy_batch_norm_inference,
         torch=_torch_batch_norm_inference),
    Spec("layer_norm", _layer_norm_samples,
         valid=lambda: ([fixed_rand(4, 10), fixed_rand(10), fixed_rand(10)], {"eps": 1e-5}),
         errors=lambda: [
             ((ones(4, 10), ones(9), ones(10)), {}, ValueError, r"layer_norm: gamma must have shape \(10,\), got \(9,\)"),
             ((ones(4, 0), ones(0), ones(0)), {}, ValueError, r"layer_norm: x must have a non-empty last axis"),
             ((np.ones((4, 10), np.int32), ones(10), ones(10)), {}, TypeError, r"layer_norm: x must be float32 or float64"),
             ((ones(4, 10), ones(10), ones(10)), {"eps": 0.0}, ValueError, r"layer_norm: eps must be a finite number")],
         grad="the gradient of layer_norm: layer_norm_backward's cases check it",
         fuzz=_ln_fuzz(backward=False), bench=_layer_norm_bench, numpy=_numpy_layer_norm,
         torch=_torch_layer_norm),
    Spec("layer_norm_backward", _layer_norm_backward_samples,
         valid=lambda: _layer_norm_backward_valid(),
         errors=lambda: [
             ((ones(4, 10), ones(4, 10), ones(10), ones(4), ones(10)), {}, ValueError, r"layer_norm_backward: invstd must have shape \(4,\)"),
             ((ones(4, 9), ones(4, 10), ones(10), ones(4), ones(4)), {}, ValueError, r"layer_norm_backward: dy has shape \(4, 9\), x has shape \(4, 10\)")],
         grad=_layer_norm_backward_grad, fuzz=_ln_fuzz(backward=True),
         bench=_layer_norm_backward_bench, numpy=_numpy_layer_norm_backward,
         torch=_torch_layer_norm_backward),
]


def _layer_norm_backward_valid():
    from .. import reference
    x = fixed_rand(4, 10)
    y, mean, invstd = reference.layer_norm(x, fixed_rand(10), fixed_rand(10))
    return [y, x, fixed_rand(10), mean, invstd], {}
