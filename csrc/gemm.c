/* gemm.c — the run-time-loaded CBLAS behind dlk_gemm_*; see gemm.h. */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include "gemm.h"

enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int,
                         const float *, int, float, float *, int);
typedef void (*dgemm_fn)(int, int, int, int, int, int, double, const double *, int,
                         const double *, int, double, double *, int);
typedef void (*sgemv_fn)(int, int, int, int, float, const float *, int, const float *, int,
                         float, float *, int);
typedef void (*dgemv_fn)(int, int, int, int, double, const double *, int, const double *,
                         int, double, double *, int);
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);
typedef char *(*get_config_fn)(void);

static sgemm_fn sgemm;
static dgemm_fn dgemm;
static sgemv_fn sgemv;          /* optional: products with one row or one column */
static dgemv_fn dgemv;
static set_threads_fn set_threads;
static get_threads_fn get_threads;
static get_config_fn get_config;
static char load_error[512];

static void *symbol(void *lib, const char *prefix, const char *name)
{
    char full[128];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    return dlsym(lib, full);
}

int dlk_blas_load(const char *path, const char *prefix)
{
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(load_error, sizeof load_error, "dlopen failed: %s", dlerror());
        return DLK_EBLAS;
    }
    sgemm_fn s = (sgemm_fn)symbol(lib, prefix, "cblas_sgemm");
    dgemm_fn d = (dgemm_fn)symbol(lib, prefix, "cblas_dgemm");
    if (!s || !d) {
        snprintf(load_error, sizeof load_error, "%s has no %scblas_sgemm/%scblas_dgemm",
                 path, prefix, prefix);
        return DLK_EBLAS;
    }
    sgemm = s;
    dgemm = d;
    sgemv = (sgemv_fn)symbol(lib, prefix, "cblas_sgemv");
    dgemv = (dgemv_fn)symbol(lib, prefix, "cblas_dgemv");
    /* the engine's own thread control: OpenBLAS's, else MKL's (used by bench/gemm) */
    set_threads = (set_threads_fn)symbol(lib, prefix, "openblas_set_num_threads");
    get_threads = (get_threads_fn)symbol(lib, prefix, "openblas_get_num_threads");
    if (!set_threads) set_threads = (set_threads_fn)dlsym(lib, "MKL_Set_Num_Threads");
    if (!get_threads) get_threads = (get_threads_fn)dlsym(lib, "MKL_Get_Max_Threads");
    get_config = (get_config_fn)symbol(lib, prefix, "openblas_get_config");
    if (set_threads) set_threads(1);          /* dlkern threads its products itself */
    load_error[0] = 0;
    return DLK_OK;
}

const char *dlk_blas_error(void) { return load_error; }
int dlk_blas_loaded(void) { return sgemm != NULL; }
void dlk_blas_set_threads(int n) { if (set_threads) set_threads(n); }
int dlk_blas_get_threads(void) { return get_threads ? get_threads() : -1; }
const char *dlk_blas_config(void) { return get_config ? get_config() : "unknown"; }

static int fits(int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb, int64_t ldc)
{
    return M >= 0 && N >= 0 && K >= 0 && M <= INT_MAX && N <= INT_MAX && K <= INT_MAX &&
           lda <= INT_MAX && ldb <= INT_MAX && ldc <= INT_MAX;
}

/* C = alpha a bᵀ: the product with K = 1 and beta = 0, an outer product (linear_backward's
 * dW at batch 1).  512 × 512 through dlkern._native.gemm.matmul at one thread, Intel
 * Xeon family 6 model 167: 35.6 µs with OpenBLAS's gemm, 24 µs with this loop.  a and b
 * are read sa and sb apart; C is not read. */
#define DEFINE_OUTER(T, SFX)                                                              \
DLK_CLONES static void outer_##SFX(int64_t M, int64_t N, T alpha, const T *a, int64_t sa,  \
                                   const T *b, int64_t sb, T *C, int64_t ldc)              \
{                                                                                        \
    for (int64_t i = 0; i < M; i++) {                                                    \
        const T ai = alpha * a[i * sa];                                                  \
        T *c = C + i * ldc;                                                              \
        if (sb == 1) {                                                                   \
            _Pragma("omp simd") for (int64_t j = 0; j < N; j++) c[j] = ai * b[j];        \
        } else {                                                                         \
            for (int64_t j = 0; j < N; j++) c[j] = ai * b[j * sb];                       \
        }                                                                                \
    }                                                                                    \
}

DEFINE_OUTER(float, f32)
DEFINE_OUTER(double, f64)

/* A product with one row (M = 1) or one column (N = 1) of C is a matrix-vector product;
 * OpenBLAS's gemm takes its general path for it (linear 1×512→512: 137 µs against 28 µs
 * through gemv, AMD EPYC Zen 3).  K = 0 stays with gemm: gemv returns early without
 * applying beta.  Returns 0 when gemv does not serve (no gemv loaded, or the shape). */
#define DEFINE_GEMM(T, SFX, GEMM_FN, GEMV_FN)                                             \
int dlk_gemm_##SFX(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, T alpha,     \
                   const T *A, int64_t lda, const T *B, int64_t ldb, T beta, T *C,         \
                   int64_t ldc)                                                          \
{                                                                                        \
    if (!GEMM_FN) return DLK_EBLAS;                                                      \
    if (!fits(M, N, K, lda, ldb, ldc)) return DLK_EINVAL;                                \
    if (M == 0 || N == 0) return DLK_OK;                                                 \
    if (K == 1 && beta == 0 && M > 1 && N > 1) {                                         \
        outer_##SFX(M, N, alpha, A, trans_a ? 1 : lda, B, trans_b ? ldb : 1, C, ldc);     \
        return DLK_OK;                                                                   \
    }                                                                                    \
    if (GEMV_FN && K > 0 && M == 1) {          /* cᵀ = op(B)ᵀ a */                       \
        GEMV_FN(ROW_MAJOR, trans_b ? NO_TRANS : TRANS, trans_b ? (int)N : (int)K,         \
                trans_b ? (int)K : (int)N, alpha, B, (int)ldb, A, trans_a ? (int)lda : 1, \
                beta, C, 1);                                                             \
        return DLK_OK;                                                                   \
    }                                                                                    \
    if (GEMV_FN && K > 0 && N == 1) {          /* c = op(A) b */                         \
        GEMV_FN(ROW_MAJOR, trans_a ? TRANS : NO_TRANS, trans_a ? (int)K : (int)M,         \
                trans_a ? (int)M : (int)K, alpha, A, (int)lda, B, trans_b ? 1 : (int)ldb, \
                beta, C, (int)ldc);                                                      \
        return DLK_OK;                                                                   \
    }                                                                                    \
    GEMM_FN(ROW_MAJOR, trans_a ? TRANS : NO_TRANS, trans_b ? TRANS : NO_TRANS, (int)M,     \
            (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);          \
    return DLK_OK;                                                                       \
}

DEFINE_GEMM(float, f32, sgemm, sgemv)
DEFINE_GEMM(double, f64, dgemm, dgemv)

/* The engine back at one thread before dlkern splits products itself: a caller's
 * `threadpool_limits(2)` sets every OpenBLAS in the process, this one too, and two
 * levels of threads then share the cores (measured on a 2-core Zen 3, linear
 * 256×784→512 at 2 threads: 16.0 ms against 1.5 ms).  Only outside parallel regions:
 * the count is the engine's global state.  Reading it costs an indirect call. */
void dlk_gemm_hold_one_thread(void)
{
#ifdef _OPENMP
    if (omp_in_parallel()) return;
#endif
    if (get_threads && set_threads && get_threads() != 1) set_threads(1);
}

/* MACs below which a product is not split across threads (each thread gets at least
 * this many).  Lower would be faster on a quiet machine and much slower on a shared one
 * (Intel Xeon, AVX-512, linear 768×64→64, 1 / 2 threads with a grain of 2^18: quiet
 * 59 / 33 µs forward, 130 / 92 µs backward; with one busy process on the other core
 * 56 / 89 µs and 137 / 532 µs) or with the team asleep (0.65 ms to wake it, dlk.h):
 * products this small stay on one thread, unless they come in a run of calls
 * (dlk_team_state), where PAR_GRAIN_WARM applies.  While the cores are crowded
 * (another process, or NumPy's own BLAS threads spinning after a product of theirs)
 * dlk_threads_for keeps all but long products on one thread (dlk_team_threads). */
#define PAR_GRAIN ((int64_t)1 << 21)
#define PAR_GRAIN_WARM ((int64_t)1 << 18)
/* While the cores are crowded a product is still split from DLK_SHARED_GRAINS of these
 * a thread (2^29 MACs in all on two): products lose little to a busy neighbour (linear
 * 2048×1024→1024, Intel Xeon: 1.04-1.10× its one-thread time split) and gain 2× beside
 * NumPy's spinning BLAS threads, which yield (16 ms split, 33 ms on one). */
#define PAR_GRAIN_SHARED ((int64_t)1 << 18)

#define DEFINE_GEMM_PAR(T, SFX)                                                          \
int dlk_gemm_par_##SFX(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, T alpha, \
                       const T *A, int64_t lda, const T *B, int64_t ldb, T beta, T *C,   \
                       int64_t ldc, int nthreads)                                        \
{                                                                                        \
    dlk_gemm_hold_one_thread();                                                          \
    const int64_t work = M * N * (K > 0 ? K : 1);                                        \
    /* the team's state matters (and is kept) only for products a warm team would split */ \
    const int watched = nthreads > 1 && work >= 2 * PAR_GRAIN_WARM;                      \
    const int team = watched ? dlk_team_state(dlk_now_ns()) : 0;                         \
    int nt = dlk_threads_split(work, PAR_GRAIN, PAR_GRAIN_SHARED, nthreads);              \
    if (nt == 1 && (team & DLK_TEAM_RUN))                                                \
        nt = dlk_threads_split(work, PAR_GRAIN_WARM, PAR_GRAIN_SHARED, nthreads);         \
    int along_n = N >= M;                                                                \
    int64_t len = along_n ? N : M, pieces = (len + 15) / 16;                             \
    if (nt > pieces) nt = (int)pieces;                                                   \
    if (nt <= 1) {                                                                       \
        int st = dlk_gemm_##SFX(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, \
                                ldc);                                                    \
        if (watched) dlk_team_note(dlk_now_ns(), DLK_TEAM_ENDED);                        \
        return st;                                                                       \
    }                                                                                    \
    int status = DLK_OK;                                                                 \
    _Pragma("omp parallel num_threads(nt)")                                              \
    {                                                                                    \
        int t = 0;                                                                       \
        DLK_THREAD_NUM(t);                                                               \
        int64_t lo = pieces * t / nt * 16, hi = pieces * (t + 1) / nt * 16;              \
        if (hi > len) hi = len;                                                          \
        int st = DLK_OK;                                                                 \
        if (hi > lo && along_n)                                                          \
            st = dlk_gemm_##SFX(trans_a, trans_b, M, hi - lo, K, alpha, A, lda,          \
                                trans_b ? B + lo * ldb : B + lo, ldb, beta, C + lo, ldc); \
        else if (hi > lo)                                                                \
            st = dlk_gemm_##SFX(trans_a, trans_b, hi - lo, N, K, alpha,                  \
                                trans_a ? A + lo : A + lo * lda, lda, B, ldb, beta,      \
                                C + lo * ldc, ldc);                                      \
        if (st != DLK_OK) status = st;                                                   \
    }                                                                                    \
    if (watched) dlk_team_note(dlk_now_ns(), DLK_TEAM_ENDED);                            \
    return status;                                                                       \
}

DEFINE_GEMM_PAR(float, f32)
DEFINE_GEMM_PAR(double, f64)

int dlk_gemm_many_f32(int64_t count, int64_t M, int64_t N, int64_t K, const float *A,
                      const float *B, float *C, int nthreads)
{
    if (!sgemm) return DLK_EBLAS;
    if (!fits(M, N, K, K, N, N)) return DLK_EINVAL;
    int nt = dlk_threads_for(count, 1, nthreads);
    int saved = dlk_blas_get_threads();
    if (nt > 1 && saved != 1) dlk_blas_set_threads(1);   /* never two levels of threads */
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t i = 0; i < count; i++)
        dlk_gemm_f32(0, 0, M, N, K, 1.0f, A + i * M * K, K, B + i * K * N, N, 0.0f,
                     C + i * M * N, N);
    if (nt > 1 && saved > 1) dlk_blas_set_threads(saved);
    return DLK_OK;
}
