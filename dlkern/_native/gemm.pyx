"""The GEMM engine: loading it, its threads, and two entry points for tests and
bench/gemm.  Kernel families call csrc/gemm.h directly from C; a family's module
calls ``ensure_loaded()`` at import."""
cimport numpy as cnp
import numpy as np

from .. import _blas
from .common cimport check_status

from .runtime cimport bind_runtime
cnp.import_array()
bind_runtime()


cpdef ensure_loaded():
    """Load the CBLAS that dlkern._blas names into this module's GEMM wrapper."""
    if not dlk_blas_loaded():
        load_library(*_blas.library())


cpdef load_library(str path, str prefix):
    """Point this module's GEMM wrapper at another CBLAS (bench/gemm compares engines
    through the same C calls this way); kernel modules keep the engine they loaded."""
    if dlk_blas_load(path.encode(), prefix.encode()) != 0:
        raise ImportError(f"dlkern: cannot load the BLAS: {dlk_blas_error().decode()}")


def set_blas_threads(int n):
    dlk_blas_set_threads(n)


def get_blas_threads():
    return dlk_blas_get_threads()


def config():
    """The engine's own description (OpenBLAS version, kernel, threading)."""
    return dlk_blas_config().decode()


def library_path():
    return _blas.library()[0]


def matmul(a, b, int nthreads=0):
    """C = a @ b for 2-D float32/float64 arrays, through the engine: one call on the
    engine's own threads (nthreads=0), or split over `nthreads` OpenMP threads with
    the engine at one thread, as dlkern's kernels do (dlk_gemm_par)."""
    fn = "matmul"
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)) or a.ndim != 2 \
            or b.ndim != 2 or a.dtype != b.dtype or a.dtype not in (np.float32, np.float64):
        raise TypeError(f"{fn}: a and b must be 2-D arrays of one float dtype")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"{fn}: a is {a.shape}, b is {b.shape}")
    cdef cnp.ndarray A = np.ascontiguousarray(a), B = np.ascontiguousarray(b)
    cdef cnp.ndarray C = np.empty((a.shape[0], b.shape[1]), dtype=a.dtype)
    cdef int64_t M = A.shape[0], K = A.shape[1], N = B.shape[1]
    cdef int status
    cdef bint single = cnp.PyArray_TYPE(A) == cnp.NPY_FLOAT32
    with nogil:
        if single and nthreads:
            status = dlk_gemm_par_f32(0, 0, M, N, K, 1.0, <float *>A.data, K,
                                      <float *>B.data, N, 0.0, <float *>C.data, N, nthreads)
        elif single:
            status = dlk_gemm_f32(0, 0, M, N, K, 1.0, <float *>A.data, K, <float *>B.data,
                                  N, 0.0, <float *>C.data, N)
        elif nthreads:
            status = dlk_gemm_par_f64(0, 0, M, N, K, 1.0, <double *>A.data, K,
                                      <double *>B.data, N, 0.0, <double *>C.data, N, nthreads)
        else:
            status = dlk_gemm_f64(0, 0, M, N, K, 1.0, <double *>A.data, K,
                                  <double *>B.data, N, 0.0, <double *>C.data, N)
    check_status(status, fn)
    return C


def matmul_many(a, b, int nthreads):
    """C[i] = a[i] @ b[i] for float32 (count, M, K) and (count, K, N), from an OpenMP
    loop over i with the engine at one thread."""
    cdef cnp.ndarray A = np.ascontiguousarray(a, dtype=np.float32)
    cdef cnp.ndarray B = np.ascontiguousarray(b, dtype=np.float32)
    if A.ndim != 3 or B.ndim != 3 or A.shape[0] != B.shape[0] or A.shape[2] != B.shape[1]:
        raise ValueError(f"matmul_many: a is {a.shape}, b is {b.shape}")
    cdef cnp.ndarray C = np.empty((A.shape[0], A.shape[1], B.shape[2]), dtype=np.float32)
    cdef int status
    with nogil:
        status = dlk_gemm_many_f32(A.shape[0], A.shape[1], B.shape[2], A.shape[2],
                                   <float *>A.data, <float *>B.data, <float *>C.data,
                                   nthreads)
    check_status(status, "matmul_many")
    return C


ensure_loaded()
