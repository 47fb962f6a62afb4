# Binds this extension's csrc/dlk_link.c to the one runtime, in dlkern._native.common.
from cpython.pycapsule cimport PyCapsule_GetPointer

cdef extern from "dlk.h" nogil:
    ctypedef struct dlk_runtime:
        pass
    int dlk_runtime_bind(const dlk_runtime *rt)


cdef inline int bind_runtime() except -1:
    """Called at import by every binding but common's, before any kernel runs."""
    from dlkern._native import common
    cdef const dlk_runtime *rt = <const dlk_runtime *>PyCapsule_GetPointer(
        common.RUNTIME, b"dlkern._native.common.RUNTIME")
    if dlk_runtime_bind(rt) != 0:
        raise ImportError("dlkern: the extensions come from different builds; reinstall")
    return 0
