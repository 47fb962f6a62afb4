/* norm_impl.h — batch-norm and layer-norm loops, for one element type (dtype.h);
 * included twice by norm.c through instantiate.h.
 *
 * Names made, per dtype (f32, f64), all file-local: dlk_batch_norm2d_f32,
 * dlk_batch_norm2d_backward_f32, dlk_batch_norm_inference_f32, dlk_layer_norm_f32,
 * dlk_layer_norm_backward_f32 (called by the dtype-tagged entries of norm.c);
 * bn_small_f32, bn_small_backward_f32, channel_sum_f32, lanes_total_f32, ln_row_f32,
 * ln_row_backward_f32, plane_affine_f32, plane_dsums_f32, plane_dx_f32, plane_sqdev_f32,
 * row_affine_f32, row_dsums_f32, row_dx_f32, row_shift_sums_f32, row_sqdev_f32,
 * row_sum_f32. */

/* Σ (x − m)² over one plane, in double (Σ x: dlk_sum_). */
DLK_CLONES static double FN(plane_sqdev_)(const T *DLK_RESTRICT x, int64_t n, double m)
{
    double s = 0;
#pragma omp simd reduction(+:s)
    for (int64_t i = 0; i < n; i++) {
        double d = (double)x[i] - m;
        s += d * d;
    }
    return s;
}

DLK_CLONES static void FN(plane_affine_)(const T *DLK_RESTRICT x, T *DLK_RESTRICT y, int64_t n,
                                         T m, T scale, T shift)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++) y[i] = (x[i] - m) * scale + shift;
}

/* Planes smaller than NORM_SMALL_PLANE (a BatchNorm1d through a reshape has H = W = 1):
 * a call per plane cost more than its few values ((64, 100, 1, 1) forward and backward:
 * 349 µs against the NumPy reference's 118, AMD EPYC Zen 3).  Instead whole sample rows
 * go through vector loops: each chunk of rows (norm.c, row_chunks) sums into its own
 * double per element of the row, the chunks' sums are added per channel in chunk order,
 * and the per-channel constants are read from arrays spread to the row's length.
 * Threads take chunks, then rows.  Blocks of channels down every row instead (a thread
 * writing part of each row) ran 2 threads at 1.6-2.9× the time of one at (256, 512) and
 * (1024, 128), Intel Xeon. */

/* Σ (x − k) and Σ (x − k)² in one pass, k a shift near the data (each channel's first
 * value): with it the variance Σ(x − k)²/N − (Σ(x − k)/N)² loses few digits to a large
 * mean, and x is read twice in all instead of three times ((2048, 1024) forward:
 * 0.53-0.70× torch with a separate pass for Σ (x − m)², 0.61-0.72× without, AMD EPYC
 * Zen 1). */
DLK_CLONES static void FN(row_shift_sums_)(double *DLK_RESTRICT s, double *DLK_RESTRICT q,
                                           const T *DLK_RESTRICT x,
                                           const double *DLK_RESTRICT k, int64_t n)
{
#pragma omp simd
    for (int64_t j = 0; j < n; j++) {
        double d = (double)x[j] - k[j];
        s[j] += d;
        q[j] += d * d;
    }
}

DLK_CLONES static void FN(row_affine_)(T *DLK_RESTRICT y, const T *DLK_RESTRICT x,
                                       const T *DLK_RESTRICT m, const T *DLK_RESTRICT k,
                                       const T *DLK_RESTRICT sh, int64_t n)
{
#pragma omp simd
    for (int64_t j = 0; j < n; j++) y[j] = (x[j] - m[j]) * k[j] + sh[j];
}

DLK_CLONES static void FN(row_dsums_)(double *DLK_RESTRICT a, double *DLK_RESTRICT b,
                                      const T *DLK_RESTRICT dy, const T *DLK_RESTRICT x,
                                      const double *DLK_RESTRICT m, int64_t n)
{
#pragma omp simd
    for (int64_t j = 0; j < n; j++) {
        a[j] += (double)dy[j];
        b[j] += (double)dy[j] * ((double)x[j] - m[j]);
    }
}

DLK_CLONES static void FN(row_dx_)(T *DLK_RESTRICT dx, const T *DLK_RESTRICT dy,
                                   const T *DLK_RESTRICT x, const T *DLK_RESTRICT m,
                                   const T *DLK_RESTRICT k, const T *DLK_RESTRICT a,
                                   const T *DLK_RESTRICT bc, int64_t n)
{
#pragma omp simd
    for (int64_t j = 0; j < n; j++) dx[j] = k[j] * (dy[j] - a[j] - (x[j] - m[j]) * bc[j]);
}

/* Σ over each channel's HW entries of a spread row. */
static double FN(channel_sum_)(const double *s, int64_t c, int64_t HW)
{
    double t = 0;
    for (int64_t i = 0; i < HW; i++) t += s[c * HW + i];
    return t;
}

static int FN(bn_small_)(int64_t B, int64_t C, int64_t HW, const T *x, const T *gamma,
                         const T *beta, double eps, T *y, T *mean, T *invstd, int nt)
{
    const int64_t N = B * HW, row = C * HW, nch = bn_chunks(B, row);
    double *d = malloc((size_t)((2 * nch + 1) * row) * sizeof(double));
    T *v = malloc((size_t)(3 * row) * sizeof(T));
    if (!d || !v) {
        free(d);
        free(v);
        return DLK_ENOMEM;
    }
    double *k = d + 2 * nch * row;
    for (int64_t j = 0; j < row; j++) k[j] = (double)x[j / HW * HW];
    if (nt > nch) nt = (int)nch;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
#pragma omp for schedule(static)
        for (int64_t h = 0; h < nch; h++) {
            double *s = d + 2 * h * row, *q = s + row;
            for (int64_t j = 0; j < row; j++) s[j] = q[j] = 0;
            for (int64_t b = B * h / nch; b < B * (h + 1) / nch; b++)
                FN(row_shift_sums_)(s, q, x + b * row, k, row);
        }
        fold_partials(d, nch, row);
#pragma omp for schedule(static)
        for (int64_t c = 0; c < C; c++) {
            const double ds = FN(channel_sum_)(d, c, HW) / (double)N;
            const double dq = FN(channel_sum_)(d + row, c, HW);
            const double m = k[c * HW] + ds, var = dq / (double)N - ds * ds;
            const double is = 1.0 / sqrt((var > 0 ? var : 0) + eps);
            mean[c] = (T)m;
            invstd[c] = (T)is;
            for (int64_t i = 0; i < HW; i++) {
                v[c * HW + i] = (T)m;
                v[row + c * HW + i] = (T)(is * (double)gamma[c]);
                v[2 * row + c * HW + i] = beta[c];
            }
        }
#pragma omp for schedule(static)
        for (int64_t b = 0; b < B; b++)
            FN(row_affine_)(y + b * row, x + b * row, v, v + row, v + 2 * row, row);
    }
    free(d);
    free(v);
    return DLK_OK;
}

static int FN(dlk_batch_norm2d_)(int64_t B, int64_t C, int64_t HW, const T *x, const T *gamma,
                                 const T *beta, double eps, T *y, T *mean, T *invstd,
                                 int nthreads)
{
    const int64_t N = B * HW;
    int nt = dlk_threads_for(C * N, NORM_GRAIN, nthreads);
    if (nt > C) nt = (int)C;
    if (HW < NORM_SMALL_PLANE)
        return FN(bn_small_)(B, C, HW, x, gamma, beta, eps, y, mean, invstd, nt);
    /* one channel per iteration: its statistics are summed by one thread, in order */
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t c = 0; c < C; c++) {
        double s = 0, q = 0;
        for (int64_t b = 0; b < B; b++) s += FN(dlk_sum_)(x + (b * C + c) * HW, HW);
        double m = s / (double)N;
        for (int64_t b = 0; b < B; b++) q += FN(plane_sqdev_)(x + (b * C + c) * HW, HW, m);
        double is = 1.0 / sqrt(q / (double)N + eps);
        mean[c] = (T)m;
        invstd[c] = (T)is;
        T scale = (T)(is * (double)gamma[c]);
        for (int64_t b = 0; b < B; b++)
            FN(plane_affine_)(x + (b * C + c) * HW, y + (b * C + c) * HW, HW, (T)m, scale,
                              beta[c]);
    }
    return DLK_OK;
}

/* Σ dy and Σ dy (x − m) over one plane, in double. */
DLK_CLONES static void FN(plane_dsums_)(const T *DLK_RESTRICT dy, const T *DLK_RESTRICT x,
                                        int64_t n, double m, double *sdy, double *sdyx)
{
    double a = 0, b = 0;
#pragma omp simd reduction(+:a, b)
    for (int64_t i = 0; i < n; i++) {
        a += (double)dy[i];
        b += (double)dy[i] * ((double)x[i] - m);
    }
    *sdy += a;
    *sdyx += b;
}

DLK_CLONES static void FN(plane_dx_)(const T *DLK_RESTRICT dy, const T *DLK_RESTRICT x,
                                     T *DLK_RESTRICT dx, int64_t n, T m, T k, T a, T bcoef)
{
    /* dx = k (dy − a − (x − m) bcoef) with k = γ·invstd, a = dβ/N, bcoef = dγ·invstd/N */
#pragma omp simd
    for (int64_t i = 0; i < n; i++) dx[i] = k * (dy[i] - a - (x[i] - m) * bcoef);
}

/* The backward pass of small planes, walked as bn_small_ walks them. */
static int FN(bn_small_backward_)(int64_t B, int64_t C, int64_t HW, const T *dy, const T *x,
                                  const T *gamma, const T *mean, const T *invstd, T *dx,
                                  T *dgamma, T *dbeta, int nt)
{
    const int64_t N = B * HW, row = C * HW, nch = bn_chunks(B, row);
    double *d = malloc((size_t)((2 * nch + 1) * row) * sizeof(double));
    T *v = malloc((size_t)(4 * row) * sizeof(T));
    if (!d || !v) {
        free(d);
        free(v);
        return DLK_ENOMEM;
    }
    double *md = d + 2 * nch * row;
    for (int64_t j = 0; j < row; j++) md[j] = (double)mean[j / HW];
    if (nt > nch) nt = (int)nch;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
#pragma omp for schedule(static)
        for (int64_t h = 0; h < nch; h++) {
            double *sa = d + 2 * h * row, *sb = sa + row;
            for (int64_t j = 0; j < row; j++) sa[j] = sb[j] = 0;
            for (int64_t b = B * h / nch; b < B * (h + 1) / nch; b++)
                FN(row_dsums_)(sa, sb, dy + b * row, x + b * row, md, row);
        }
        fold_partials(d, nch, row);
#pragma omp for schedule(static)
        for (int64_t c = 0; c < C; c++) {
            const double sdy = FN(channel_sum_)(d, c, HW);
            const double sdyx = FN(channel_sum_)(d + row, c, HW);
            const double is = (double)invstd[c];
            dbeta[c] = (T)sdy;
            dgamma[c] = (T)(sdyx * is);
            for (int64_t i = 0; i < HW; i++) {
                const int64_t j = c * HW + i;
                v[j] = mean[c];
                v[row + j] = (T)((double)gamma[c] * is);
                v[2 * row + j] = (T)(sdy / (double)N);
                v[3 * row + j] = (T)(sdyx * is * is / (double)N);
            }
        }
#pragma omp for schedule(static)
        for (int64_t b = 0; b < B; b++)
            FN(row_dx_)(dx + b * row, dy + b * row, x + b * row, v, v + row, v + 2 * row,
                        v + 3 * row, row);
    }
    free(d);
    free(v);
    return DLK_OK;
}

static int FN(dlk_batch_norm2d_backward_)(int64_t B, int64_t C, int64_t HW, const T *dy,
                                          const T *x, const T *gamma, const T *mean,
                                          const T *invstd, T *dx, T *dgamma, T *dbeta,
                                          int nthreads)
{
    const int64_t N = B * HW;
    int nt = dlk_threads_for(C * N, NORM_GRAIN, nthreads);
    if (nt > C) nt = (int)C;
    if (HW < NORM_SMALL_PLANE)
        return FN(bn_small_backward_)(B, C, HW, dy, x, gamma, mean, invstd, dx, dgamma,
                                      dbeta, nt);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t c = 0; c < C; c++) {
        double sdy = 0, sdyx = 0, m = (double)mean[c], is = (double)invstd[c];
        for (int64_t b = 0; b < B; b++)
            FN(plane_dsums_)(dy + (b * C + c) * HW, x + (b * C + c) * HW, HW, m, &sdy, &sdyx);
        double dg = sdyx * is;                 /* Σ dy x̂ */
        dbeta[c] = (T)sdy;
        dgamma[c] = (T)dg;
        T k = (T)((double)gamma[c] * is), a = (T)(sdy / (double)N);
        T bcoef = (T)(dg * is / (double)N);
        for (int64_t b = 0; b < B; b++)
            FN(plane_dx_)(dy + (b * C + c) * HW, x + (b * C + c) * HW, dx + (b * C + c) * HW,
                          HW, (T)m, k, a, bcoef);
    }
    return DLK_OK;
}


/* Evaluation mode: y = (x − μ̄) k + β with k = γ/√(σ̄² + ε) per channel; small planes
 * go row by row over constants spread to the row's length, as bn_small_ does. */
static int FN(dlk_batch_norm_inference_)(int64_t B, int64_t C, int64_t HW, const T *x,
                                         const T *gamma, const T *beta, const T *rmean,
                                         const T *rvar, double eps, T *y, int nthreads)
{
    const int64_t row = C * HW;
    const int nt = dlk_threads_for(B * row, NORM_GRAIN, nthreads);
    if (HW < NORM_SMALL_PLANE) {
        T *v = malloc((size_t)(3 * row) * sizeof(T));
        if (!v) return DLK_ENOMEM;
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < HW; i++) {
                v[c * HW + i] = rmean[c];
                v[row + c * HW + i] = (T)((double)gamma[c] / sqrt((double)rvar[c] + eps));
                v[2 * row + c * HW + i] = beta[c];
            }
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
        for (int64_t b = 0; b < B; b++)
            FN(row_affine_)(y + b * row, x + b * row, v, v + row, v + 2 * row, row);
        free(v);
        return DLK_OK;
    }
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t p = 0; p < B * C; p++) {
        const int64_t c = p % C;
        const T k = (T)((double)gamma[c] / sqrt((double)rvar[c] + eps));
        FN(plane_affine_)(x + p * HW, y + p * HW, HW, rmean[c], k, beta[c]);
    }
    return DLK_OK;
}

/* Layer-norm: one vector of D values per row, rows split over the threads.
 *
 * A row's Σ x and Σ (x − m)² run in T across LN_LANES independent lanes (four vectors
 * of float on AVX-512, so that no add waits on the one before), the lanes added into
 * a double every LN_FOLD values, so that a lane never sums more than LN_FOLD / LN_LANES
 * terms in T.  With one double accumulator (a convert, and an add waiting on the last)
 * the forward pass at (4096, 768) took 1.32 ms against torch's 1.09 at one thread
 * (Intel Xeon). */
#define LN_LANES 64
#define LN_FOLD 1024
/* the n lanes of a[] (a power of two) added pairwise, a vector's width at a time */
static inline T FN(lanes_total_)(T *a, int n)
{
    for (int w = n / 2; w >= 1; w /= 2)
        for (int l = 0; l < w; l++) a[l] += a[l + w];
    return a[0];
}

DLK_CLONES static double FN(row_sum_)(const T *DLK_RESTRICT x, int64_t n)
{
    double t = 0;
    int64_t i = 0;
    while (n - i >= LN_LANES) {
        T a[LN_LANES] = {0};
        const int64_t end = n - i > LN_FOLD ? i + LN_FOLD : n - (n - i) % LN_LANES;
        for (; i < end; i += LN_LANES)
            for (int l = 0; l < LN_LANES; l++) a[l] += x[i + l];
        t += (double)FN(lanes_total_)(a, LN_LANES);
    }
    for (; i < n; i++) t += (double)x[i];
    return t;
}

/* the loop of row_sum_ with a subtraction and a square: one function for both, with a
 * flag, measured 7-10% slower at (256, 512) and (2048, 512) (Intel Xeon) */
DLK_CLONES static double FN(row_sqdev_)(const T *DLK_RESTRICT x, int64_t n, T m)
{
    double t = 0;
    int64_t i = 0;
    while (n - i >= LN_LANES) {
        T a[LN_LANES] = {0};
        const int64_t end = n - i > LN_FOLD ? i + LN_FOLD : n - (n - i) % LN_LANES;
        for (; i < end; i += LN_LANES)
            for (int l = 0; l < LN_LANES; l++) {
                const T d = x[i + l] - m;
                a[l] += d * d;
            }
        t += (double)FN(lanes_total_)(a, LN_LANES);
    }
    for (; i < n; i++) {
        const double d = (double)x[i] - (double)m;
        t += d * d;
    }
    return t;
}

DLK_CLONES static void FN(ln_row_)(T *DLK_RESTRICT y, const T *DLK_RESTRICT x,
                                   const T *DLK_RESTRICT g, const T *DLK_RESTRICT b, T m,
                                   T is, int64_t D)
{
#pragma omp simd
    for (int64_t j = 0; j < D; j++) y[j] = (x[j] - m) * is * g[j] + b[j];
}

static int FN(dlk_layer_norm_)(int64_t R, int64_t D, const T *x, const T *gamma,
                               const T *beta, double eps, T *y, T *mean, T *invstd,
                               int nthreads)
{
    const int nt = dlk_threads_for(R * D, NORM_GRAIN, nthreads);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t r = 0; r < R; r++) {
        const T *xr = x + r * D;
        const T m = (T)(FN(row_sum_)(xr, D) / (double)D);
        const double is = 1.0 / sqrt(FN(row_sqdev_)(xr, D, m) / (double)D + eps);
        mean[r] = m;
        invstd[r] = (T)is;
        FN(ln_row_)(y + r * D, xr, gamma, beta, m, (T)is, D);
    }
    return DLK_OK;
}

/* One row of the backward pass: its dx, and its dy x̂ and dy added to a chunk's
 * partial dγ and dβ (in T: a chunk holds at most NORM_CHUNK_ROWS rows).  The row sums
 * Σ dy γ and Σ dy γ x̂ run in T lanes as in the forward pass (half as many: two sums
 * in the registers), folded into doubles every LN_FOLD values; with one double
 * accumulator each, (4096, 768) took 1.52 ms at one thread, Intel Xeon. */
#define LN_BWD_LANES (LN_LANES / 2)
DLK_CLONES static void FN(ln_row_backward_)(T *DLK_RESTRICT dx, const T *DLK_RESTRICT dy,
                                            const T *DLK_RESTRICT x, const T *DLK_RESTRICT g,
                                            T m, T is, T *DLK_RESTRICT pg,
                                            T *DLK_RESTRICT pb, int64_t D)
{
    double a = 0, c = 0;
    int64_t j = 0;
    while (D - j >= LN_BWD_LANES) {
        T sa[LN_BWD_LANES] = {0}, sc[LN_BWD_LANES] = {0};
        const int64_t end = D - j > LN_FOLD ? j + LN_FOLD : D - (D - j) % LN_BWD_LANES;
        for (; j < end; j += LN_BWD_LANES)
            for (int l = 0; l < LN_BWD_LANES; l++) {
                const int64_t q = j + l;
                const T xh = (x[q] - m) * is, gd = dy[q] * g[q];
                sa[l] += gd;
                sc[l] += gd * xh;
                pg[q] += dy[q] * xh;
                pb[q] += dy[q];
            }
        a += (double)FN(lanes_total_)(sa, LN_BWD_LANES);
        c += (double)FN(lanes_total_)(sc, LN_BWD_LANES);
    }
    for (; j < D; j++) {
        const T xh = (x[j] - m) * is, gd = dy[j] * g[j];
        a += (double)gd;
        c += (double)(gd * xh);
        pg[j] += dy[j] * xh;
        pb[j] += dy[j];
    }
    if (D == 1) {               /* y = β whatever x is; the formula leaves rounding */
        dx[0] = 0;
        return;
    }
    const T am = (T)(a / (double)D), cm = (T)(c / (double)D);
#pragma omp simd
    for (int64_t q = 0; q < D; q++)
        dx[q] = is * (dy[q] * g[q] - am - (x[q] - m) * is * cm);
}

static int FN(dlk_layer_norm_backward_)(int64_t R, int64_t D, const T *dy, const T *x,
                                        const T *gamma, const T *mean, const T *invstd,
                                        T *dx, T *dgamma, T *dbeta, int nthreads)
{
    /* each chunk of rows (norm.c, row_chunks) sums its partial dγ, dβ in row order; the
     * partials are added in chunk order, in double */
    const int64_t nch = row_chunks(R, D, 2, NORM_MIN_ROWS);
    T *part = calloc((size_t)(2 * nch * D), sizeof(T));
    if (!part) return DLK_ENOMEM;
    int nt = dlk_threads_for(R * D, NORM_GRAIN, nthreads);
    if (nt > nch) nt = (int)nch;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
#pragma omp for schedule(static)
        for (int64_t k = 0; k < nch; k++)
            for (int64_t r = R * k / nch; r < R * (k + 1) / nch; r++)
                FN(ln_row_backward_)(dx + r * D, dy + r * D, x + r * D, gamma, mean[r],
                                     invstd[r], part + 2 * k * D, part + (2 * k + 1) * D, D);
#pragma omp for schedule(static)
        for (int64_t j0 = 0; j0 < D; j0 += 256) {
            const int64_t n = D - j0 < 256 ? D - j0 : 256;
            double sg[256], sb[256];
            for (int64_t j = 0; j < n; j++) sg[j] = sb[j] = 0;
            for (int64_t k = 0; k < nch; k++)
                for (int64_t j = 0; j < n; j++) {
                    sg[j] += (double)part[2 * k * D + j0 + j];
                    sb[j] += (double)part[(2 * k + 1) * D + j0 + j];
                }
            for (int64_t j = 0; j < n; j++) {
                dgamma[j0 + j] = (T)sg[j];
                dbeta[j0 + j] = (T)sb[j];
            }
        }
    }
    free(part);
    return DLK_OK;
}
