"""Native fused attention: checks shared with the reference; the tiles, the online
softmax and the GEMMs in csrc/attention.c without the GIL."""
from libc.stdint cimport int64_t, uint8_t
cimport numpy as cnp
import numpy as np

from .. import _checks, _backend
from .common cimport (check_status, dtype_tag, dlk_stop_flag, watch_sigint, unwatch_sigint,
                      contiguous, output)
from .gemm cimport load_blas

from .runtime cimport bind_runtime
cnp.import_array()
bind_runtime()
load_blas()

cdef extern from "attention.h" nogil:
    ctypedef struct dlk_attention_shape:
        int64_t BH, Tq, Tk, dk, dv
        double scale
        int causal
        int64_t causal_offset
        const uint8_t *mask
        int64_t mask_stride
    int dlk_attention(int dtype, const dlk_attention_shape *s, const void *q, const void *k,
                      const void *v, void *out, void *lse, const dlk_stop_flag *stop,
                      int nthreads)
    int dlk_attention_backward(int dtype, const dlk_attention_shape *s, const void *dout,
                               const void *q, const void *k, const void *v, const void *out,
                               const void *lse, void *dq, void *dk, void *dv,
                               const dlk_stop_flag *stop, int nthreads)


cdef double _macs(const dlk_attention_shape *s):
    """Multiply-adds of the forward products (every tile, causal or not)."""
    return <double>s.BH * s.Tq * s.Tk * (s.dk + s.dv)


cdef dlk_attention_shape _shape(q, k, v, offset, double scale, mask, list keep):
    """The C description of the call; the mask as uint8, one (T_q, T_k) matrix shared
    by every head when it does not vary over the leading dimensions."""
    cdef dlk_attention_shape s
    lead = q.shape[:-2]
    s.BH = int(np.prod(lead, dtype=np.int64)) if lead else 1
    s.Tq = int(q.shape[q.ndim - 2])
    s.dk = int(q.shape[q.ndim - 1])
    s.Tk = int(k.shape[k.ndim - 2])
    s.dv = int(v.shape[v.ndim - 1])
    s.scale = scale
    s.causal = offset is not None
    s.causal_offset = offset if offset is not None else 0
    s.mask = NULL
    s.mask_stride = 0
    cdef cnp.ndarray m
    if mask is not None:
        if all(st == 0 for st in mask.strides[:-2]):
            m = np.ascontiguousarray(mask[(0,) * len(lead)], dtype=np.uint8)
            s.mask_stride = 0
        else:
            m = np.ascontiguousarray(mask, dtype=np.uint8)
            s.mask_stride = s.Tq * s.Tk
        keep.append(m)
        s.mask = <const uint8_t *>m.data
    return s


def scaled_dot_product_attention(q, k, v, causal=False, scale=None, mask=None,
                                 causal_variant="upper_left"):
    fn = "scaled_dot_product_attention"
    sc, mask, offset = _checks.attention_args(fn, q, k, v, causal, scale, mask, causal_variant)
    cdef list keep = []
    cdef dlk_attention_shape s = _shape(q, k, v, offset, sc, mask, keep)
    cdef cnp.ndarray qc = contiguous(q), kc = contiguous(k)
    cdef cnp.ndarray vc = contiguous(v)
    cdef cnp.ndarray out = output(q.shape[:-1] + (v.shape[-1],), q.dtype)
    cdef cnp.ndarray lse = output(q.shape[:-1], q.dtype)
    cdef int status, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(qc)
    cdef const dlk_stop_flag *stop = watch_sigint(_macs(&s))
    with nogil:
        status = dlk_attention(dt, &s, qc.data, kc.data, vc.data, out.data, lse.data, stop,
                               nt)
    unwatch_sigint(stop)
    check_status(status, fn)
    return out, lse


def scaled_dot_product_attention_backward(dout, q, k, v, out, lse, causal=False, scale=None,
                                          mask=None, causal_variant="upper_left"):
    fn = "scaled_dot_product_attention_backward"
    sc, mask, offset = _checks.attention_backward_args(fn, dout, q, k, v, out, lse, causal,
                                                       scale, mask, causal_variant)
    cdef list keep = []
    cdef dlk_attention_shape s = _shape(q, k, v, offset, sc, mask, keep)
    cdef cnp.ndarray qc = contiguous(q), kc = contiguous(k)
    cdef cnp.ndarray vc = contiguous(v), dc = contiguous(dout)
    cdef cnp.ndarray oc = contiguous(out), lc = contiguous(lse)
    cdef cnp.ndarray dq = output(q.shape, q.dtype)
    cdef cnp.ndarray dk = output(k.shape, q.dtype)
    cdef cnp.ndarray dv = output(v.shape, q.dtype)
    cdef int status, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(qc)
    cdef const dlk_stop_flag *stop = watch_sigint(2.5 * _macs(&s))
    with nogil:
        status = dlk_attention_backward(dt, &s, dc.data, qc.data, kc.data, vc.data, oc.data,
                                        lc.data, dq.data, dk.data, dv.data, stop, nt)
    unwatch_sigint(stop)
    check_status(status, fn)
    return dq, dk, dv
