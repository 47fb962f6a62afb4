"""Status codes to exceptions, the Ctrl-C watch of long calls, and the build facts
dlkern.info() reports."""
import threading

cimport numpy as cnp
import numpy as np
from cpython.exc cimport PyErr_CheckSignals
from cpython.pycapsule cimport PyCapsule_New

cnp.import_array()

cdef extern from "dlk.h" nogil:
    dlk_stop_flag dlk_sigint_seen
    int dlk_sigint_watch()
    void dlk_sigint_unwatch()
    ctypedef struct dlk_runtime:
        pass
    const dlk_runtime *dlk_runtime_get()
    size_t dlk_scratch_held()
    void *dlk_scratch_take(size_t bytes)
    void dlk_scratch_give(void *p)
    int dlk_team_state(int64_t now)
    void dlk_team_note(int64_t now, int event)
    int64_t dlk_now_ns()
    enum: DLK_TEAM_SHARED, DLK_TEAM_CROWDED

# The runtime's table (csrc/dlk.h) for the other extensions (runtime.pxd binds it).
RUNTIME = PyCapsule_New(<void *>dlk_runtime_get(), b"dlkern._native.common.RUNTIME", NULL)

# Calls of fewer multiply-adds than this (a few milliseconds) are not worth the two
# system calls of the watch: Ctrl-C waits for them to end.
cdef double WATCH_WORK = 1e7
cdef object _main = threading.main_thread()


cdef const dlk_stop_flag *watch_sigint(double work):
    """The stop flag to give a kernel of `work` multiply-adds: NULL (never stop) for
    short calls and off the main thread, where Python delivers no signal; else the
    SIGINT watch of dlk.h is installed until unwatch_sigint."""
    if work < WATCH_WORK or threading.current_thread() is not _main:
        return NULL
    if not dlk_sigint_watch():
        return NULL
    return &dlk_sigint_seen


cdef void unwatch_sigint(const dlk_stop_flag *stop) noexcept:
    if stop != NULL:
        dlk_sigint_unwatch()


cdef int check_status(int status, str fn) except -1:
    if status == DLK_OK:
        return 0
    if status == DLK_EINTR:
        PyErr_CheckSignals()          # Python's handler: raises KeyboardInterrupt
        raise KeyboardInterrupt(f"{fn}: interrupted")
    if status == DLK_ENOMEM:
        raise MemoryError(f"{fn}: out of memory for the kernel's workspace")
    if status == DLK_EBLAS:
        raise RuntimeError(f"{fn}: no BLAS is loaded (dlkern._native.gemm failed to load)")
    raise ValueError(f"{fn}: the native kernel rejected its arguments (status {status}); "
                     "please report this with the call that caused it")


cdef class _Block:
    """The memory of an output array: a block of the scratch cache, given back to the
    cache (csrc/dlk.c) when the array and every view of it are gone."""
    cdef void *data

    def __dealloc__(self):
        dlk_scratch_give(self.data)


cdef cnp.ndarray output(object shape, object dtype):
    """np.empty(shape, dtype) for a kernel's result: from OUTPUT_POOLED bytes up, in a
    block of the scratch cache that a freed result left there, so that a training step
    does not fault in fresh pages for every large result (the arrays own no data:
    their base is the block)."""
    cdef cnp.dtype d = dtype if isinstance(dtype, cnp.dtype) else np.dtype(dtype)
    dims = shape if isinstance(shape, tuple) else (shape,)
    cdef int i, nd = len(dims)
    if nd > 32:
        return np.empty(dims, d)
    cdef cnp.npy_intp c_dims[32]
    cdef size_t n = d.itemsize
    for i in range(nd):
        c_dims[i] = dims[i]
        n *= <size_t>c_dims[i]
    if n < OUTPUT_POOLED:        # the shapes come from arrays: n cannot overflow
        return cnp.PyArray_EMPTY(nd, c_dims, d.type_num, 0)
    cdef _Block block = _Block.__new__(_Block)
    block.data = dlk_scratch_take(n)
    if block.data == NULL:
        raise MemoryError(f"cannot allocate {n} bytes for a result")
    cdef cnp.ndarray a = cnp.PyArray_SimpleNewFromData(nd, c_dims, d.type_num, block.data)
    cnp.set_array_base(a, block)
    return a


def openmp_enabled():
    """True when this build of dlkern was compiled with OpenMP."""
    return bool(dlk_openmp_enabled())


def isa_name():
    """The instruction set the multiversioned kernels run on this CPU."""
    return dlk_isa_name().decode()


def avx512_loops():
    """True when the loops written in AVX-512 intrinsics run here (an AVX-512 CPU, and
    $DLKERN_PORTABLE_LOOPS not set); else the portable loops run."""
    return bool(dlk_has_avx512())


def avx2_loops():
    """True when the loops written in AVX2 intrinsics may run here (an AVX2 + FMA CPU,
    and $DLKERN_PORTABLE_LOOPS unset or "avx2"); where the AVX-512 loops run too, those
    are taken first."""
    return bool(dlk_has_avx2())


def scratch_held():
    """Bytes of scratch memory the process keeps for the next kernel call (one cache
    for every family: csrc/dlk.c)."""
    return dlk_scratch_held()


def cores_shared():
    """True while dlkern runs short calls on one thread because its threads lately
    waited for a core (another process, or another library's spinning threads, on the
    cores; csrc/dlk.h, dlk_team_threads): for 0.2 s after it was seen, longer when
    it comes back soon after (up to 3.2 s)."""
    return bool(dlk_team_state(dlk_now_ns()) & DLK_TEAM_SHARED)


def _note_crowded():
    """What dlkern does when it sees its threads wait for a core (for tests)."""
    dlk_team_note(dlk_now_ns(), DLK_TEAM_CROWDED)
