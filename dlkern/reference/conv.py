"""2-D convolution through im2col, seed section 3, in plain NumPy.

Layout: images are NCHW.  im2col turns every receptive field into a column, so the
convolution is one matrix product:

    cols[(c, i, j), (b, oh, ow)] = x_pad[b, c, oh·S_h + i, ow·S_w + j]
    y[b, o, oh, ow] = Σ_(c,i,j) w[o, c, i, j] · cols[(c, i, j), (b, oh, ow)] + b[o]

with H_out = ⌊(H + 2P_h − K_h)/S_h⌋ + 1 and W_out likewise (seed section 3).
"""
import numpy as np

from .. import _checks


def _pad(x, ph, pw):
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x


def _windows(x, kh, kw, sh, sw, ph, pw):
    """View (B, C, H_out, W_out, K_h, K_w) of the padded x: window (oh, ow) at (i, j)."""
    xp = _pad(x, ph, pw)
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    return win[:, :, ::sh, ::sw]


def im2col(x, kernel_size, stride=1, padding=0):
    """The column matrix of seed section 3's convolution: shape (C·K_h·K_w, B·H_out·W_out),
    rows ordered (c, i, j) with c slowest, columns (b, oh, ow) with b slowest, so that
    ``w.reshape(C_out, -1) @ im2col(x, ...)`` is the convolution; zero padding.

    Returns
    -------
    cols (C·K_h·K_w, B·H_out·W_out) in x's dtype."""
    fn = "im2col"
    _checks.float_array(fn, "x", x, 4, "(B, C, H, W)")
    (kh, kw), (sh, sw), (ph, pw), (ho, wo) = _checks.im2col_args(fn, x.shape, kernel_size,
                                                                 stride, padding)
    B, C = x.shape[:2]
    win = _windows(x, kh, kw, sh, sw, ph, pw)            # (B, C, Ho, Wo, Kh, Kw)
    return np.ascontiguousarray(win.transpose(1, 4, 5, 0, 2, 3)).reshape(C * kh * kw,
                                                                         B * ho * wo)


def col2im(cols, x_shape, kernel_size, stride=1, padding=0):
    """The adjoint of im2col: every column entry is added back to the input pixel it
    was copied from (overlapping windows add), and the padding is cut off.

    Returns
    -------
    x of shape x_shape (B, C, H, W) in cols' dtype."""
    (B, C, H, W), (kh, kw), (sh, sw), (ph, pw), (ho, wo) = _checks.col2im_args(
        "col2im", cols, x_shape, kernel_size, stride, padding)
    c6 = cols.reshape(C, kh, kw, B, ho, wo)
    dxp = np.zeros((B, C, H + 2 * ph, W + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw] += c6[:, i, j].transpose(1, 0, 2, 3)
    return dxp[:, :, ph:ph + H, pw:pw + W]


def conv2d(x, w, b=None, stride=1, padding=0):
    """Seed section 3: Z[b, o] = Σ_c K[o, c] ⋆ X[b, c] + b[o] with stride (S_h, S_w) and zero
    padding (P_h, P_w); x (B, C_in, H, W), w (C_out, C_in, K_h, K_w) → (B, C_out, H_out, W_out).

    Returns
    -------
    y (B, C_out, H_out, W_out) in x's dtype, H_out = (H + 2P_h − K_h) // S_h + 1
    (the same for W).  b=None means no bias; stride and padding are an int or a pair."""
    fn = "conv2d"
    stride, padding, (ho, wo) = _checks.conv2d_args(fn, x, w, stride, padding)
    _checks.bias(fn, b, w.shape[0], x)
    B, co = x.shape[0], w.shape[0]
    cols = im2col(x, w.shape[2:], stride, padding)
    y = (w.reshape(co, -1) @ cols).reshape(co, B, ho, wo).transpose(1, 0, 2, 3)
    if b is not None:
        y = y + b.reshape(1, co, 1, 1)
    return np.ascontiguousarray(y)


def conv2d_backward(dy, x, w, stride=1, padding=0):
    """Gradients of conv2d (seed section 10's chain rule through the matrix product):
    dW = dY · colsᵀ, dcols = Wᵀ · dY, dX = col2im(dcols), db = Σ_(b, oh, ow) dY.

    Returns
    -------
    (dx, dw, db): dx of x's shape, dw of w's shape, db (C_out,), in x's dtype."""
    stride, padding, _ = _checks.conv2d_backward_args("conv2d_backward", dy, x, w, stride,
                                                      padding)
    co = w.shape[0]
    cols = im2col(x, w.shape[2:], stride, padding)
    dy2 = dy.transpose(1, 0, 2, 3).reshape(co, -1)          # (C_out, B·Ho·Wo)
    dw = (dy2 @ cols.T).reshape(w.shape)
    dx = col2im(w.reshape(co, -1).T @ dy2, x.shape, w.shape[2:], stride, padding)
    db = dy.sum(axis=(0, 2, 3))
    return np.ascontiguousarray(dx), dw, db
