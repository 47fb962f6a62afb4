"""Native inverted dropout: checks shared with the reference, loops in csrc/dropout.c
without the GIL; the same mask as the reference's generator."""
from libc.stdint cimport int64_t, uint64_t, uint8_t
cimport numpy as cnp
import numpy as np

from .. import _checks, _backend
from .common cimport check_status, dtype_tag, contiguous, empty_like, output

from .runtime cimport bind_runtime
cnp.import_array()
bind_runtime()

cdef extern from "dropout.h" nogil:
    int dlk_dropout(int dtype, int64_t n, const void *x, uint64_t seed, uint64_t threshold,
                    double scale, void *y, uint8_t *mask, int nthreads)
    int dlk_dropout_backward(int dtype, int64_t n, const void *dy, const uint8_t *mask,
                             double scale, void *dx, int nthreads)


def dropout(x, p, seed):
    p, seed = _checks.dropout_args("dropout", x, p, seed)
    cdef cnp.ndarray xc = contiguous(x)
    cdef cnp.ndarray y = empty_like(xc)
    cdef cnp.ndarray mask = output(x.shape, np.bool_)
    cdef int64_t n = xc.size
    cdef uint64_t s = seed, thr = _checks.dropout_threshold(p)
    cdef double scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
    cdef int status, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(xc)
    with nogil:
        status = dlk_dropout(dt, n, xc.data, s, thr, scale, y.data, <uint8_t *>mask.data, nt)
    check_status(status, "dropout")
    return y, mask


def dropout_backward(dy, mask, p):
    p = _checks.dropout_backward_args("dropout_backward", dy, mask, p)
    cdef cnp.ndarray dyc = contiguous(dy), mc = contiguous(mask)
    cdef cnp.ndarray dx = empty_like(dyc)
    cdef int64_t n = dyc.size
    cdef double scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
    cdef int status, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(dyc)
    with nogil:
        status = dlk_dropout_backward(dt, n, dyc.data, <uint8_t *>mc.data, scale, dx.data, nt)
    check_status(status, "dropout_backward")
    return dx
