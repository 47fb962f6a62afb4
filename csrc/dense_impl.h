/* dense_impl.h — dense-layer loops (activations, softmax, linear), for one element type
 * (dtype.h); included twice by dense.c through instantiate.h.
 *
 * Names made, per dtype (f32, f64), all file-local: dlk_linear_f32, dlk_linear_backward_f32,
 * dlk_relu_f32, dlk_relu_backward_f32, dlk_sigmoid_f32, dlk_softmax_f32 (called by the
 * dtype-tagged entries of dense.c); elementwise_f32, elementwise_range_f32,
 * relu_bwd_range_f32, relu_range_f32, sigmoid_range_f32, scale_row_f32; exp_row_f32
 * (exp_row_impl.h). */
#include "exp_row_impl.h"

DLK_CLONES static void FN(relu_range_)(const T *DLK_RESTRICT x, T *DLK_RESTRICT y, int64_t n)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++) y[i] = x[i] < 0 ? (T)0 : x[i];   /* NaN passes */
}

DLK_CLONES static void FN(relu_bwd_range_)(const T *DLK_RESTRICT dy, const T *DLK_RESTRICT x,
                                           T *DLK_RESTRICT dx, int64_t n)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * (T)(x[i] > 0);
}

DLK_CLONES static void FN(sigmoid_range_)(const T *DLK_RESTRICT x, T *DLK_RESTRICT y,
                                          int64_t n)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        T e = EXP(-FABS(x[i]));                /* never overflows */
        y[i] = x[i] >= 0 ? (T)1 / ((T)1 + e) : e / ((T)1 + e);
    }
}

static void FN(elementwise_range_)(int op, const T *a, const T *b, T *y, int64_t lo, int64_t hi)
{
    if (op == OP_RELU) FN(relu_range_)(a + lo, y + lo, hi - lo);
    else if (op == OP_RELU_BACKWARD) FN(relu_bwd_range_)(a + lo, b + lo, y + lo, hi - lo);
    else FN(sigmoid_range_)(a + lo, y + lo, hi - lo);
}

/* The element-wise kernels: one contiguous slice of the n elements per thread; a call
 * too small for two runs on the caller's thread without entering a parallel region
 * (an `if (0)` region still costs a call into libgomp). */
static int FN(elementwise_)(int op, int64_t n, const T *a, const T *b, T *y, int nthreads)
{
    int nt = dlk_threads_for(n, op == OP_SIGMOID ? DENSE_GRAIN / 8 : DENSE_GRAIN, nthreads);
    if (nt == 1) {
        FN(elementwise_range_)(op, a, b, y, 0, n);
        return DLK_OK;
    }
#pragma omp parallel num_threads(nt)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        int64_t lo, hi;
        dlk_slice(n, t, nt, &lo, &hi);
        FN(elementwise_range_)(op, a, b, y, lo, hi);
    }
    return DLK_OK;
}

static int FN(dlk_relu_)(int64_t n, const T *x, T *y, int nthreads)
{
    return FN(elementwise_)(OP_RELU, n, x, NULL, y, nthreads);
}

static int FN(dlk_relu_backward_)(int64_t n, const T *dy, const T *x, T *dx, int nthreads)
{
    return FN(elementwise_)(OP_RELU_BACKWARD, n, dy, x, dx, nthreads);
}

static int FN(dlk_sigmoid_)(int64_t n, const T *x, T *y, int nthreads)
{
    return FN(elementwise_)(OP_SIGMOID, n, x, NULL, y, nthreads);
}

DLK_CLONES static void FN(scale_row_)(T *DLK_RESTRICT y, int64_t L, T k)
{
#pragma omp simd
    for (int64_t i = 0; i < L; i++) y[i] *= k;
}

static int FN(dlk_softmax_)(int64_t rows, int64_t L, const T *x, T *y, int nthreads)
{
    int nt = dlk_threads_for(rows * L, DENSE_GRAIN / 8, nthreads);
    /* one row per iteration: the shifted exponentials and their sum, then the scale */
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t r = 0; r < rows; r++) {
        T m;
        double s = FN(exp_row_)(x + r * L, y + r * L, L, &m);
        FN(scale_row_)(y + r * L, L, (T)(1.0 / s));
    }
    return DLK_OK;
}

/* y = x · wᵀ + b.  x and w are read in place: ldx, ldw their leading dimensions, tx, tw
 * 1 when the array is stored column-major (a transposed view), which flips its BLAS
 * transpose flag; y is contiguous. */
static int FN(dlk_linear_)(int64_t B, int64_t Din, int64_t Dout, const T *x, int64_t ldx,
                           int tx, const T *w, int64_t ldw, int tw, const T *b, T *y,
                           int nthreads)
{
    int st = GEMM(tx, !tw, B, Dout, Din, (T)1, x, ldx, w, ldw, (T)0, y, Dout, nthreads);
    if (st != DLK_OK || !b) return st;
    int nt = dlk_threads_for(B * Dout, DENSE_GRAIN, nthreads);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t r = 0; r < B; r++) {
        T *yr = y + r * Dout;
#pragma omp simd
        for (int64_t j = 0; j < Dout; j++) yr[j] += b[j];
    }
    return DLK_OK;
}

/* dx = dy · w, dw = dyᵀ · x (each one GEMM), db = Σ_rows dy.  x, w as in linear; dy
 * row-major with leading dimension lddy; dx, dw, db contiguous. */
static int FN(dlk_linear_backward_)(int64_t B, int64_t Din, int64_t Dout, const T *dy,
                                    int64_t lddy, const T *x, int64_t ldx, int tx,
                                    const T *w, int64_t ldw, int tw, T *dx, T *dw, T *db,
                                    int nthreads)
{
    int st = GEMM(0, tw, B, Din, Dout, (T)1, dy, lddy, w, ldw, (T)0, dx, Din, nthreads);
    if (st == DLK_OK)
        st = GEMM(1, tx, Dout, Din, B, (T)1, dy, lddy, x, ldx, (T)0, dw, Din, nthreads);
    if (st != DLK_OK) return st;
    /* db: column sums of dy; columns split over threads, rows summed in order */
    int nt = dlk_threads_for(B * Dout, DENSE_GRAIN, nthreads);
    int64_t blocks = (Dout + 15) / 16;
    if (nt > blocks) nt = (int)blocks;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t k = 0; k < blocks; k++) {
        int64_t j0 = k * 16, j1 = j0 + 16 < Dout ? j0 + 16 : Dout;
        double acc[16] = {0};
        for (int64_t r = 0; r < B; r++)
            for (int64_t j = j0; j < j1; j++) acc[j - j0] += (double)dy[r * lddy + j];
        for (int64_t j = j0; j < j1; j++) db[j] = (T)acc[j - j0];
    }
    return DLK_OK;
}
