"""Status codes to exceptions, and the build facts dlkern.info() reports."""


cdef int check_status(int status, str fn) except -1:
    if status == DLK_OK:
        return 0
    if status == DLK_ENOMEM:
        raise MemoryError(f"{fn}: out of memory for the kernel's workspace")
    if status == DLK_EBLAS:
        raise RuntimeError(f"{fn}: no BLAS is loaded (dlkern._native.gemm failed to load)")
    raise ValueError(f"{fn}: the native kernel rejected its arguments (status {status}); "
                     "please report this with the call that caused it")


def openmp_enabled():
    """True when this build of dlkern was compiled with OpenMP."""
    return bool(dlk_openmp_enabled())


def isa_name():
    """The instruction set the multiversioned kernels run on this CPU."""
    return dlk_isa_name().decode()
