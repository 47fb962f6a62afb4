"""Native batch normalisation (training and evaluation mode) and layer normalisation:
checks shared with the reference, loops in csrc/norm.c without the GIL."""
from libc.stdint cimport int64_t
cimport numpy as cnp
import numpy as np

from .. import _checks, _backend
from .common cimport check_status, dtype_tag, contiguous, empty_like, output

from .runtime cimport bind_runtime
cnp.import_array()
bind_runtime()

cdef extern from "norm.h" nogil:
    int dlk_batch_norm2d(int dtype, int64_t B, int64_t C, int64_t HW, const void *x,
                         const void *gamma, const void *beta, double eps, void *y,
                         void *mean, void *invstd, int nthreads)
    int dlk_batch_norm2d_backward(int dtype, int64_t B, int64_t C, int64_t HW, const void *dy,
                                  const void *x, const void *gamma, const void *mean,
                                  const void *invstd, void *dx, void *dgamma, void *dbeta,
                                  int nthreads)
    int dlk_batch_norm_inference(int dtype, int64_t B, int64_t C, int64_t HW, const void *x,
                                 const void *gamma, const void *beta, const void *rmean,
                                 const void *rvar, double eps, void *y, int nthreads)
    int dlk_layer_norm(int dtype, int64_t R, int64_t D, const void *x, const void *gamma,
                       const void *beta, double eps, void *y, void *mean, void *invstd,
                       int nthreads)
    int dlk_layer_norm_backward(int dtype, int64_t R, int64_t D, const void *dy,
                                const void *x, const void *gamma, const void *mean,
                                const void *invstd, void *dx, void *dgamma, void *dbeta,
                                int nthreads)


cdef int64_t plane(x):
    """H·W of an NCHW array, 1 for (B, C) features."""
    return x.shape[2] * x.shape[3] if x.ndim == 4 else 1


def batch_norm2d(x, gamma, beta, eps=1e-5):
    fn = "batch_norm2d"
    _checks.batch_norm2d_args(fn, x, gamma, beta, eps)
    cdef cnp.ndarray xc = contiguous(x)
    cdef cnp.ndarray g = contiguous(gamma), bt = contiguous(beta)
    cdef int64_t B = x.shape[0], C = x.shape[1], HW = plane(x)
    cdef cnp.ndarray y = output(x.shape, x.dtype)
    cdef cnp.ndarray mean = np.empty(C, dtype=x.dtype), invstd = np.empty(C, dtype=x.dtype)
    cdef double e = eps
    cdef int status, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(xc)
    with nogil:
        status = dlk_batch_norm2d(dt, B, C, HW, xc.data, g.data, bt.data, e, y.data,
                                  mean.data, invstd.data, nt)
    check_status(status, fn)
    return y, mean, invstd


def batch_norm2d_backward(dy, x, gamma, mean, invstd):
    fn = "batch_norm2d_backward"
    _checks.batch_norm2d_backward_args(fn, dy, x, gamma, mean, invstd)
    cdef cnp.ndarray dyc = contiguous(dy), xc = contiguous(x)
    cdef cnp.ndarray g = contiguous(gamma), m = contiguous(mean)
    cdef cnp.ndarray s = contiguous(invstd)
    cdef int64_t B = x.shape[0], C = x.shape[1], HW = plane(x)
    cdef cnp.ndarray dx = output(x.shape, x.dtype)
    cdef cnp.ndarray dgamma = np.empty(C, dtype=x.dtype), dbeta = np.empty(C, dtype=x.dtype)
    cdef int status, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(xc)
    with nogil:
        status = dlk_batch_norm2d_backward(dt, B, C, HW, dyc.data, xc.data, g.data, m.data,
                                           s.data, dx.data, dgamma.data, dbeta.data, nt)
    check_status(status, fn)
    return dx, dgamma, dbeta


def batch_norm_inference(x, gamma, beta, running_mean, running_var, eps=1e-5):
    fn = "batch_norm_inference"
    _checks.batch_norm_inference_args(fn, x, gamma, beta, running_mean, running_var, eps)
    cdef cnp.ndarray xc = contiguous(x), g = contiguous(gamma), bt = contiguous(beta)
    cdef cnp.ndarray rm = contiguous(running_mean), rv = contiguous(running_var)
    cdef int64_t B = x.shape[0], C = x.shape[1], HW = plane(x)
    cdef cnp.ndarray y = empty_like(xc)
    cdef double e = eps
    cdef int status, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(xc)
    with nogil:
        status = dlk_batch_norm_inference(dt, B, C, HW, xc.data, g.data, bt.data, rm.data,
                                          rv.data, e, y.data, nt)
    check_status(status, fn)
    return y


def layer_norm(x, gamma, beta, eps=1e-5):
    fn = "layer_norm"
    _checks.layer_norm_args(fn, x, gamma, beta, eps)
    cdef cnp.ndarray xc = contiguous(x), g = contiguous(gamma), bt = contiguous(beta)
    cdef int64_t D = x.shape[-1], R = x.size // D
    cdef cnp.ndarray y = empty_like(xc)
    cdef cnp.ndarray mean = output(x.shape[:-1], x.dtype)
    cdef cnp.ndarray invstd = output(x.shape[:-1], x.dtype)
    cdef double e = eps
    cdef int status, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(xc)
    with nogil:
        status = dlk_layer_norm(dt, R, D, xc.data, g.data, bt.data, e, y.data, mean.data,
                                invstd.data, nt)
    check_status(status, fn)
    return y, mean, invstd


def layer_norm_backward(dy, x, gamma, mean, invstd):
    fn = "layer_norm_backward"
    _checks.layer_norm_backward_args(fn, dy, x, gamma, mean, invstd)
    cdef cnp.ndarray dyc = contiguous(dy), xc = contiguous(x), g = contiguous(gamma)
    cdef cnp.ndarray m = contiguous(mean), s = contiguous(invstd)
    cdef int64_t D = x.shape[-1], R = x.size // D
    cdef cnp.ndarray dx = empty_like(xc)
    cdef cnp.ndarray dgamma = np.empty(D, dtype=x.dtype), dbeta = np.empty(D, dtype=x.dtype)
    cdef int status, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(xc)
    with nogil:
        status = dlk_layer_norm_backward(dt, R, D, dyc.data, xc.data, g.data, m.data, s.data,
                                         dx.data, dgamma.data, dbeta.data, nt)
    check_status(status, fn)
    return dx, dgamma, dbeta
