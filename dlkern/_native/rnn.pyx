"""Native RNN forward and BPTT: checks shared with the reference, the whole time loop
in csrc/rnn.c without the GIL."""
from libc.stdint cimport int64_t
cimport numpy as cnp
import numpy as np

from .. import _checks, _backend
from .common cimport (check_status, dtype_tag, dlk_stop_flag, watch_sigint, unwatch_sigint,
                      contiguous, output, stored)
from .gemm cimport load_blas

from .runtime cimport bind_runtime
cnp.import_array()
bind_runtime()
load_blas()

cdef extern from "rnn.h" nogil:
    int dlk_rnn_forward(int dtype, int64_t B, int64_t T, int64_t D, int64_t H, const void *x,
                        const void *h0, const void *W, int tw, const void *U, int tu,
                        const void *b, const int64_t *lengths, int relu, void *hs,
                        const dlk_stop_flag *stop, int nthreads)
    int dlk_rnn_backward(int dtype, int64_t B, int64_t T, int64_t D, int64_t H, const void *dhs,
                         const void *x, const void *hs, const void *h0, const void *W,
                         int tw, const void *U, int tu, const int64_t *lengths, int relu,
                         void *dx, void *dh0, void *dW, void *dU, void *db,
                         const dlk_stop_flag *stop, int nthreads)
    int dlk_lstm_forward(int dtype, int64_t B, int64_t T, int64_t D, int64_t H, const void *x,
                         const void *h0, const void *c0, const void *W, int tw,
                         const void *U, int tu, const void *b, const int64_t *lengths,
                         void *hs, void *cs, void *gates, const dlk_stop_flag *stop,
                         int nthreads)
    int dlk_lstm_backward(int dtype, int64_t B, int64_t T, int64_t D, int64_t H,
                          const void *dhs, const void *x, const void *hs, const void *cs,
                          const void *h0, const void *c0, const void *W, int tw,
                          const void *U, int tu, const void *b, const void *gates,
                          const int64_t *lengths, const void *dc_last, void *dx, void *dh0,
                          void *dc0, void *dW, void *dU, void *db, const dlk_stop_flag *stop,
                          int nthreads)


def rnn_forward(x, h0, W, U, b, nonlinearity="tanh", lengths=None):
    fn = "rnn_forward"
    lens = _checks.rnn_args(fn, x, h0, W, U, b, nonlinearity, lengths)
    cdef int tw, tu
    cdef cnp.ndarray xc = contiguous(x), h0c = contiguous(h0)
    cdef cnp.ndarray Wc = stored(W, &tw), Uc = stored(U, &tu)
    cdef cnp.ndarray bc = contiguous(b) if b is not None else None
    cdef cnp.ndarray lc = np.ascontiguousarray(lens, dtype=np.int64)
    cdef int64_t B = x.shape[0], T = x.shape[1], D = x.shape[2], H = h0.shape[1]
    cdef cnp.ndarray hs = output((B, T, H), x.dtype)
    cdef void *bp = bc.data if bc is not None else NULL
    cdef int relu = nonlinearity == "relu"
    cdef int status, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(xc)
    cdef const dlk_stop_flag *stop = watch_sigint(<double>B * T * H * (H + D))
    with nogil:
        status = dlk_rnn_forward(dt, B, T, D, H, xc.data, h0c.data, Wc.data, tw, Uc.data, tu,
                                 bp, <int64_t *>lc.data, relu, hs.data, stop, nt)
    unwatch_sigint(stop)
    check_status(status, fn)
    return hs


def rnn_backward(dhs, x, hs, h0, W, U, nonlinearity="tanh", lengths=None):
    fn = "rnn_backward"
    lens = _checks.rnn_backward_args(fn, dhs, x, hs, h0, W, U, nonlinearity, lengths)
    cdef cnp.ndarray dc = contiguous(dhs), xc = contiguous(x)
    cdef int tw, tu
    cdef cnp.ndarray hc = contiguous(hs), h0c = contiguous(h0)
    cdef cnp.ndarray Wc = stored(W, &tw), Uc = stored(U, &tu)
    cdef cnp.ndarray lc = np.ascontiguousarray(lens, dtype=np.int64)
    cdef int64_t B = x.shape[0], T = x.shape[1], D = x.shape[2], H = h0.shape[1]
    cdef cnp.ndarray dx = output((B, T, D), x.dtype)
    cdef cnp.ndarray dh0 = output((B, H), x.dtype)
    # dW and dU are stored as W and U are: a transposed weight gets a transposed gradient
    cdef cnp.ndarray dW = output((H, H), x.dtype)
    cdef cnp.ndarray dU = output((D, H) if tu else (H, D), x.dtype)
    cdef cnp.ndarray db = output(H, x.dtype)
    cdef int relu = nonlinearity == "relu"
    cdef int status, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(xc)
    cdef const dlk_stop_flag *stop = watch_sigint(2.0 * B * T * H * (H + D))
    with nogil:
        status = dlk_rnn_backward(dt, B, T, D, H, dc.data, xc.data, hc.data, h0c.data,
                                  Wc.data, tw, Uc.data, tu, <int64_t *>lc.data, relu, dx.data,
                                  dh0.data, dW.data, dU.data, db.data, stop, nt)
    unwatch_sigint(stop)
    check_status(status, fn)
    return dx, dh0, dW.T if tw else dW, dU.T if tu else dU, db


def lstm_forward(x, h0, c0, W, U, b, lengths=None, return_gates=False):
    fn = "lstm_forward"
    lens = _checks.lstm_args(fn, x, h0, c0, W, U, b, lengths)
    cdef int tw, tu
    cdef cnp.ndarray xc = contiguous(x), h0c = contiguous(h0), c0c = contiguous(c0)
    cdef cnp.ndarray Wc = stored(W, &tw), Uc = stored(U, &tu)
    cdef cnp.ndarray bc = contiguous(b) if b is not None else None
    cdef cnp.ndarray lc = np.ascontiguousarray(lens, dtype=np.int64)
    cdef int64_t B = x.shape[0], T = x.shape[1], D = x.shape[2], H = h0.shape[1]
    cdef cnp.ndarray hs = output((B, T, H), x.dtype)
    cdef cnp.ndarray cs = output((B, T, H), x.dtype)
    cdef cnp.ndarray gates = output((B, T, 4 * H), x.dtype) if return_gates else None
    cdef void *gp = gates.data if gates is not None else NULL
    cdef void *bp = bc.data if bc is not None else NULL
    cdef int status, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(xc)
    cdef const dlk_stop_flag *stop = watch_sigint(4.0 * B * T * H * (H + D))
    with nogil:
        status = dlk_lstm_forward(dt, B, T, D, H, xc.data, h0c.data, c0c.data, Wc.data, tw,
                                  Uc.data, tu, bp, <int64_t *>lc.data, hs.data, cs.data, gp, stop,
                                  nt)
    unwatch_sigint(stop)
    check_status(status, fn)
    return (hs, cs, gates) if return_gates else (hs, cs)


def lstm_backward(dhs, x, hs, cs, h0, c0, W, U, b, lengths=None, dc_last=None, gates=None):
    fn = "lstm_backward"
    lens = _checks.lstm_backward_args(fn, dhs, x, hs, cs, h0, c0, W, U, b, lengths, dc_last,
                                      gates)
    cdef cnp.ndarray dc = contiguous(dhs), xc = contiguous(x)
    cdef cnp.ndarray hc = contiguous(hs), cc = contiguous(cs)
    cdef int tw, tu
    cdef cnp.ndarray h0c = contiguous(h0), c0c = contiguous(c0)
    cdef cnp.ndarray Wc = stored(W, &tw), Uc = stored(U, &tu)
    cdef cnp.ndarray bc = contiguous(b) if b is not None else None
    cdef cnp.ndarray dlc = contiguous(dc_last) if dc_last is not None else None
    cdef cnp.ndarray gc = contiguous(gates) if gates is not None else None
    cdef void *gp = gc.data if gc is not None else NULL
    cdef cnp.ndarray lc = np.ascontiguousarray(lens, dtype=np.int64)
    cdef int64_t B = x.shape[0], T = x.shape[1], D = x.shape[2], H = h0.shape[1]
    cdef cnp.ndarray dx = output((B, T, D), x.dtype)
    cdef cnp.ndarray dh0 = output((B, H), x.dtype)
    cdef cnp.ndarray dc0 = output((B, H), x.dtype)
    cdef cnp.ndarray dW = output((H, 4 * H) if tw else (4 * H, H), x.dtype)
    cdef cnp.ndarray dU = output((D, 4 * H) if tu else (4 * H, D), x.dtype)
    cdef cnp.ndarray db = output(4 * H, x.dtype)
    cdef void *bp = bc.data if bc is not None else NULL
    cdef void *dlp = dlc.data if dlc is not None else NULL
    cdef int status, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(xc)
    cdef const dlk_stop_flag *stop = watch_sigint(8.0 * B * T * H * (H + D))
    with nogil:
        status = dlk_lstm_backward(dt, B, T, D, H, dc.data, xc.data, hc.data, cc.data,
                                   h0c.data, c0c.data, Wc.data, tw, Uc.data, tu, bp, gp,
                                   <int64_t *>lc.data, dlp, dx.data, dh0.data, dc0.data,
                                   dW.data, dU.data, db.data, stop, nt)
    unwatch_sigint(stop)
    check_status(status, fn)
    return dx, dh0, dc0, dW.T if tw else dW, dU.T if tu else dU, db
