"""Native embedding lookup and gradient: checks shared with the reference, loops in
csrc/embedding.c without the GIL."""
from libc.stdint cimport int64_t
cimport numpy as cnp
import numpy as np

from .. import _checks, _backend
from .common cimport check_status, dtype_tag, contiguous, output, native_float, DLK_EINVAL

from .runtime cimport bind_runtime
cnp.import_array()
bind_runtime()

cdef extern from "dlk.h":
    size_t DLK_SCRATCH_KEEP

cdef extern from "embedding.h" nogil:
    int dlk_embedding(int dtype, int64_t n, int64_t D, int64_t V, const int64_t *ids,
                      const void *table, void *out, int nthreads)
    int dlk_embedding_backward(int dtype, int64_t n, int64_t D, int64_t V,
                               const int64_t *ids, const void *dout, void *dtable,
                               int zeroed, int nthreads)


cdef cnp.ndarray _ids64(ids):
    """The ids as contiguous int64 in native byte order (a copy only when they are
    another integer type, byte-swapped or strided)."""
    if cnp.PyArray_TYPE(<cnp.ndarray>ids) == cnp.NPY_INT64 \
            and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>ids):
        return contiguous(ids)
    return np.ascontiguousarray(ids, dtype=np.int64)


cdef inline bint _int_ids(object ids) noexcept:
    """ids is an integer ndarray: the common case, answered without a Python call."""
    if not cnp.PyArray_Check(ids):
        return False
    cdef int t = cnp.PyArray_TYPE(<cnp.ndarray>ids)
    return (t == cnp.NPY_INT64 or t == cnp.NPY_INT32) \
        and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>ids)


def embedding(ids, table):
    # the checks cost 0.3 µs of a 1.0 µs call on 6 ids: the common case skips them
    if not (_int_ids(ids) and native_float(table)
            and cnp.PyArray_NDIM(<cnp.ndarray>table) == 2):
        _checks.embedding_args("embedding", ids, table, check_range=False)
    cdef cnp.ndarray ic = _ids64(ids), tc = contiguous(table)
    cdef int64_t n = ic.size, D = table.shape[1], V = table.shape[0]
    cdef cnp.ndarray out = output(ids.shape + (D,), table.dtype)
    cdef int status, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(tc)
    with nogil:
        status = dlk_embedding(dt, n, D, V, <int64_t *>ic.data, tc.data, out.data, nt)
    if status == DLK_EINVAL:
        _checks.id_range("embedding", ids, V)
    check_status(status, "embedding")
    return out


cdef bint _rows_of(object dout, object ids) noexcept:
    """dout (an ndarray) has shape ids.shape + (D,)."""
    cdef cnp.ndarray g = <cnp.ndarray>dout, i = <cnp.ndarray>ids
    cdef int k, nd = cnp.PyArray_NDIM(i)
    if cnp.PyArray_NDIM(g) != nd + 1:
        return False
    for k in range(nd):
        if cnp.PyArray_DIM(g, k) != cnp.PyArray_DIM(i, k):
            return False
    return True


cdef object _MAX_ELEMENTS = _checks.MAX_ELEMENTS


def embedding_backward(dout, ids, num_embeddings):
    cdef int64_t V
    # as in embedding: the common arguments skip the Python checks
    if type(num_embeddings) is int and 1 <= num_embeddings <= _MAX_ELEMENTS \
            and _int_ids(ids) and native_float(dout) and _rows_of(dout, ids) \
            and num_embeddings * dout.shape[dout.ndim - 1] <= _MAX_ELEMENTS:
        V = num_embeddings
    else:
        V = _checks.embedding_backward_args("embedding_backward", dout, ids,
                                            num_embeddings, check_range=False)
    cdef cnp.ndarray ic = _ids64(ids), gc = contiguous(dout)
    cdef int64_t n = ic.size, D = dout.shape[dout.ndim - 1]
    # A table the output pool would not keep (over DLK_SCRATCH_KEEP) comes zeroed from
    # calloc: fresh pages, zeroed by the OS where an id's row is written, and the rows no
    # id names are not touched (V 50,257 D 768, 8×512 ids, Intel Xeon 1 / 2 threads: 80 /
    # 47 ms from fresh memory set to zero, 22 / 13 ms).  A smaller one is a reused pool
    # block, zeroed by the kernel: calloc's page faults made V 50,000 D 256 slower (2
    # threads: 1.4-2.4 ms from the pool, 13-17 ms from calloc).
    cdef int zeroed = <size_t>(V * D * gc.itemsize) > DLK_SCRATCH_KEEP
    cdef cnp.ndarray dtable = np.zeros((V, D), dout.dtype) if zeroed else \
        output((V, D), dout.dtype)
    cdef int status, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(gc)
    with nogil:
        status = dlk_embedding_backward(dt, n, D, V, <int64_t *>ic.data, gc.data,
                                        dtable.data, zeroed, nt)
    if status == DLK_EINVAL:
        _checks.id_range("embedding_backward", ids, V)
    check_status(status, "embedding_backward")
    return dtable
