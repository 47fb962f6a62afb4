"""Native convolution: im2col, col2im, conv2d forward and backward.  Checks are the
reference's (dlkern._checks); loops and GEMM calls in csrc/conv.c without the GIL,
with the scratch memory bounded by dlkern.get_workspace_limit()."""
from libc.stdint cimport int64_t
cimport numpy as cnp
import numpy as np

from .. import _checks, _backend
from .common cimport check_status, dlk_stop_flag, watch_sigint, unwatch_sigint
from .gemm cimport load_blas

cnp.import_array()
load_blas()

cdef extern from "conv.h" nogil:
    ctypedef struct dlk_conv_shape:
        int64_t B, C, H, W, O, kh, kw, sh, sw, ph, pw, Ho, Wo
    int dlk_im2col_f32(const dlk_conv_shape *s, const float *x, float *cols, int nt)
    int dlk_im2col_f64(const dlk_conv_shape *s, const double *x, double *cols, int nt)
    int dlk_col2im_f32(const dlk_conv_shape *s, const float *cols, float *x, int nt)
    int dlk_col2im_f64(const dlk_conv_shape *s, const double *cols, double *x, int nt)
    int dlk_conv2d_f32(const dlk_conv_shape *s, const float *x, const float *w,
                       const float *b, float *y, int64_t workspace,
                       const dlk_stop_flag *stop, int nt)
    int dlk_conv2d_f64(const dlk_conv_shape *s, const double *x, const double *w,
                       const double *b, double *y, int64_t workspace,
                       const dlk_stop_flag *stop, int nt)
    int dlk_conv2d_backward_f32(const dlk_conv_shape *s, const float *dy, const float *x,
                                const float *w, float *dx, float *dw, float *db,
                                int64_t workspace, const dlk_stop_flag *stop, int nt)
    int dlk_conv2d_backward_f64(const dlk_conv_shape *s, const double *dy, const double *x,
                                const double *w, double *dx, double *dw, double *db,
                                int64_t workspace, const dlk_stop_flag *stop, int nt)


cdef double _macs(const dlk_conv_shape *s):
    """Multiply-adds of the forward product."""
    return <double>s.B * s.O * s.Ho * s.Wo * s.C * s.kh * s.kw


cdef dlk_conv_shape _shape(x_shape, int64_t O, k, s, p, o):
    cdef dlk_conv_shape sh
    sh.B, sh.C, sh.H, sh.W = x_shape
    sh.O = O
    sh.kh, sh.kw = k
    sh.sh, sh.sw = s
    sh.ph, sh.pw = p
    sh.Ho, sh.Wo = o
    return sh


cdef inline bint _f32(cnp.ndarray a):
    return cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT32


def im2col(x, kernel_size, stride=1, padding=0):
    fn = "im2col"
    _checks.float_array(fn, "x", x, 4, "(B, C, H, W)")
    k, s, p, o = _checks.im2col_args(fn, x.shape, kernel_size, stride, padding)
    cdef cnp.ndarray xc = np.ascontiguousarray(x)
    cdef dlk_conv_shape sh = _shape(x.shape, 0, k, s, p, o)
    cdef cnp.ndarray cols = np.empty((x.shape[1] * k[0] * k[1], x.shape[0] * o[0] * o[1]),
                                     dtype=x.dtype)
    cdef int status, nt = _backend.get_num_threads()
    cdef bint single = _f32(xc)
    with nogil:
        if single:
            status = dlk_im2col_f32(&sh, <float *>xc.data, <float *>cols.data, nt)
        else:
            status = dlk_im2col_f64(&sh, <double *>xc.data, <double *>cols.data, nt)
    check_status(status, fn)
    return cols


def col2im(cols, x_shape, kernel_size, stride=1, padding=0):
    fn = "col2im"
    x_shape, k, s, p, o = _checks.col2im_args(fn, cols, x_shape, kernel_size, stride,
                                              padding)
    cdef cnp.ndarray cc = np.ascontiguousarray(cols)
    cdef dlk_conv_shape sh = _shape(x_shape, 0, k, s, p, o)
    cdef cnp.ndarray x = np.empty(x_shape, dtype=cols.dtype)
    cdef int status, nt = _backend.get_num_threads()
    cdef bint single = _f32(cc)
    with nogil:
        if single:
            status = dlk_col2im_f32(&sh, <float *>cc.data, <float *>x.data, nt)
        else:
            status = dlk_col2im_f64(&sh, <double *>cc.data, <double *>x.data, nt)
    check_status(status, fn)
    return x


def conv2d(x, w, b=None, stride=1, padding=0):
    fn = "conv2d"
    s, p, o = _checks.conv2d_args(fn, x, w, stride, padding)
    _checks.bias(fn, b, w.shape[0], x)
    cdef cnp.ndarray xc = np.ascontiguousarray(x), wc = np.ascontiguousarray(w)
    cdef cnp.ndarray bc = np.ascontiguousarray(b) if b is not None else None
    cdef dlk_conv_shape sh = _shape(x.shape, w.shape[0], w.shape[2:], s, p, o)
    cdef cnp.ndarray y = np.empty((x.shape[0], w.shape[0]) + o, dtype=x.dtype)
    cdef void *bp = bc.data if bc is not None else NULL
    cdef int64_t ws = _backend.get_workspace_limit()
    cdef int status, nt = _backend.get_num_threads()
    cdef bint single = _f32(xc)
    cdef const dlk_stop_flag *stop = watch_sigint(_macs(&sh))
    with nogil:
        if single:
            status = dlk_conv2d_f32(&sh, <float *>xc.data, <float *>wc.data, <float *>bp,
                                    <float *>y.data, ws, stop, nt)
        else:
            status = dlk_conv2d_f64(&sh, <double *>xc.data, <double *>wc.data,
                                    <double *>bp, <double *>y.data, ws, stop, nt)
    unwatch_sigint(stop)
    check_status(status, fn)
    return y


def conv2d_backward(dy, x, w, stride=1, padding=0):
    fn = "conv2d_backward"
    s, p, o = _checks.conv2d_backward_args(fn, dy, x, w, stride, padding)
    cdef cnp.ndarray dyc = np.ascontiguousarray(dy), xc = np.ascontiguousarray(x)
    cdef cnp.ndarray wc = np.ascontiguousarray(w)
    cdef dlk_conv_shape sh = _shape(x.shape, w.shape[0], w.shape[2:], s, p, o)
    cdef cnp.ndarray dx = np.empty(x.shape, dtype=x.dtype)
    cdef cnp.ndarray dw = np.empty(w.shape, dtype=x.dtype)
    cdef cnp.ndarray db = np.empty(w.shape[0], dtype=x.dtype)
    cdef int64_t ws = _backend.get_workspace_limit()
    cdef int status, nt = _backend.get_num_threads()
    cdef bint single = _f32(xc)
    cdef const dlk_stop_flag *stop = watch_sigint(2 * _macs(&sh))
    with nogil:
        if single:
            status = dlk_conv2d_backward_f32(&sh, <float *>dyc.data, <float *>xc.data,
                                             <float *>wc.data, <float *>dx.data,
                                             <float *>dw.data, <float *>db.data, ws, stop, nt)
        else:
            status = dlk_conv2d_backward_f64(&sh, <double *>dyc.data, <double *>xc.data,
                                             <double *>wc.data, <double *>dx.data,
                                             <double *>dw.data, <double *>db.data, ws, stop,
                                             nt)
    unwatch_sigint(stop)
    check_status(status, fn)
    return dx, dw, db
