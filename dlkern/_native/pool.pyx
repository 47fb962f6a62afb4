"""Native max and average pooling: arguments checked by dlkern._checks (the reference's checks),
outputs allocated here, the loops in csrc/pool.c without the GIL."""
from libc.stdint cimport int64_t
cimport numpy as cnp
import numpy as np

from .. import _checks, _backend
from .common cimport check_status, dtype_tag, DLK_EINVAL, contiguous, output

from .runtime cimport bind_runtime
cnp.import_array()
bind_runtime()

cdef extern from "pool.h" nogil:
    ctypedef struct dlk_pool_shape:
        int64_t planes, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo
    int dlk_max_pool2d(int dtype, const dlk_pool_shape *s, const void *x, void *y,
                       int64_t *idx, int nthreads)
    int dlk_max_pool2d_backward(int dtype, const dlk_pool_shape *s, const void *dy,
                                const int64_t *idx, void *dx, int nthreads)
    int dlk_avg_pool2d(int dtype, const dlk_pool_shape *s, const void *x, void *y,
                       int count_include_pad, int nthreads)
    int dlk_avg_pool2d_backward(int dtype, const dlk_pool_shape *s, const void *dy, void *dx,
                                int count_include_pad, int nthreads)


cdef dlk_pool_shape _shape(int64_t B, int64_t C, int64_t H, int64_t W, k, s, p, o):
    cdef dlk_pool_shape sh
    sh.planes = B * C
    sh.H, sh.W = H, W
    sh.kh, sh.kw = k
    sh.sh, sh.sw = s
    sh.ph, sh.pw = p
    sh.Ho, sh.Wo = o
    return sh


def max_pool2d(x, kernel_size, stride=None, padding=0):
    fn = "max_pool2d"
    _checks.float_array(fn, "x", x, 4, "(B, C, H, W)")
    k, s, p, o = _checks.pool2d_args(fn, x.shape, kernel_size, stride, padding)
    cdef cnp.ndarray xc = contiguous(x)
    B, C, H, W = x.shape
    cdef dlk_pool_shape sh = _shape(B, C, H, W, k, s, p, o)
    cdef cnp.ndarray y = output((B, C) + o, x.dtype)
    cdef cnp.ndarray idx = output((B, C) + o, np.int64)
    cdef int status, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(xc)
    with nogil:
        status = dlk_max_pool2d(dt, &sh, xc.data, y.data, <int64_t *>idx.data, nt)
    check_status(status, fn)
    return y, idx


def max_pool2d_backward(dy, indices, x_shape):
    fn = "max_pool2d_backward"
    B, C, H, W = _checks.max_pool2d_backward_args(fn, dy, indices, x_shape, check_range=False)
    cdef cnp.ndarray dyc = contiguous(dy)
    cdef cnp.ndarray ic = contiguous(indices)
    cdef dlk_pool_shape sh = _shape(B, C, H, W, (1, 1), (1, 1), (0, 0), dy.shape[2:])
    cdef cnp.ndarray dx = output((B, C, H, W), dy.dtype)
    cdef int status, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(dyc)
    with nogil:
        status = dlk_max_pool2d_backward(dt, &sh, dyc.data, <int64_t *>ic.data, dx.data, nt)
    if status == DLK_EINVAL:        # an index outside its plane: the kernel skipped it
        _checks.pool_index_range(fn, indices, H, W)
    check_status(status, fn)
    return dx


def avg_pool2d(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    fn = "avg_pool2d"
    _checks.float_array(fn, "x", x, 4, "(B, C, H, W)")
    k, s, p, o = _checks.pool2d_args(fn, x.shape, kernel_size, stride, padding)
    cdef int inc = _checks.flag(fn, "count_include_pad", count_include_pad)
    cdef cnp.ndarray xc = contiguous(x)
    B, C, H, W = x.shape
    cdef dlk_pool_shape sh = _shape(B, C, H, W, k, s, p, o)
    cdef cnp.ndarray y = output((B, C) + o, x.dtype)
    cdef int status, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(xc)
    with nogil:
        status = dlk_avg_pool2d(dt, &sh, xc.data, y.data, inc, nt)
    check_status(status, fn)
    return y


def avg_pool2d_backward(dy, x_shape, kernel_size, stride=None, padding=0,
                        count_include_pad=True):
    fn = "avg_pool2d_backward"
    B, C, H, W = _checks.image_shape(fn, "x_shape", x_shape)
    k, s, p, o = _checks.pool2d_args(fn, (B, C, H, W), kernel_size, stride, padding)
    cdef int inc = _checks.flag(fn, "count_include_pad", count_include_pad)
    _checks.float_array(fn, "dy", dy, 4, "(B, C, H_out, W_out)")
    _checks.shape_is(fn, "dy", dy, (B, C) + o, "(B, C, H_out, W_out)")
    cdef cnp.ndarray dyc = contiguous(dy)
    cdef dlk_pool_shape sh = _shape(B, C, H, W, k, s, p, o)
    cdef cnp.ndarray dx = output((B, C, H, W), dy.dtype)
    cdef int status, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(dyc)
    with nogil:
        status = dlk_avg_pool2d_backward(dt, &sh, dyc.data, dx.data, inc, nt)
    check_status(status, fn)
    return dx
