"""Native losses: checks shared with the reference, loss and gradient in one pass in
csrc/losses.c without the GIL.  Each returns (loss as a Python float, gradient)."""
from libc.stdint cimport int64_t
cimport numpy as cnp
import numpy as np

from .. import _checks, _backend
from .common cimport check_status, dtype_tag, contiguous, output

from .runtime cimport bind_runtime
cnp.import_array()
bind_runtime()

cdef extern from "losses.h" nogil:
    enum:
        DLK_LOSS_MSE
        DLK_LOSS_BCE
        DLK_LOSS_BCE_LOGITS
    int dlk_loss(int dtype, int kind, int64_t B, int64_t n, const void *a, const void *y,
                 void *grad, double *loss, int nthreads)
    int dlk_cross_entropy(int dtype, int64_t B, int64_t C, const void *z,
                          const int64_t *labels, int has_ignore, int64_t ignore, void *grad,
                          double *loss, int nthreads)
    int dlk_sequence_mse(int dtype, int64_t N, int64_t T, int64_t D, const void *a,
                         const void *y, const int64_t *lengths, void *grad, double *loss,
                         int nthreads)


cdef _elementwise(str fn, int kind, str a_name, a, y):
    cdef int64_t B = _checks.loss_pair(fn, a_name, a, "y", y)
    cdef cnp.ndarray ac = contiguous(a), yc = contiguous(y)
    cdef cnp.ndarray g = output(a.shape, a.dtype)
    cdef int64_t n = ac.size
    cdef double loss = 0
    cdef int status, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(ac)
    with nogil:
        status = dlk_loss(dt, kind, B, n, ac.data, yc.data, g.data, &loss, nt)
    check_status(status, fn)
    return loss, g


def mse(y_hat, y):
    return _elementwise("mse", DLK_LOSS_MSE, "y_hat", y_hat, y)


def bce(y_hat, y):
    return _elementwise("bce", DLK_LOSS_BCE, "y_hat", y_hat, y)


def bce_with_logits(z, y):
    return _elementwise("bce_with_logits", DLK_LOSS_BCE_LOGITS, "z", z, y)


def cross_entropy(logits, labels, ignore_index=None):
    fn = "cross_entropy"
    B, C, ignore = _checks.cross_entropy_args(fn, logits, labels, ignore_index)
    cdef cnp.ndarray zc = contiguous(logits)
    cdef cnp.ndarray lc = np.ascontiguousarray(labels, dtype=np.int64)
    cdef cnp.ndarray g = output(logits.shape, logits.dtype)
    cdef int64_t b = B, c = C, ig = ignore if ignore is not None else 0
    cdef int has_ignore = ignore is not None
    cdef double loss = 0
    cdef int status, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(zc)
    with nogil:
        status = dlk_cross_entropy(dt, b, c, zc.data, <int64_t *>lc.data, has_ignore, ig,
                                   g.data, &loss, nt)
    check_status(status, fn)
    return loss, g


def sequence_mse(y_hat, y, lengths):
    fn = "sequence_mse"
    N, T = _checks.sequence_mse_args(fn, y_hat, y, lengths)
    cdef cnp.ndarray ac = contiguous(y_hat), yc = contiguous(y)
    cdef cnp.ndarray lc = np.ascontiguousarray(lengths, dtype=np.int64)
    cdef cnp.ndarray g = output(y_hat.shape, y_hat.dtype)
    cdef int64_t n = N, t = T, d = y_hat.shape[2]
    cdef double loss = 0
    cdef int status, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(ac)
    with nogil:
        status = dlk_sequence_mse(dt, n, t, d, ac.data, yc.data, <int64_t *>lc.data, g.data,
                                  &loss, nt)
    check_status(status, fn)
    return loss, g
