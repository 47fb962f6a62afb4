/* gemm.h — the one row-major GEMM wrapper every kernel family calls.
 *
 * The engine is a CBLAS loaded at run time (dlopen) from the path the Python side
 * chooses, so the build needs no BLAS headers or libraries and the engine can change
 * in one place (dlkern/_blas.py).  Each extension module that uses GEMM links this
 * file and calls dlk_blas_load once at import; dlopen hands every caller the same
 * library, so there is one BLAS and one BLAS thread pool per process. */
#ifndef DLK_GEMM_H
#define DLK_GEMM_H
#include "dlk.h"

/* Load the CBLAS at `path` whose symbols carry `prefix` (e.g. "scipy_" for
 * scipy-openblas).  Returns DLK_OK or DLK_EBLAS; dlk_blas_error() says why. */
int dlk_blas_load(const char *path, const char *prefix);
const char *dlk_blas_error(void);
int dlk_blas_loaded(void);
/* The engine's own thread pool: held at 1 (see dlk_gemm_par); bench/gemm varies it. */
void dlk_blas_set_threads(int n);
/* Sets the engine back to one thread if something raised it; kernels that multiply
 * only inside their own parallel regions call it first (dlk_gemm_par does). */
void dlk_gemm_hold_one_thread(void);
int dlk_blas_get_threads(void);
const char *dlk_blas_config(void);

/* C[M,N] = alpha * op(A) @ op(B) + beta * C, row-major; op(X) is X or its transpose.
 * lda/ldb/ldc are row strides in elements.  Returns DLK_EINVAL when a size does not
 * fit the engine's 32-bit integers, DLK_EBLAS when nothing is loaded. */
int dlk_gemm_f32(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                 const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                 float *C, int64_t ldc);
int dlk_gemm_f64(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, double alpha,
                 const double *A, int64_t lda, const double *B, int64_t ldb, double beta,
                 double *C, int64_t ldc);

/* The same product on up to `nthreads` OpenMP threads, the engine at one thread in
 * each: the larger of M and N is cut into slices (K never is, so every element is
 * summed in the same order as in one call).  dlkern keeps the engine's own thread
 * pool at one thread and threads its products this way, so that only one runtime's
 * threads ever run: measured here, OpenBLAS's pool and libgomp's, each spinning
 * while the other works, made a 256×784×512 product 8× slower on 2 cores. */
int dlk_gemm_par_f32(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                     const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                     float *C, int64_t ldc, int nthreads);
int dlk_gemm_par_f64(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, double alpha,
                     const double *A, int64_t lda, const double *B, int64_t ldb, double beta,
                     double *C, int64_t ldc, int nthreads);

/* `count` independent products C_i = A_i @ B_i (A_i M×K, B_i K×N, packed one after
 * another) from an OpenMP loop with the engine held to one thread: how attention
 * tiles and per-sample products call GEMM.  Used by bench/gemm to measure that mode. */
int dlk_gemm_many_f32(int64_t count, int64_t M, int64_t N, int64_t K, const float *A,
                      const float *B, float *C, int nthreads);
#endif
