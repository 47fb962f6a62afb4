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

cdef int check_status(int status, str fn) except -1
cdef const dlk_stop_flag *watch_sigint(double work)
cdef void unwatch_sigint(const dlk_stop_flag *stop) noexcept


cdef inline int dtype_tag(cnp.ndarray a) noexcept:
    """The tag of a dtype-tagged C entry (dlk.h) for a float32 or float64 array, whose
    data pointer then goes in as void *: one prototype and no branch per dtype."""
    return DLK_F32 if cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT32 else DLK_F64
