/* dense_impl.h — dense-layer loops (activations, softmax, linear), for one element type
 * (dtype.h); included twice by dense.c through instantiate.h.
 *
 * Names made, per dtype (f32, f64), all file-local: dlk_linear_f32, dlk_linear_backward_f32,
 * dlk_relu_f32, dlk_relu_backward_f32, dlk_sigmoid_f32, dlk_softmax_f32,
 * dlk_elementwise_f32 (called by the dtype-tagged entries of dense.c); elementwise_f32,
 * elementwise_range_f32, gelu_range_f32, gelu_bwd_range_f32, gelu_tanh_range_f32,
 * gelu_tanh_bwd_range_f32, relu_bwd_range_f32, relu_range_f32, sigmoid_range_f32,
 * tanh_range_f32, scale_row_f32; exp_row_f32 (exp_row_impl.h), column_sums_f32
 * (colsum_impl.h). */
#include "exp_row_impl.h"
#include "colsum_impl.h"

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

/* GELU (DESIGN.md, contract additions): exact x Φ(x) = x/2 (1 + erf(x/√2)), its
 * derivative Φ(x) + x φ(x); and the tanh form x/2 (1 + tanh(√(2/π)(x + 0.044715 x³))). */
#define GELU_RSQRT2PI 0.39894228040143268
#define GELU_SQRT2_PI 0.79788456080286536
#define GELU_C 0.044715

DLK_CLONES static void FN(gelu_range_)(const T *DLK_RESTRICT x, T *DLK_RESTRICT y, int64_t n)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        T g;
        const T h = NORMTAIL(x[i], &g);         /* Φ(x) = h below 0, 1 − h above */
        y[i] = x[i] * (x[i] < 0 ? h : (T)1 - h);
    }
}

DLK_CLONES static void FN(gelu_bwd_range_)(const T *DLK_RESTRICT dy, const T *DLK_RESTRICT x,
                                           T *DLK_RESTRICT dx, int64_t n)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        T g;
        const T v = x[i], h = NORMTAIL(v, &g);
        const T cdf = v < 0 ? h : (T)1 - h, pdf = (T)GELU_RSQRT2PI * g;
        dx[i] = dy[i] * (cdf + v * pdf);
    }
}

/* The tanh form as x σ(2u), u = √(2/π)(x + 0.044715 x³), since 1 + tanh u = 2σ(2u): in
 * float, 1 + tanh u cancels to garbage for u ≪ 0 (−2.4e-6 at x = −80) and so does
 * 1 − tanh² u for u ≫ 0 (a gradient of 1.0033 at x = 80).  Beyond |x| = 10, σ(2u) is
 * 0 or 1 to float precision and x³ could overflow: y = x·1(x > 0), dy/dx = 1(x > 0)
 * (x·0 added, so that ±inf gives NaN as the formula does). */
DLK_CLONES static void FN(gelu_tanh_range_)(const T *DLK_RESTRICT x, T *DLK_RESTRICT y,
                                            int64_t n)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        const T v = x[i], a = v < -10 ? (T)-10 : (v > 10 ? (T)10 : v);
        const T s = (T)1 / ((T)1 + EXP((T)(-2 * GELU_SQRT2_PI) * (a + (T)GELU_C * a * a * a)));
        y[i] = FABS(v) <= 10 ? v * s : v * (T)(v > 0);
    }
}

DLK_CLONES static void FN(gelu_tanh_bwd_range_)(const T *DLK_RESTRICT dy,
                                                const T *DLK_RESTRICT x, T *DLK_RESTRICT dx,
                                                int64_t n)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        const T v = x[i], a = v < -10 ? (T)-10 : (v > 10 ? (T)10 : v), a2 = a * a;
        const T e = EXP((T)(-2 * GELU_SQRT2_PI) * (a + (T)GELU_C * a2 * a));
        const T s = (T)1 / ((T)1 + e);
        const T du = (T)GELU_SQRT2_PI * ((T)1 + (T)(3 * GELU_C) * a2);
        /* d/dx x σ(2u) = σ + 2 x σ (1 − σ) u', with 1 − σ = e σ */
        const T g = FABS(v) <= 10 ? s + (T)2 * a * s * (e * s) * du : (T)(v > 0) + v * (T)0;
        dx[i] = dy[i] * g;
    }
}

DLK_CLONES static void FN(tanh_range_)(const T *DLK_RESTRICT x, T *DLK_RESTRICT y, int64_t n)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++) y[i] = TANH(x[i]);
}

static void FN(elementwise_range_)(int op, const T *a, const T *b, T *y, int64_t lo, int64_t hi)
{
    const int64_t n = hi - lo;
    switch (op) {
    case OP_RELU: FN(relu_range_)(a + lo, y + lo, n); break;
    case OP_RELU_BACKWARD: FN(relu_bwd_range_)(a + lo, b + lo, y + lo, n); break;
    case OP_SIGMOID: FN(sigmoid_range_)(a + lo, y + lo, n); break;
    case OP_TANH: FN(tanh_range_)(a + lo, y + lo, n); break;
    case OP_GELU: FN(gelu_range_)(a + lo, y + lo, n); break;
    case OP_GELU_BACKWARD: FN(gelu_bwd_range_)(a + lo, b + lo, y + lo, n); break;
    case OP_GELU_TANH: FN(gelu_tanh_range_)(a + lo, y + lo, n); break;
    default: FN(gelu_tanh_bwd_range_)(a + lo, b + lo, y + lo, n); break;
    }
}

/* The element-wise kernels: one contiguous slice of the n elements per thread; a call
 * too small for two runs on the caller's thread without entering a parallel region
 * (an `if (0)` region still costs a call into libgomp). */
static int FN(elementwise_)(int op, int64_t n, const T *a, const T *b, T *y, int nthreads)
{
    /* the transcendental ones split into smaller pieces */
    int nt = dlk_threads_for(n, op <= OP_RELU_BACKWARD ? DENSE_GRAIN : DENSE_GRAIN / 8,
                             nthreads);
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

/* The other element-wise ops by their OP_ code (tanh, GELU and its backward pass). */
static int FN(dlk_elementwise_)(int op, int64_t n, const T *a, const T *b, T *y, int nthreads)
{
    return FN(elementwise_)(op, n, a, b, y, nthreads);
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
 * row-major with leading dimension lddy; dx, dw, db contiguous; with tdw, dw is written
 * transposed, (Din, Dout) = xᵀ · dy. */
static int FN(dlk_linear_backward_)(int64_t B, int64_t Din, int64_t Dout, const T *dy,
                                    int64_t lddy, const T *x, int64_t ldx, int tx,
                                    const T *w, int64_t ldw, int tw, T *dx, T *dw, int tdw, T *db,
                                    int nthreads)
{
    int st = GEMM(0, tw, B, Din, Dout, (T)1, dy, lddy, w, ldw, (T)0, dx, Din, nthreads);
    if (st == DLK_OK)
        st = tdw ? GEMM(!tx, 0, Din, Dout, B, (T)1, x, ldx, dy, lddy, (T)0, dw, Dout, nthreads)
                 : GEMM(1, tx, Dout, Din, B, (T)1, dy, lddy, x, ldx, (T)0, dw, Din, nthreads);
    if (st != DLK_OK) return st;
    /* db: column sums of dy, rows summed in order */
    FN(column_sums_)(dy, B, Dout, lddy, NULL, db, DENSE_GRAIN, nthreads);
    return DLK_OK;
}
