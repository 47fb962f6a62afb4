# Declarations every binding shares: dlk.h, the dtype tag and the status-code check.
from libc.stdint cimport int64_t
cimport numpy as cnp

cdef extern from "dlk.h" nogil:
    enum:
        DLK_OK
        DLK_ENOMEM
        DLK_EINVAL
        DLK_EBLAS
        DLK_EINTR
        DLK_F32
        DLK_F64
    ctypedef int dlk_stop_flag      # volatile sig_atomic_t in C
    int dlk_openmp_enabled()
    const char *dlk_isa_name()
    int dlk_has_avx512()
    int dlk_has_avx2()

cdef int check_status(int status, str fn) except -1
cdef const dlk_stop_flag *watch_sigint(double work)
cdef void unwatch_sigint(const dlk_stop_flag *stop) noexcept
cdef cnp.ndarray output(object shape, object dtype)
# Bytes from which output() takes its memory from the scratch cache.
cdef enum:
    OUTPUT_POOLED = 256 * 1024


cdef inline int dtype_tag(cnp.ndarray a) noexcept:
    """The tag of a dtype-tagged C entry (dlk.h) for a float32 or float64 array, whose
    data pointer then goes in as void *: one prototype and no branch per dtype."""
    return DLK_F32 if cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT32 else DLK_F64


cdef inline bint native_float(object x) noexcept:
    """x is a float32 or float64 ndarray in native byte order: the first thing every
    argument check asks, answered without a Python call (the check itself, with its
    message, runs when the answer is no)."""
    if not cnp.PyArray_Check(x):
        return False
    cdef int t = cnp.PyArray_TYPE(<cnp.ndarray>x)
    return (t == cnp.NPY_FLOAT32 or t == cnp.NPY_FLOAT64) \
        and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>x)


cdef inline cnp.ndarray contiguous(cnp.ndarray a):
    """a itself when C-contiguous, else a C-contiguous copy (np.ascontiguousarray at a
    tenth of its cost on a small array)."""
    if cnp.PyArray_IS_C_CONTIGUOUS(a):
        return a
    return cnp.PyArray_GETCONTIGUOUS(a)


cdef inline cnp.ndarray stored(cnp.ndarray a, int *transposed):
    """The C-contiguous storage of a 2-D array: a itself (transposed = 0), or, when a is
    the transposed view of a C-contiguous array (NumPy code's (in, out) weights passed
    as w.T), that array, read with the other transpose flag (transposed = 1); else a
    C-contiguous copy."""
    transposed[0] = 0
    if cnp.PyArray_IS_C_CONTIGUOUS(a):
        return a
    if cnp.PyArray_NDIM(a) == 2 and cnp.PyArray_IS_F_CONTIGUOUS(a):
        transposed[0] = 1
        return a.T
    return cnp.PyArray_GETCONTIGUOUS(a)


cdef inline cnp.ndarray empty_like(cnp.ndarray a):
    """An uninitialised C-contiguous array of a's shape and dtype (output's memory when
    large)."""
    if cnp.PyArray_NBYTES(a) >= OUTPUT_POOLED:
        return output((<object>a).shape, (<object>a).dtype)
    return cnp.PyArray_EMPTY(cnp.PyArray_NDIM(a), cnp.PyArray_DIMS(a), cnp.PyArray_TYPE(a), 0)
