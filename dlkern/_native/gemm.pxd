from libc.stdint cimport int64_t

cdef extern from "gemm.h" nogil:
    int dlk_blas_load(const char *path, const char *prefix)
    const char *dlk_blas_error()
    int dlk_blas_loaded()
    void dlk_blas_set_threads(int n)
    int dlk_blas_get_threads()
    const char *dlk_blas_config()
    int dlk_gemm_f32(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                     const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                     float *C, int64_t ldc)
    int dlk_gemm_f64(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, double alpha,
                     const double *A, int64_t lda, const double *B, int64_t ldb, double beta,
                     double *C, int64_t ldc)
    int dlk_gemm_par_f32(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                         float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                         float beta, float *C, int64_t ldc, int nthreads)
    int dlk_gemm_par_f64(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                         double alpha, const double *A, int64_t lda, const double *B,
                         int64_t ldb, double beta, double *C, int64_t ldc, int nthreads)
    int dlk_gemm_many_f32(int64_t count, int64_t M, int64_t N, int64_t K, const float *A,
                          const float *B, float *C, int nthreads)


cdef inline int load_blas() except -1:
    """Load dlkern's CBLAS into the calling module's copy of csrc/gemm.c (each
    extension that multiplies matrices links its own; dlopen shares the library)."""
    from dlkern import _blas
    path, prefix = _blas.library()
    if not dlk_blas_loaded() and dlk_blas_load(path.encode(), prefix.encode()) != 0:
        raise ImportError(f"dlkern: cannot load the BLAS: {dlk_blas_error().decode()}")
    return 0
