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


def _taps(x, kernel, stride, padding, dilation, out):
    """(B, C, K_h, K_w, H_out, W_out): x_pad[b, c, oh·S_h + i·D_h, ow·S_w + j·D_w], the
    input each kernel tap (i, j) meets at each output position, zero outside x; the
    padding is (top, left), the bottom and right padded as far as the output reaches."""
    (kh, kw), (sh, sw), (pt, pl), (dh, dw), (ho, wo) = kernel, stride, padding, dilation, out
    B, C, H, W = x.shape
    pb = max(0, (ho - 1) * sh + dh * (kh - 1) + 1 - H - pt)
    pr = max(0, (wo - 1) * sw + dw * (kw - 1) + 1 - W - pl)
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    taps = np.empty((B, C, kh, kw, ho, wo), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            taps[:, :, i, j] = xp[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh,
                                  j * dw:j * dw + sw * (wo - 1) + 1:sw]
    return taps, (pb, pr)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Seed section 3: Z[b, o] = Σ_c K[o, c] ⋆ X[b, c] + b[o] with stride (S_h, S_w),
    zero padding, dilation (D_h, D_w) and groups, as torch.nn.functional.conv2d:

        y[b, o, oh, ow] = Σ_(c, i, j) w[o, c, i, j] · x_pad[b, g·C_g + c, oh·S_h + i·D_h,
                                                              ow·S_w + j·D_w] + b[o]

    with g = o // (C_out / groups) the group of output channel o and C_g = C_in / groups
    its input channels; x (B, C_in, H, W), w (C_out, C_in/groups, K_h, K_w).

    Returns
    -------
    y (B, C_out, H_out, W_out) in x's dtype, H_out = (H + 2P_h − D_h(K_h − 1) − 1) // S_h
    + 1 (the same for W).  b=None means no bias; stride, dilation and padding are an int
    or a pair, padding also "valid" or "same" (stride 1, output of x's size)."""
    fn = "conv2d"
    stride, pads, dil, groups, out = _checks.conv2d_args(fn, x, w, stride, padding, dilation,
                                                         groups)
    _checks.bias(fn, b, w.shape[0], x)
    B, co, cg = x.shape[0], w.shape[0], w.shape[1]
    og = co // groups
    taps, _ = _taps(x, w.shape[2:], stride, pads, dil, out)
    cols = taps.reshape(B, groups, cg * w.shape[2] * w.shape[3], out[0] * out[1])
    w3 = w.reshape(groups, og, -1)
    y = np.stack([w3[g] @ cols[:, g] for g in range(groups)], axis=1)  # (B, G, O_g, HW)
    y = y.reshape(B, co, *out)
    if b is not None:
        y = y + b.reshape(1, co, 1, 1)
    return np.ascontiguousarray(y)


def conv2d_backward(dy, x, w, stride=1, padding=0, dilation=1, groups=1):
    """Gradients of conv2d (seed section 10's chain rule through the matrix product of
    each group): with cols_g the taps of group g's input channels as a (C_g·K_h·K_w,
    H_out·W_out) matrix per sample, dW_g = Σ_b dY_g · cols_gᵀ, dcols_g = W_gᵀ · dY_g,
    dX = every tap's dcols added back at the pixel it was read from, db = Σ_(b, oh, ow) dY.

    Returns
    -------
    (dx, dw, db): dx of x's shape, dw of w's shape, db (C_out,), in x's dtype."""
    stride, pads, dil, groups, out = _checks.conv2d_backward_args(
        "conv2d_backward", dy, x, w, stride, padding, dilation, groups)
    B, C, H, W = x.shape
    co, cg, kh, kw = w.shape
    og, (sh, sw), (dh, dwl), (ho, wo) = co // groups, stride, dil, out
    taps, (pb, pr) = _taps(x, (kh, kw), stride, pads, dil, out)
    cols = taps.reshape(B, groups, cg * kh * kw, ho * wo)
    dy4 = dy.reshape(B, groups, og, ho * wo)
    w3 = w.reshape(groups, og, -1)
    dw = np.stack([np.einsum("bop,bkp->ok", dy4[:, g], cols[:, g]) for g in range(groups)])
    dtaps = np.stack([w3[g].T @ dy4[:, g] for g in range(groups)], axis=1)
    dtaps = dtaps.reshape(B, C, kh, kw, ho, wo)
    pt, pl = pads
    dxp = np.zeros((B, C, H + pt + pb, W + pl + pr), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh,
                j * dwl:j * dwl + sw * (wo - 1) + 1:sw] += dtaps[:, :, i, j]
    dx = dxp[:, :, pt:pt + H, pl:pl + W]
    db = dy.sum(axis=(0, 2, 3))
    return np.ascontiguousarray(dx), dw.reshape(w.shape).astype(x.dtype, copy=False), db
