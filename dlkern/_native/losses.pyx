"""Native losses: checks shared with the reference, loss and gradient in one pass in
csrc/losses.c without the GIL.  Each returns (loss as a Python float, gradient)."""
from libc.stdint cimport int64_t
cimport numpy as cnp
import numpy as np

from .. import _checks, _backend
from .common cimport check_status

cnp.import_array()

cdef extern from "losses.h" nogil:
    enum:
        DLK_LOSS_MSE
        DLK_LOSS_BCE
        DLK_LOSS_BCE_LOGITS
    int dlk_loss_f32(int kind, int64_t B, int64_t n, const float *a, const float *y,
                     float *grad, double *loss, int nthreads)
    int dlk_loss_f64(int kind, int64_t B, int64_t n, const double *a, const double *y,
                     double *grad, double *loss, int nthreads)
    int dlk_cross_entropy_f32(int64_t B, int64_t C, const float *z, const int64_t *labels,
                              float *grad, double *loss, int nthreads)
    int dlk_cross_entropy_f64(int64_t B, int64_t C, const double *z, const int64_t *labels,
                              double *grad, double *loss, int nthreads)
    int dlk_sequence_mse_f32(int64_t N, int64_t T, int64_t D, const float *a, const float *y,
                             const int64_t *lengths, float *grad, double *loss, int nt)
    int dlk_sequence_mse_f64(int64_t N, int64_t T, int64_t D, const double *a,
                             const double *y, const int64_t *lengths, double *grad,
                             double *loss, int nt)


cdef _elementwise(str fn, int kind, str a_name, a, y):
    cdef int64_t B = _checks.loss_pair(fn, a_name, a, "y", y)
    cdef cnp.ndarray ac = np.ascontiguousarray(a), yc = np.ascontiguousarray(y)
    cdef cnp.ndarray g = np.empty(a.shape, dtype=a.dtype)
    cdef int64_t n = ac.size
    cdef double loss = 0
    cdef int status, nt = _backend.get_num_threads()
    cdef bint single = cnp.PyArray_TYPE(ac) == cnp.NPY_FLOAT32
    with nogil:
        if single:
            status = dlk_loss_f32(kind, B, n, <float *>ac.data, <float *>yc.data,
                                  <float *>g.data, &loss, nt)
        else:
            status = dlk_loss_f64(kind, B, n, <double *>ac.data, <double *>yc.data,
                                  <double *>g.data, &loss, nt)
    check_status(status, fn)
    return loss, g


def mse(y_hat, y):
    return _elementwise("mse", DLK_LOSS_MSE, "y_hat", y_hat, y)


def bce(y_hat, y):
    return _elementwise("bce", DLK_LOSS_BCE, "y_hat", y_hat, y)


def bce_with_logits(z, y):
    return _elementwise("bce_with_logits", DLK_LOSS_BCE_LOGITS, "z", z, y)


def cross_entropy(logits, labels):
    fn = "cross_entropy"
    B, C = _checks.cross_entropy_args(fn, logits, labels)
    cdef cnp.ndarray zc = np.ascontiguousarray(logits)
    cdef cnp.ndarray lc = np.ascontiguousarray(labels, dtype=np.int64)
    cdef cnp.ndarray g = np.empty(logits.shape, dtype=logits.dtype)
    cdef int64_t b = B, c = C
    cdef double loss = 0
    cdef int status, nt = _backend.get_num_threads()
    cdef bint single = cnp.PyArray_TYPE(zc) == cnp.NPY_FLOAT32
    with nogil:
        if single:
            status = dlk_cross_entropy_f32(b, c, <float *>zc.data, <int64_t *>lc.data,
                                           <float *>g.data, &loss, nt)
        else:
            status = dlk_cross_entropy_f64(b, c, <double *>zc.data, <int64_t *>lc.data,
                                           <double *>g.data, &loss, nt)
    check_status(status, fn)
    return loss, g


def sequence_mse(y_hat, y, lengths):
    fn = "sequence_mse"
    N, T = _checks.sequence_mse_args(fn, y_hat, y, lengths)
    cdef cnp.ndarray ac = np.ascontiguousarray(y_hat), yc = np.ascontiguousarray(y)
    cdef cnp.ndarray lc = np.ascontiguousarray(lengths, dtype=np.int64)
    cdef cnp.ndarray g = np.empty(y_hat.shape, dtype=y_hat.dtype)
    cdef int64_t n = N, t = T, d = y_hat.shape[2]
    cdef double loss = 0
    cdef int status, nt = _backend.get_num_threads()
    cdef bint single = cnp.PyArray_TYPE(ac) == cnp.NPY_FLOAT32
    with nogil:
        if single:
            status = dlk_sequence_mse_f32(n, t, d, <float *>ac.data, <float *>yc.data,
                                          <int64_t *>lc.data, <float *>g.data, &loss, nt)
        else:
            status = dlk_sequence_mse_f64(n, t, d, <double *>ac.data, <double *>yc.data,
                                          <int64_t *>lc.data, <double *>g.data, &loss, nt)
    check_status(status, fn)
    return loss, g
