"""2-D max pooling (seed section 3's MaxPool block) and average pooling (DESIGN.md,
contract additions), in plain NumPy.

Padding counts as −inf, so a padded position never wins.  Each output keeps the flat
position h·W + w of its maximum inside its (H, W) plane — PyTorch's convention — and
the backward pass adds dY there.  Ties go to the first position in row-major window
order; NaN wins (the output is NaN and points at the first NaN).
"""
import numpy as np

from .. import _checks


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """y[b, c, oh, ow] = max of x over the window at (oh·S_h − P_h, ow·S_w − P_w) of size
    K_h × K_w; stride defaults to kernel_size (an int or a pair, as are kernel_size and
    padding); padding is −inf, so it never wins; ties keep the first position in row-major
    window order and a NaN wins.

    Returns
    -------
    (y, indices): y (B, C, H_out, W_out) in x's dtype; indices of y's shape, int64, the
    flat position h·W + w of each maximum in its (b, c) plane (max_pool2d_backward's input)."""
    fn = "max_pool2d"
    _checks.float_array(fn, "x", x, 4, "(B, C, H, W)")
    (kh, kw), (sh, sw), (ph, pw), (ho, wo) = _checks.pool2d_args(fn, x.shape, kernel_size, stride,
                                                       padding)
    B, C, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    win = win[:, :, ::sh, ::sw][:, :, :ho, :wo].reshape(B, C, ho, wo, kh * kw)
    k = np.argmax(win, axis=-1)                 # first maximum; the first NaN if any
    y = np.take_along_axis(win, k[..., None], axis=-1)[..., 0]
    # A window whose real values are all −inf ties with its padding: point at its
    # first real position, never at padding.
    real = np.pad(np.ones((H, W), bool), ((ph, ph), (pw, pw)))
    real = np.lib.stride_tricks.sliding_window_view(real, (kh, kw))[::sh, ::sw]
    first_real = np.argmax(real[:ho, :wo].reshape(ho, wo, kh * kw), axis=-1)
    k = np.where(y == -np.inf, first_real, k)
    i, j = np.divmod(k, kw)
    h = np.arange(ho).reshape(ho, 1) * sh - ph + i
    w = np.arange(wo).reshape(1, wo) * sw - pw + j
    return np.ascontiguousarray(y), (h * W + w).astype(np.int64)


def max_pool2d_backward(dy, indices, x_shape):
    """dx[b, c, h, w] = Σ of dy over the outputs whose maximum sat at (h, w).

    Returns
    -------
    dx of shape x_shape in dy's dtype."""
    B, C, H, W = _checks.max_pool2d_backward_args("max_pool2d_backward", dy, indices,
                                                  x_shape)
    dx = np.zeros((B * C, H * W), dtype=dy.dtype)
    rows = np.arange(B * C).reshape(B * C, 1)
    np.add.at(dx, (rows, indices.reshape(B * C, -1)), dy.reshape(B * C, -1))
    return dx.reshape(B, C, H, W)


def _avg_divisors(H, W, k, s, p, o, count_include_pad):
    """The divisor of each output window (Ho, Wo): K_h·K_w, or with count_include_pad
    False the number of its positions inside the plane."""
    (kh, kw), (sh, sw), (ph, pw), (ho, wo) = k, s, p, o
    if count_include_pad:
        return np.full((ho, wo), float(kh * kw))
    real = np.pad(np.ones((H, W)), ((ph, ph), (pw, pw)))
    win = np.lib.stride_tricks.sliding_window_view(real, (kh, kw))[::sh, ::sw][:ho, :wo]
    return win.sum(axis=(2, 3))


def avg_pool2d(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    """y[b, c, oh, ow] = (1/N) Σ of x over the window at (oh·S_h − P_h, ow·S_w − P_w) of
    size K_h × K_w, padding counting as zeros; N = K_h·K_w, or with
    count_include_pad=False the number of window positions inside the plane (as
    PyTorch).  stride defaults to kernel_size; a kernel of the whole plane is global
    average pooling.

    Returns
    -------
    y (B, C, H_out, W_out) in x's dtype (sums in float64)."""
    fn = "avg_pool2d"
    _checks.float_array(fn, "x", x, 4, "(B, C, H, W)")
    k, s, p, o = _checks.pool2d_args(fn, x.shape, kernel_size, stride, padding)
    _checks.flag(fn, "count_include_pad", count_include_pad)
    (kh, kw), (sh, sw), (ph, pw), (ho, wo) = k, s, p, o
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    total = win[:, :, ::sh, ::sw][:, :, :ho, :wo].sum(axis=(4, 5))
    div = _avg_divisors(x.shape[2], x.shape[3], k, s, p, o, count_include_pad)
    return (total / div).astype(x.dtype)


def avg_pool2d_backward(dy, x_shape, kernel_size, stride=None, padding=0,
                        count_include_pad=True):
    """The adjoint of avg_pool2d: each output's dy / N added to every position of its
    window that lies in the plane (overlapping windows add).

    Returns
    -------
    dx of shape x_shape in dy's dtype (sums in float64)."""
    fn = "avg_pool2d_backward"
    B, C, H, W = _checks.image_shape(fn, "x_shape", x_shape)
    k, s, p, o = _checks.pool2d_args(fn, (B, C, H, W), kernel_size, stride, padding)
    _checks.flag(fn, "count_include_pad", count_include_pad)
    _checks.float_array(fn, "dy", dy, 4, "(B, C, H_out, W_out)")
    _checks.shape_is(fn, "dy", dy, (B, C) + o, "(B, C, H_out, W_out)")
    (kh, kw), (sh, sw), (ph, pw), (ho, wo) = k, s, p, o
    g = dy.astype(np.float64) / _avg_divisors(H, W, k, s, p, o, count_include_pad)
    dxp = np.zeros((B, C, H + 2 * ph, W + 2 * pw))
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw] += g
    return dxp[:, :, ph:ph + H, pw:pw + W].astype(dy.dtype)
