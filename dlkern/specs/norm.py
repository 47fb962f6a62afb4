"""Specs of batch normalisation (seed section 8)."""
import numpy as np

from ._base import Case, Grad, Spec, fixed_rand, ones, rand, tensors, view

_SHAPES = [("bn_mnist-like", (8, 32, 28, 28)), ("batch 1", (1, 3, 5, 5)),
           ("1x1 planes", (16, 5, 1, 1)), ("odd", (3, 7, 9, 11))]


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
    for shape in [(4, 3, 5, 2), (16, 4, 1, 1)]:
        x, gamma, beta = rand(rng, float, *shape), rand(rng, float, shape[1]), \
            rand(rng, float, shape[1])
        y, mean, invstd = R.batch_norm2d(x, gamma, beta)
        dy = rand(rng, float, *y.shape)
        yield Grad(f"{shape}", lambda x, g, b: R.batch_norm2d(x, g, b)[0], [x, gamma, beta],
                   list(R.batch_norm2d_backward(dy, x, gamma, mean, invstd)), dy)


_BENCH = [(64, 100, 1, 1), (256, 512, 1, 1), (8, 3, 32, 32), (64, 32, 28, 28),
          (32, 64, 56, 56)]


def _batch_norm2d_bench(rng, dtype):
    for shape in _BENCH:
        C = shape[1]
        yield f"{shape}", (rand(rng, dtype, *shape), rand(rng, dtype, C), rand(rng, dtype, C)), {}


def _batch_norm2d_backward_bench(rng, dtype):
    from .. import reference
    for label, (x, g, b), _ in _batch_norm2d_bench(rng, dtype):
        _, mean, invstd = reference.batch_norm2d(x, g, b)
        yield label, (rand(rng, dtype, *x.shape), x, g, mean, invstd), {}


def _numpy_batch_norm2d(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=(0, 2, 3))
    invstd = 1 / np.sqrt(x.var(axis=(0, 2, 3)) + eps)
    y = (x - mean[:, None, None]) * (invstd * gamma)[:, None, None] + beta[:, None, None]
    return y, mean, invstd


def _numpy_batch_norm2d_backward(dy, x, gamma, mean, invstd):
    n = x.size // x.shape[1]
    xhat = (x - mean[:, None, None]) * invstd[:, None, None]
    dbeta = dy.sum(axis=(0, 2, 3))
    dgamma = (dy * xhat).sum(axis=(0, 2, 3))
    dx = (gamma * invstd / n)[:, None, None] * (
        n * dy - dbeta[:, None, None] - xhat * dgamma[:, None, None])
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
             ((ones(2, 3, 4, 4), ones(3), ones(3)), {"eps": 0}, ValueError, r"batch_norm2d: eps must be a finite number")],
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
