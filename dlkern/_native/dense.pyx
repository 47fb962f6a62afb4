"""Native activations, softmax and dense layer: checks shared with the reference,
loops and GEMM calls in csrc/dense.c without the GIL."""
from libc.stdint cimport int64_t
cimport numpy as cnp
import numpy as np

from .. import _checks, _backend
from .common cimport check_status
from .gemm cimport load_blas

cnp.import_array()
load_blas()

cdef extern from "dense.h" nogil:
    int dlk_relu_f32(int64_t n, const float *x, float *y, int nthreads)
    int dlk_relu_f64(int64_t n, const double *x, double *y, int nthreads)
    int dlk_relu_backward_f32(int64_t n, const float *dy, const float *x, float *dx, int nt)
    int dlk_relu_backward_f64(int64_t n, const double *dy, const double *x, double *dx, int nt)
    int dlk_sigmoid_f32(int64_t n, const float *x, float *y, int nthreads)
    int dlk_sigmoid_f64(int64_t n, const double *x, double *y, int nthreads)
    int dlk_softmax_f32(int64_t rows, int64_t L, const float *x, float *y, int nthreads)
    int dlk_softmax_f64(int64_t rows, int64_t L, const double *x, double *y, int nthreads)
    int dlk_linear_f32(int64_t B, int64_t I, int64_t O, const float *x, const float *w,
                       const float *b, float *y, int nthreads)
    int dlk_linear_f64(int64_t B, int64_t I, int64_t O, const double *x, const double *w,
                       const double *b, double *y, int nthreads)
    int dlk_linear_backward_f32(int64_t B, int64_t I, int64_t O, const float *dy,
                                const float *x, const float *w, float *dx, float *dw,
                                float *db, int nthreads)
    int dlk_linear_backward_f64(int64_t B, int64_t I, int64_t O, const double *dy,
                                const double *x, const double *w, double *dx, double *dw,
                                double *db, int nthreads)


cdef inline bint _f32(cnp.ndarray a):
    return cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT32


ctypedef int (*unary_f32)(int64_t n, const float *x, float *y, int nthreads) noexcept nogil
ctypedef int (*unary_f64)(int64_t n, const double *x, double *y, int nthreads) noexcept nogil


cdef _unary(str fn, x, unary_f32 f32, unary_f64 f64):
    """y = f(x) element-wise for the C pair (f32, f64)."""
    _checks.float_array(fn, "x", x)
    cdef cnp.ndarray xc = np.ascontiguousarray(x)
    cdef cnp.ndarray y = np.empty(x.shape, dtype=x.dtype)
    cdef int64_t n = xc.size
    cdef int status, nt = _backend.get_num_threads()
    cdef bint single = _f32(xc)
    with nogil:
        if single:
            status = f32(n, <float *>xc.data, <float *>y.data, nt)
        else:
            status = f64(n, <double *>xc.data, <double *>y.data, nt)
    check_status(status, fn)
    return y


def relu(x):
    return _unary("relu", x, dlk_relu_f32, dlk_relu_f64)


def sigmoid(x):
    return _unary("sigmoid", x, dlk_sigmoid_f32, dlk_sigmoid_f64)


def relu_backward(dy, x):
    _checks.same_shape_pair("relu_backward", "dy", dy, "x", x)
    cdef cnp.ndarray dyc = np.ascontiguousarray(dy), xc = np.ascontiguousarray(x)
    cdef cnp.ndarray dx = np.empty(x.shape, dtype=x.dtype)
    cdef int64_t n = xc.size
    cdef int status, nt = _backend.get_num_threads()
    cdef bint single = _f32(xc)
    with nogil:
        if single:
            status = dlk_relu_backward_f32(n, <float *>dyc.data, <float *>xc.data,
                                           <float *>dx.data, nt)
        else:
            status = dlk_relu_backward_f64(n, <double *>dyc.data, <double *>xc.data,
                                           <double *>dx.data, nt)
    check_status(status, "relu_backward")
    return dx


def softmax(x, axis=-1):
    axis = _checks.softmax_args("softmax", x, axis)
    # rows along the last axis: move `axis` there, and back afterwards
    cdef cnp.ndarray xc = np.ascontiguousarray(np.moveaxis(x, axis, -1))
    cdef cnp.ndarray y = np.empty_like(xc)
    cdef int64_t L = xc.shape[xc.ndim - 1]
    cdef int64_t rows = xc.size // L if L else 0
    cdef int status = 0, nt = _backend.get_num_threads()
    cdef bint single = _f32(xc)
    if rows:
        with nogil:
            if single:
                status = dlk_softmax_f32(rows, L, <float *>xc.data, <float *>y.data, nt)
            else:
                status = dlk_softmax_f64(rows, L, <double *>xc.data, <double *>y.data, nt)
    check_status(status, "softmax")
    return np.ascontiguousarray(np.moveaxis(y, -1, axis))


def linear(x, w, b=None):
    _checks.linear_args("linear", x, w, b)
    cdef cnp.ndarray xc = np.ascontiguousarray(x), wc = np.ascontiguousarray(w)
    cdef cnp.ndarray bc = np.ascontiguousarray(b) if b is not None else None
    cdef int64_t B = x.shape[0], I = x.shape[1], O = w.shape[0]
    cdef cnp.ndarray y = np.empty((B, O), dtype=x.dtype)
    cdef void *bp = bc.data if bc is not None else NULL
    cdef int status = 0, nt = _backend.get_num_threads()
    cdef bint single = _f32(xc)
    with nogil:
        if single:
            status = dlk_linear_f32(B, I, O, <float *>xc.data, <float *>wc.data,
                                    <float *>bp, <float *>y.data, nt)
        else:
            status = dlk_linear_f64(B, I, O, <double *>xc.data, <double *>wc.data,
                                    <double *>bp, <double *>y.data, nt)
    check_status(status, "linear")
    return y


def linear_backward(dy, x, w):
    _checks.linear_backward_args("linear_backward", dy, x, w)
    cdef cnp.ndarray dyc = np.ascontiguousarray(dy), xc = np.ascontiguousarray(x)
    cdef cnp.ndarray wc = np.ascontiguousarray(w)
    cdef int64_t B = x.shape[0], I = x.shape[1], O = w.shape[0]
    cdef cnp.ndarray dx = np.empty((B, I), dtype=x.dtype)
    cdef cnp.ndarray dw = np.empty((O, I), dtype=x.dtype)
    cdef cnp.ndarray db = np.empty(O, dtype=x.dtype)
    cdef int status = 0, nt = _backend.get_num_threads()
    cdef bint single = _f32(xc)
    with nogil:
        if single:
            status = dlk_linear_backward_f32(B, I, O, <float *>dyc.data, <float *>xc.data,
                                             <float *>wc.data, <float *>dx.data,
                                             <float *>dw.data, <float *>db.data, nt)
        else:
            status = dlk_linear_backward_f64(B, I, O, <double *>dyc.data, <double *>xc.data,
                                             <double *>wc.data, <double *>dx.data,
                                             <double *>dw.data, <double *>db.data, nt)
    check_status(status, "linear_backward")
    return dx, dw, db
