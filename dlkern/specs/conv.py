"""Specs of the convolution and its column transforms (seed sections 5, 6)."""
import numpy as np

from ._base import Case, Grad, Spec, fixed_rand, ones, rand, tensors, view

_CASES = [  # label, (B, C_in, H, W), (C_out, K_h, K_w), stride, padding
    ("conv_mnist1-like", (4, 1, 28, 28), (8, 3, 3), 1, 1),
    ("conv_mnist2-like", (2, 32, 14, 14), (16, 3, 3), 1, 1),
    ("conv_stride-like 5x5 s2 p2", (2, 3, 32, 32), (8, 5, 5), 2, 2),
    ("batch 1, 1x1", (1, 5, 7, 7), (3, 1, 1), 1, 0),
    ("7x7 on 5x5 with padding", (2, 3, 5, 5), (4, 7, 7), 1, 2),
    ("rectangular 2x3, stride (2, 3), padding (0, 2)", (3, 3, 11, 10), (5, 2, 3), (2, 3), (0, 2)),
    ("odd channels", (2, 7, 9, 8), (5, 3, 3), 1, 1),
    ("kernel = padded input", (2, 2, 3, 4), (3, 5, 6), 1, 1),
    ("Winograd path, odd sizes", (3, 17, 9, 7), (19, 3, 3), 1, 1),
    ("Winograd path, no padding", (2, 16, 6, 5), (16, 3, 3), 1, 0),
    ("Winograd path, 8x8 planes (one tile to a lane)", (3, 16, 8, 8), (17, 3, 3), 1, 1),
    ("Winograd path, rows of 11 tiles and a spare, odd sizes", (2, 16, 23, 21), (17, 3, 3), 1, 1),
    ("same width, rows of padding only", (2, 3, 6, 7), (4, 5, 5), 1, (3, 2)),
    ("one-column planes", (3, 2, 5, 1), (3, 3, 1), 1, (1, 0)),
    ("direct loop: 6 channels, stride (2, 3), rows ending mid-vector",
     (2, 2, 23, 70), (6, 5, 3), (2, 3), (2, 1)),
    ("Winograd F(4x4, 3x3): rows of 20+, C·O >= 2048, sizes not multiples of 4",
     (2, 32, 9, 22), (64, 3, 3), 1, 1),
]


def _conv_inputs(rng, dtype, xs, o, kh, kw):
    return rand(rng, dtype, *xs), rand(rng, dtype, o, xs[1], kh, kw)


def _conv2d_samples(rng, dtype):
    for label, xs, (o, kh, kw), s, p in _CASES:
        x, w = _conv_inputs(rng, dtype, xs, o, kh, kw)
        b = rand(rng, dtype, o)
        yield label, lambda m, x=x, w=w, b=b, s=s, p=p: m.conv2d(x, w, b, s, p)
    xn = rand(rng, dtype, 2, 3, 9, 18)[:, :, :, ::2]
    wn = rand(rng, dtype, 4, 3, 3, 6)[:, :, :, ::2]
    yield "non-contiguous x and w, no bias", lambda m: m.conv2d(xn, wn, None, 1, 1)
    for label, xs, (o, kh, kw), s, p, d, g in _GEOMETRY_CASES:
        x, w = rand(rng, dtype, *xs), rand(rng, dtype, o, xs[1] // g, kh, kw)
        b = rand(rng, dtype, o)
        yield label, lambda m, x=x, w=w, b=b, a=(s, p, d, g): m.conv2d(x, w, b, *a)


# dilation, groups and the string paddings (label, x shape, (C_out, K_h, K_w), stride,
# padding, dilation, groups)
_GEOMETRY_CASES = [
    ("dilation 2", (2, 4, 11, 10), (6, 3, 3), 1, 2, 2, 1),
    ("dilation (1, 3), stride 2", (2, 3, 12, 13), (5, 3, 3), 2, (1, 2), (1, 3), 1),
    ("groups 2", (2, 6, 9, 9), (4, 3, 3), 1, 1, 1, 2),
    ("depthwise 3x3", (3, 8, 10, 10), (8, 3, 3), 1, 1, 1, 8),
    ("depthwise x2, stride 2", (2, 4, 9, 9), (8, 3, 3), 2, 1, 1, 4),
    ("same, even kernel", (2, 3, 8, 7), (4, 4, 2), 1, "same", 1, 1),
    ("same, dilation 2, groups 3", (2, 6, 9, 9), (6, 3, 3), 1, "same", 2, 3),
    ("valid 5x5", (2, 3, 9, 9), (4, 5, 5), 1, "valid", 1, 1),
]


def _out_shape(xs, o, kh, kw, s, p):
    from .. import reference
    return reference.conv2d(np.zeros(xs), np.zeros((o, xs[1], kh, kw)), None, s, p).shape


def _conv2d_backward_samples(rng, dtype):
    for label, xs, (o, kh, kw), s, p in _CASES:
        x, w = _conv_inputs(rng, dtype, xs, o, kh, kw)
        dy = rand(rng, dtype, *_out_shape(xs, o, kh, kw, s, p))
        yield label, lambda m, dy=dy, x=x, w=w, s=s, p=p: m.conv2d_backward(dy, x, w, s, p)
    from .. import reference
    for label, xs, (o, kh, kw), s, p, d, g in _GEOMETRY_CASES:
        x, w = rand(rng, dtype, *xs), rand(rng, dtype, o, xs[1] // g, kh, kw)
        dy = rand(rng, dtype, *reference.conv2d(x, w, None, s, p, d, g).shape)
        yield label, lambda m, dy=dy, x=x, w=w, a=(s, p, d, g): m.conv2d_backward(dy, x, w, *a)


def _im2col_samples(rng, dtype):
    for label, xs, (o, kh, kw), s, p in _CASES:
        x = rand(rng, dtype, *xs)
        yield label, lambda m, x=x, k=(kh, kw), s=s, p=p: m.im2col(x, k, s, p)


def _cols_shape(xs, k, s, p):
    from .. import reference
    return reference.im2col(np.zeros(xs), k, s, p).shape


def _col2im_samples(rng, dtype):
    for label, xs, (o, kh, kw), s, p in _CASES:
        cols = rand(rng, dtype, *_cols_shape(xs, (kh, kw), s, p))
        yield label, lambda m, c=cols, xs=xs, k=(kh, kw), s=s, p=p: m.col2im(c, xs, k, s, p)


def _geometry(st):
    """(x shape, w shape, stride, padding): any valid convolution up to 13×13 planes."""
    def make(B, C, O, kh, kw, sh, sw, ph, pw, H, W):
        return (B, C, max(H, kh - 2 * ph), max(W, kw - 2 * pw)), (O, C, kh, kw), (sh, sw), \
            (ph, pw)
    i = st.integers
    return st.builds(make, i(1, 3), i(1, 5), i(1, 6), i(1, 5), i(1, 5), i(1, 3), i(1, 3),
                     i(0, 3), i(0, 3), i(1, 13), i(1, 13))


def _conv_fuzz(backward):
    def fuzz(st):
        def make(geometry, dtype, seed):
            xs, ws, s, p = geometry
            rng = np.random.default_rng(seed)
            x, w = rand(rng, dtype, *xs), rand(rng, dtype, *ws)
            if backward:
                dy = rand(rng, dtype, *_out_shape(xs, ws[0], ws[2], ws[3], s, p))
                return Case(dtype, lambda m: m.conv2d_backward(dy, x, w, s, p))
            b = rand(rng, dtype, ws[0])
            return Case(dtype, lambda m: m.conv2d(x, w, b, s, p))
        return st.builds(make, _geometry(st), st.sampled_from([np.float32, np.float64]),
                         st.integers(0, 2 ** 31))
    return fuzz


def _columns_fuzz(name):
    def fuzz(st):
        def make(geometry, strided, dtype, seed):
            xs, ws, s, p = geometry
            rng = np.random.default_rng(seed)
            k = ws[2:]
            if name == "im2col":
                x = view(rand(rng, dtype, *xs), rng, strided)
                return Case(dtype, lambda m: m.im2col(x, k, s, p))
            c = view(rand(rng, dtype, *_cols_shape(xs, k, s, p)), rng, strided)
            return Case(dtype, lambda m: m.col2im(c, xs, k, s, p))
        return st.builds(make, _geometry(st), st.booleans(),
                         st.sampled_from([np.float32, np.float64]), st.integers(0, 2 ** 31))
    return fuzz


GRAD_CASES = [  # (B, C_in, H, W, C_out, K_h, K_w, stride, padding)
    (2, 3, 7, 6, 4, 3, 3, 1, 1),
    (1, 1, 5, 5, 2, 1, 1, 1, 0),
    (2, 2, 9, 8, 3, 2, 3, (2, 3), (0, 2)),
    (1, 3, 4, 4, 2, 7, 7, 1, 2),
    (3, 1, 6, 7, 1, 3, 2, 2, 0),
]


def _conv2d_backward_grad():
    from .. import reference as R
    rng = np.random.default_rng(3)
    for B, C, H, W, O, kh, kw, s, p in GRAD_CASES:
        x, w, b = rand(rng, float, B, C, H, W), rand(rng, float, O, C, kh, kw), \
            rand(rng, float, O)
        dy = rand(rng, float, *R.conv2d(x, w, b, s, p).shape)
        yield Grad(f"{(B, C, H, W)} * {(O, kh, kw)} s{s} p{p}",
                   lambda x, w, b, s=s, p=p: R.conv2d(x, w, b, s, p), [x, w, b],
                   list(R.conv2d_backward(dy, x, w, s, p)), dy)
    for label, xs, (O, kh, kw), s, p, d, g in _GEOMETRY_CASES:
        x = rand(rng, float, *xs)
        w, b = rand(rng, float, O, xs[1] // g, kh, kw), rand(rng, float, O)
        dy = rand(rng, float, *R.conv2d(x, w, b, s, p, d, g).shape)
        yield Grad(label, lambda x, w, b, a=(s, p, d, g): R.conv2d(x, w, b, *a), [x, w, b],
                   list(R.conv2d_backward(dy, x, w, s, p, d, g)), dy)


def _col2im_grad():
    """col2im is the adjoint of im2col: the gradient of <im2col(x), c> is col2im(c)."""
    from .. import reference as R
    rng = np.random.default_rng(4)
    for B, C, H, W, O, kh, kw, s, p in GRAD_CASES:
        x = rand(rng, float, B, C, H, W)
        c = rand(rng, float, *_cols_shape(x.shape, (kh, kw), s, p))
        yield Grad(f"{(B, C, H, W)} k{(kh, kw)} s{s} p{p}",
                   lambda x, s=s, p=p, k=(kh, kw): R.im2col(x, k, s, p), [x],
                   [R.col2im(c, x.shape, (kh, kw), s, p)], c)


_BENCH = [  # (B, C, H, W), (O, K), stride, padding: tiny to the named workloads
    ((1, 1, 5, 5), (1, 3), 1, 1),
    ((8, 3, 16, 16), (8, 3), 1, 1),
    ((64, 1, 28, 28), (32, 3), 1, 1),
    ((64, 32, 14, 14), (64, 3), 1, 1),
    ((16, 3, 64, 64), (32, 5), 2, 2),
    ((32, 64, 56, 56), (64, 3), 1, 1),
]


def _conv2d_bench(rng, dtype):
    for xs, (o, k), s, p in _BENCH:
        x, w = _conv_inputs(rng, dtype, xs, o, k, k)
        yield f"{xs} * {o}x{k}x{k} s{s}", (x, w * dtype(0.1), rand(rng, dtype, o)), \
            dict(stride=s, padding=p)


def _conv2d_backward_bench(rng, dtype):
    for xs, (o, k), s, p in _BENCH:
        x, w = _conv_inputs(rng, dtype, xs, o, k, k)
        dy = rand(rng, dtype, *_out_shape(xs, o, k, k, s, p))
        yield f"{xs} * {o}x{k}x{k} s{s}", (dy, x, w), dict(stride=s, padding=p)


def _im2col_bench(rng, dtype):
    for xs, (o, k), s, p in _BENCH:
        yield f"{xs} k{k} s{s}", (rand(rng, dtype, *xs), k), dict(stride=s, padding=p)


def _col2im_bench(rng, dtype):
    for xs, (o, k), s, p in _BENCH:
        cols = rand(rng, dtype, *_cols_shape(xs, (k, k), s, p))
        yield f"{xs} k{k} s{s}", (cols, xs, k), dict(stride=s, padding=p)


def _torch_conv2d(torch, x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    t = tensors(torch, x, w, b)
    return lambda: torch.nn.functional.conv2d(*t, stride=stride, padding=padding,
                                              dilation=dilation, groups=groups)


def _torch_conv2d_backward(torch, dy, x, w, stride=1, padding=0, dilation=1, groups=1):
    tdy, tx, tw = tensors(torch, dy, x, w)
    g = torch.nn.grad
    return lambda: (g.conv2d_input(tx.shape, tw, tdy, stride, padding, dilation, groups),
                    g.conv2d_weight(tx, tw.shape, tdy, stride, padding, dilation, groups),
                    tdy.sum((0, 2, 3)))


def _torch_im2col(torch, x, k, stride=1, padding=0):
    t = torch.from_numpy(x)
    return lambda: torch.nn.functional.unfold(t, k, padding=padding, stride=stride)


def _torch_col2im(torch, cols, x_shape, k, stride=1, padding=0):
    B = x_shape[0]
    t = torch.from_numpy(np.ascontiguousarray(                   # torch's column layout
        cols.reshape(cols.shape[0], B, -1).transpose(1, 0, 2)))
    return lambda: torch.nn.functional.fold(t, x_shape[2:], k, padding=padding, stride=stride)


SPECS = [
    Spec("conv2d", _conv2d_samples,
         valid=lambda: ([fixed_rand(2, 3, 6, 6), fixed_rand(4, 3, 3, 3), fixed_rand(4)],
                        {"stride": 1, "padding": 1}),
         errors=lambda: [
             ((ones(3, 8, 8), ones(4, 3, 3, 3)), {}, ValueError, r"conv2d: x must be 4-D \(B, C_in, H, W\), got shape \(3, 8, 8\)"),
             ((ones(1, 3, 8, 8), ones(4, 2, 3, 3)), {}, ValueError, r"conv2d: w has 2 input channels per group, x has 3"),
             ((ones(1, 3, 8, 8), ones(4, 3, 3, 3)), {"stride": 0}, ValueError, r"conv2d: stride must be >= 1, got 0"),
             ((ones(1, 3, 8, 8), ones(4, 3, 3, 3)), {"padding": -1}, ValueError, r"conv2d: padding must be >= 0, got -1"),
             ((ones(1, 3, 4, 4), ones(4, 3, 7, 7)), {"padding": 1}, ValueError, r"conv2d: kernel height 7 is larger than the padded input height 4 \+ 2\*1 = 6"),
             ((np.ones((1, 3, 8, 8), np.int32), ones(4, 3, 3, 3)), {}, TypeError, r"conv2d: x must be float32 or float64, got int32"),
             ((ones(1, 3, 8, 8), ones(4, 3, 3, 3), ones(5)), {}, ValueError, r"conv2d: b must have shape \(4,\), got \(5,\)"),
             ((ones(1, 3, 8, 8), ones(4, 3, 3, 3)), {"stride": (1, 2, 3)}, ValueError, r"conv2d: stride must be an int or an \(h, w\) pair"),
             ((ones(1, 3, 8, 8), ones(4, 3, 3, 3)), {"stride": 1.5}, TypeError, r"conv2d: stride must be an int or an \(h, w\) pair of ints"),
             ((ones(1, 6, 8, 8), ones(4, 3, 3, 3)), {"groups": 3}, ValueError, r"conv2d: groups = 3 must divide the input channels \(6\) and the output channels \(4\)"),
             ((ones(1, 6, 8, 8), ones(6, 3, 3, 3)), {"groups": 0}, ValueError, r"conv2d: groups must be an integer >= 1, got 0"),
             ((ones(1, 3, 8, 8), ones(4, 3, 3, 3)), {"dilation": 0}, ValueError, r"conv2d: dilation must be >= 1, got 0"),
             ((ones(1, 3, 8, 8), ones(4, 3, 3, 3)), {"stride": 2, "padding": "same"}, ValueError, r"conv2d: padding='same' needs stride 1"),
             ((ones(1, 3, 8, 8), ones(4, 3, 3, 3)), {"padding": "full"}, ValueError, r"conv2d: padding must be an int, an \(h, w\) pair, 'valid' or 'same', got 'full'"),
             ((ones(1, 3, 4, 4), ones(4, 3, 3, 3)), {"dilation": 2}, ValueError, r"conv2d: kernel height 5 is larger than the padded input height 4")],
         grad="the gradient of conv2d: conv2d_backward's cases check it",
         fuzz=_conv_fuzz(backward=False), bench=_conv2d_bench, torch=_torch_conv2d),
    Spec("conv2d_backward", _conv2d_backward_samples,
         valid=lambda: ([fixed_rand(2, 4, 6, 6), fixed_rand(2, 3, 6, 6), fixed_rand(4, 3, 3, 3)],
                        {"stride": 1, "padding": 1}),
         errors=lambda: [
             ((ones(1, 4, 5, 5), ones(1, 3, 8, 8), ones(4, 3, 3, 3)), {}, ValueError, r"conv2d_backward: dy must have shape \(1, 4, 6, 6\)")],
         grad=_conv2d_backward_grad, fuzz=_conv_fuzz(backward=True),
         bench=_conv2d_backward_bench, torch=_torch_conv2d_backward),
    Spec("im2col", _im2col_samples,
         valid=lambda: ([fixed_rand(2, 3, 6, 6), 3], {"stride": 1, "padding": 1}),
         errors=lambda: [
             ((ones(1, 3, 8, 8), 9), {}, ValueError, r"im2col: kernel height 9 is larger than the padded input height 8")],
         grad="linear in x, its adjoint is col2im: col2im's cases check the pair",
         fuzz=_columns_fuzz("im2col"), bench=_im2col_bench, torch=_torch_im2col),
    Spec("col2im", _col2im_samples,
         valid=lambda: ([fixed_rand(27, 72), (2, 3, 6, 6), 3], {"stride": 1, "padding": 1}),
         errors=lambda: [
             ((ones(27, 35), (1, 3, 8, 8), 3), {}, ValueError, r"col2im: cols must have shape \(27, 36\) \(C·K_h·K_w, B·H_out·W_out\), got \(27, 35\)")],
         grad=_col2im_grad, fuzz=_columns_fuzz("col2im"), bench=_col2im_bench,
         torch=_torch_col2im),
]
