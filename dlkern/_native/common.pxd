# Declarations every binding shares: dlk.h, and the status-code check.
from libc.stdint cimport int64_t

cdef extern from "dlk.h" nogil:
    enum:
        DLK_OK
        DLK_ENOMEM
        DLK_EINVAL
        DLK_EBLAS
        DLK_EINTR
    ctypedef int dlk_stop_flag      # volatile sig_atomic_t in C
    int dlk_openmp_enabled()
    const char *dlk_isa_name()
    int dlk_has_avx512()

cdef int check_status(int status, str fn) except -1
cdef const dlk_stop_flag *watch_sigint(double work)
cdef void unwatch_sigint(const dlk_stop_flag *stop) noexcept
