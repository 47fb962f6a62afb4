"""Native RNN forward and BPTT: checks shared with the reference, the whole time loop
in csrc/rnn.c without the GIL."""
from libc.stdint cimport int64_t
cimport numpy as cnp
import numpy as np

from .. import _checks, _backend
from .common cimport check_status, dlk_stop_flag, watch_sigint, unwatch_sigint
from .gemm cimport load_blas

cnp.import_array()
load_blas()

cdef extern from "rnn.h" nogil:
    int dlk_rnn_forward_f32(int64_t B, int64_t T, int64_t D, int64_t H, const float *x,
                            const float *h0, const float *W, const float *U, const float *b,
                            const int64_t *lengths, int relu, float *hs,
                            const dlk_stop_flag *stop, int nthreads)
    int dlk_rnn_forward_f64(int64_t B, int64_t T, int64_t D, int64_t H, const double *x,
                            const double *h0, const double *W, const double *U,
                            const double *b, const int64_t *lengths, int relu, double *hs,
                            const dlk_stop_flag *stop, int nthreads)
    int dlk_rnn_backward_f32(int64_t B, int64_t T, int64_t D, int64_t H, const float *dhs,
                             const float *x, const float *hs, const float *h0, const float *W,
                             const float *U, const int64_t *lengths, int relu, float *dx,
                             float *dh0, float *dW, float *dU, float *db,
                             const dlk_stop_flag *stop, int nthreads)
    int dlk_rnn_backward_f64(int64_t B, int64_t T, int64_t D, int64_t H, const double *dhs,
                             const double *x, const double *hs, const double *h0,
                             const double *W, const double *U, const int64_t *lengths,
                             int relu, double *dx, double *dh0, double *dW, double *dU,
                             double *db, const dlk_stop_flag *stop, int nthreads)


def rnn_forward(x, h0, W, U, b, nonlinearity="tanh", lengths=None):
    fn = "rnn_forward"
    lens = _checks.rnn_args(fn, x, h0, W, U, b, nonlinearity, lengths)
    cdef cnp.ndarray xc = np.ascontiguousarray(x), h0c = np.ascontiguousarray(h0)
    cdef cnp.ndarray Wc = np.ascontiguousarray(W), Uc = np.ascontiguousarray(U)
    cdef cnp.ndarray bc = np.ascontiguousarray(b) if b is not None else None
    cdef cnp.ndarray lc = np.ascontiguousarray(lens, dtype=np.int64)
    cdef int64_t B = x.shape[0], T = x.shape[1], D = x.shape[2], H = h0.shape[1]
    cdef cnp.ndarray hs = np.empty((B, T, H), dtype=x.dtype)
    cdef void *bp = bc.data if bc is not None else NULL
    cdef int relu = nonlinearity == "relu"
    cdef int status, nt = _backend.get_num_threads()
    cdef bint single = cnp.PyArray_TYPE(xc) == cnp.NPY_FLOAT32
    cdef const dlk_stop_flag *stop = watch_sigint(<double>B * T * H * (H + D))
    with nogil:
        if single:
            status = dlk_rnn_forward_f32(B, T, D, H, <float *>xc.data, <float *>h0c.data,
                                         <float *>Wc.data, <float *>Uc.data, <float *>bp,
                                         <int64_t *>lc.data, relu, <float *>hs.data, stop,
                                         nt)
        else:
            status = dlk_rnn_forward_f64(B, T, D, H, <double *>xc.data, <double *>h0c.data,
                                         <double *>Wc.data, <double *>Uc.data, <double *>bp,
                                         <int64_t *>lc.data, relu, <double *>hs.data, stop,
                                         nt)
    unwatch_sigint(stop)
    check_status(status, fn)
    return hs


def rnn_backward(dhs, x, hs, h0, W, U, nonlinearity="tanh", lengths=None):
    fn = "rnn_backward"
    lens = _checks.rnn_backward_args(fn, dhs, x, hs, h0, W, U, nonlinearity, lengths)
    cdef cnp.ndarray dc = np.ascontiguousarray(dhs), xc = np.ascontiguousarray(x)
    cdef cnp.ndarray hc = np.ascontiguousarray(hs), h0c = np.ascontiguousarray(h0)
    cdef cnp.ndarray Wc = np.ascontiguousarray(W), Uc = np.ascontiguousarray(U)
    cdef cnp.ndarray lc = np.ascontiguousarray(lens, dtype=np.int64)
    cdef int64_t B = x.shape[0], T = x.shape[1], D = x.shape[2], H = h0.shape[1]
    cdef cnp.ndarray dx = np.empty((B, T, D), dtype=x.dtype)
    cdef cnp.ndarray dh0 = np.empty((B, H), dtype=x.dtype)
    cdef cnp.ndarray dW = np.empty((H, H), dtype=x.dtype)
    cdef cnp.ndarray dU = np.empty((H, D), dtype=x.dtype)
    cdef cnp.ndarray db = np.empty(H, dtype=x.dtype)
    cdef int relu = nonlinearity == "relu"
    cdef int status, nt = _backend.get_num_threads()
    cdef bint single = cnp.PyArray_TYPE(xc) == cnp.NPY_FLOAT32
    cdef const dlk_stop_flag *stop = watch_sigint(2.0 * B * T * H * (H + D))
    with nogil:
        if single:
            status = dlk_rnn_backward_f32(
                B, T, D, H, <float *>dc.data, <float *>xc.data, <float *>hc.data,
                <float *>h0c.data, <float *>Wc.data, <float *>Uc.data, <int64_t *>lc.data,
                relu, <float *>dx.data, <float *>dh0.data, <float *>dW.data,
                <float *>dU.data, <float *>db.data, stop, nt)
        else:
            status = dlk_rnn_backward_f64(
                B, T, D, H, <double *>dc.data, <double *>xc.data, <double *>hc.data,
                <double *>h0c.data, <double *>Wc.data, <double *>Uc.data,
                <int64_t *>lc.data, relu, <double *>dx.data, <double *>dh0.data,
                <double *>dW.data, <double *>dU.data, <double *>db.data, stop, nt)
    unwatch_sigint(stop)
    check_status(status, fn)
    return dx, dh0, dW, dU, db
