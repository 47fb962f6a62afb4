"""Native batch normalisation (training mode): checks shared with the reference,
loops in csrc/norm.c without the GIL."""
from libc.stdint cimport int64_t
cimport numpy as cnp
import numpy as np

from .. import _checks, _backend
from .common cimport check_status

cnp.import_array()

cdef extern from "norm.h" nogil:
    int dlk_batch_norm2d_f32(int64_t B, int64_t C, int64_t HW, const float *x,
                             const float *gamma, const float *beta, double eps, float *y,
                             float *mean, float *invstd, int nthreads)
    int dlk_batch_norm2d_f64(int64_t B, int64_t C, int64_t HW, const double *x,
                             const double *gamma, const double *beta, double eps, double *y,
                             double *mean, double *invstd, int nthreads)
    int dlk_batch_norm2d_backward_f32(int64_t B, int64_t C, int64_t HW, const float *dy,
                                      const float *x, const float *gamma, const float *mean,
                                      const float *invstd, float *dx, float *dgamma,
                                      float *dbeta, int nthreads)
    int dlk_batch_norm2d_backward_f64(int64_t B, int64_t C, int64_t HW, const double *dy,
                                      const double *x, const double *gamma,
                                      const double *mean, const double *invstd, double *dx,
                                      double *dgamma, double *dbeta, int nthreads)


def batch_norm2d(x, gamma, beta, eps=1e-5):
    fn = "batch_norm2d"
    _checks.batch_norm2d_args(fn, x, gamma, beta, eps)
    cdef cnp.ndarray xc = np.ascontiguousarray(x)
    cdef cnp.ndarray g = np.ascontiguousarray(gamma), bt = np.ascontiguousarray(beta)
    cdef int64_t B = x.shape[0], C = x.shape[1], HW = x.shape[2] * x.shape[3]
    cdef cnp.ndarray y = np.empty(x.shape, dtype=x.dtype)
    cdef cnp.ndarray mean = np.empty(C, dtype=x.dtype), invstd = np.empty(C, dtype=x.dtype)
    cdef double e = eps
    cdef int status, nt = _backend.get_num_threads()
    cdef bint single = cnp.PyArray_TYPE(xc) == cnp.NPY_FLOAT32
    with nogil:
        if single:
            status = dlk_batch_norm2d_f32(B, C, HW, <float *>xc.data, <float *>g.data,
                                          <float *>bt.data, e, <float *>y.data,
                                          <float *>mean.data, <float *>invstd.data, nt)
        else:
            status = dlk_batch_norm2d_f64(B, C, HW, <double *>xc.data, <double *>g.data,
                                          <double *>bt.data, e, <double *>y.data,
                                          <double *>mean.data, <double *>invstd.data, nt)
    check_status(status, fn)
    return y, mean, invstd


def batch_norm2d_backward(dy, x, gamma, mean, invstd):
    fn = "batch_norm2d_backward"
    _checks.batch_norm2d_backward_args(fn, dy, x, gamma, mean, invstd)
    cdef cnp.ndarray dyc = np.ascontiguousarray(dy), xc = np.ascontiguousarray(x)
    cdef cnp.ndarray g = np.ascontiguousarray(gamma), m = np.ascontiguousarray(mean)
    cdef cnp.ndarray s = np.ascontiguousarray(invstd)
    cdef int64_t B = x.shape[0], C = x.shape[1], HW = x.shape[2] * x.shape[3]
    cdef cnp.ndarray dx = np.empty(x.shape, dtype=x.dtype)
    cdef cnp.ndarray dgamma = np.empty(C, dtype=x.dtype), dbeta = np.empty(C, dtype=x.dtype)
    cdef int status, nt = _backend.get_num_threads()
    cdef bint single = cnp.PyArray_TYPE(xc) == cnp.NPY_FLOAT32
    with nogil:
        if single:
            status = dlk_batch_norm2d_backward_f32(
                B, C, HW, <float *>dyc.data, <float *>xc.data, <float *>g.data,
                <float *>m.data, <float *>s.data, <float *>dx.data, <float *>dgamma.data,
                <float *>dbeta.data, nt)
        else:
            status = dlk_batch_norm2d_backward_f64(
                B, C, HW, <double *>dyc.data, <double *>xc.data, <double *>g.data,
                <double *>m.data, <double *>s.data, <double *>dx.data, <double *>dgamma.data,
                <double *>dbeta.data, nt)
    check_status(status, fn)
    return dx, dgamma, dbeta
