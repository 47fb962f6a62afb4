"""Native activations, softmax and dense layer: checks shared with the reference,
loops and GEMM calls in csrc/dense.c without the GIL."""
from libc.stdint cimport int64_t
cimport numpy as cnp
import numpy as np

from .. import _checks, _backend
from .common cimport check_status, dtype_tag, native_float, contiguous, empty_like
from .gemm cimport load_blas

from .runtime cimport bind_runtime
cnp.import_array()
bind_runtime()
load_blas()

cdef extern from "dense.h" nogil:
    int dlk_relu(int dtype, int64_t n, const void *x, void *y, int nthreads)
    int dlk_relu_backward(int dtype, int64_t n, const void *dy, const void *x, void *dx,
                          int nthreads)
    int dlk_sigmoid(int dtype, int64_t n, const void *x, void *y, int nthreads)
    int dlk_softmax(int dtype, int64_t rows, int64_t L, const void *x, void *y, int nthreads)
    int dlk_linear(int dtype, int64_t B, int64_t I, int64_t O, const void *x, const void *w,
                   const void *b, void *y, int nthreads)
    int dlk_linear_backward(int dtype, int64_t B, int64_t I, int64_t O, const void *dy,
                            const void *x, const void *w, void *dx, void *dw, void *db,
                            int nthreads)


ctypedef int (*unary_fn)(int dtype, int64_t n, const void *x, void *y,
                         int nthreads) noexcept nogil


cdef _unary(str fn, x, unary_fn f):
    """y = f(x) element-wise for the C entry f."""
    if not native_float(x):
        _checks.float_array(fn, "x", x)
    cdef cnp.ndarray xc = contiguous(x)
    cdef cnp.ndarray y = empty_like(xc)
    cdef int64_t n = xc.size
    cdef int status, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(xc)
    with nogil:
        status = f(dt, n, xc.data, y.data, nt)
    check_status(status, fn)
    return y


def relu(x):
    return _unary("relu", x, dlk_relu)


def sigmoid(x):
    return _unary("sigmoid", x, dlk_sigmoid)


def relu_backward(dy, x):
    _checks.same_shape_pair("relu_backward", "dy", dy, "x", x)
    cdef cnp.ndarray dyc = contiguous(dy), xc = contiguous(x)
    cdef cnp.ndarray dx = empty_like(xc)
    cdef int64_t n = xc.size
    cdef int status, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(xc)
    with nogil:
        status = dlk_relu_backward(dt, n, dyc.data, xc.data, dx.data, nt)
    check_status(status, "relu_backward")
    return dx


def softmax(x, axis=-1):
    axis = _checks.softmax_args("softmax", x, axis)
    # rows along the last axis: move `axis` there, and back afterwards
    cdef bint last = axis == x.ndim - 1
    cdef cnp.ndarray xc = np.ascontiguousarray(x if last else np.moveaxis(x, axis, -1))
    cdef cnp.ndarray y = np.empty_like(xc)
    cdef int64_t L = xc.shape[xc.ndim - 1]
    cdef int64_t rows = xc.size // L if L else 0
    cdef int status = 0, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(xc)
    if rows:
        with nogil:
            status = dlk_softmax(dt, rows, L, xc.data, y.data, nt)
    check_status(status, "softmax")
    return y if last else np.ascontiguousarray(np.moveaxis(y, -1, axis))


def linear(x, w, b=None):
    _checks.linear_args("linear", x, w, b)
    cdef cnp.ndarray xc = contiguous(x), wc = contiguous(w)
    cdef cnp.ndarray bc = contiguous(b) if b is not None else None
    cdef int64_t B = x.shape[0], I = x.shape[1], O = w.shape[0]
    cdef cnp.ndarray y = np.empty((B, O), dtype=x.dtype)
    cdef void *bp = bc.data if bc is not None else NULL
    cdef int status = 0, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(xc)
    with nogil:
        status = dlk_linear(dt, B, I, O, xc.data, wc.data, bp, y.data, nt)
    check_status(status, "linear")
    return y


def linear_backward(dy, x, w):
    _checks.linear_backward_args("linear_backward", dy, x, w)
    cdef cnp.ndarray dyc = contiguous(dy), xc = contiguous(x)
    cdef cnp.ndarray wc = contiguous(w)
    cdef int64_t B = x.shape[0], I = x.shape[1], O = w.shape[0]
    cdef cnp.ndarray dx = np.empty((B, I), dtype=x.dtype)
    cdef cnp.ndarray dw = np.empty((O, I), dtype=x.dtype)
    cdef cnp.ndarray db = np.empty(O, dtype=x.dtype)
    cdef int status = 0, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(xc)
    with nogil:
        status = dlk_linear_backward(dt, B, I, O, dyc.data, xc.data, wc.data, dx.data, dw.data,
                                     db.data, nt)
    check_status(status, "linear_backward")
    return dx, dw, db
