/* norm_impl.h — batch-norm loops, for one element type (dtype.h); included twice by norm.c
 * through instantiate.h.
 *
 * Names made, per dtype (f32, f64), all file-local: dlk_batch_norm2d_f32,
 * dlk_batch_norm2d_backward_f32 (called by the dtype-tagged entries of norm.c);
 * bn_small_f32, bn_small_backward_f32, channel_sum_f32, plane_affine_f32, plane_dsums_f32,
 * plane_dx_f32, plane_sqdev_f32, row_add_f32, row_affine_f32, row_dsums_f32, row_dx_f32,
 * row_sqdev_f32. */

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
 * 349 µs against the NumPy reference's 118, AMD EPYC Zen 3).  Instead each thread takes
 * a block of channels and walks every sample's row over it with vector loops, summing
 * into one double per element of the row (the channel sums at the end), and reads the
 * per-channel constants from arrays spread to the row's length.  Each channel is summed
 * by one thread in order: the bits do not depend on the thread count. */
DLK_CLONES static void FN(row_add_)(double *DLK_RESTRICT s, const T *DLK_RESTRICT x, int64_t n)
{
#pragma omp simd
    for (int64_t j = 0; j < n; j++) s[j] += (double)x[j];
}

DLK_CLONES static void FN(row_sqdev_)(double *DLK_RESTRICT q, const T *DLK_RESTRICT x,
                                      const double *DLK_RESTRICT m, int64_t n)
{
#pragma omp simd
    for (int64_t j = 0; j < n; j++) {
        double d = (double)x[j] - m[j];
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
    const int64_t N = B * HW, row = C * HW;
    double *d = malloc((size_t)(2 * row) * sizeof(double));
    T *v = malloc((size_t)(3 * row) * sizeof(T));
    if (!d || !v) {
        free(d);
        free(v);
        return DLK_ENOMEM;
    }
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        const int64_t c0 = C * t / nt, c1 = C * (t + 1) / nt, j0 = c0 * HW, n = (c1 - c0) * HW;
        double *s = d + j0, *q = d + row + j0;
        T *mt = v + j0, *kt = v + row + j0, *bt = v + 2 * row + j0;
        for (int64_t j = 0; j < n; j++) s[j] = q[j] = 0;
        for (int64_t b = 0; b < B; b++) FN(row_add_)(s, x + b * row + j0, n);
        for (int64_t c = c0; c < c1; c++) {      /* the mean, spread over the row */
            double m = FN(channel_sum_)(d, c, HW) / (double)N;
            for (int64_t i = 0; i < HW; i++) d[c * HW + i] = m;
        }
        for (int64_t b = 0; b < B; b++) FN(row_sqdev_)(q, x + b * row + j0, s, n);
        for (int64_t c = c0; c < c1; c++) {
            const double m = d[c * HW];
            const double is = 1.0 / sqrt(FN(channel_sum_)(d + row, c, HW) / (double)N + eps);
            mean[c] = (T)m;
            invstd[c] = (T)is;
            for (int64_t i = 0; i < HW; i++) {
                v[c * HW + i] = (T)m;
                v[row + c * HW + i] = (T)(is * (double)gamma[c]);
                v[2 * row + c * HW + i] = beta[c];
            }
        }
        for (int64_t b = 0; b < B; b++)
            FN(row_affine_)(y + b * row + j0, x + b * row + j0, mt, kt, bt, n);
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
    const int64_t N = B * HW, row = C * HW;
    double *d = malloc((size_t)(3 * row) * sizeof(double));
    T *v = malloc((size_t)(4 * row) * sizeof(T));
    if (!d || !v) {
        free(d);
        free(v);
        return DLK_ENOMEM;
    }
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        const int64_t c0 = C * t / nt, c1 = C * (t + 1) / nt, j0 = c0 * HW, n = (c1 - c0) * HW;
        double *sa = d + j0, *sb = d + row + j0, *md = d + 2 * row + j0;
        for (int64_t j = 0; j < n; j++) sa[j] = sb[j] = 0;
        for (int64_t c = c0; c < c1; c++)
            for (int64_t i = 0; i < HW; i++) d[2 * row + c * HW + i] = (double)mean[c];
        for (int64_t b = 0; b < B; b++)
            FN(row_dsums_)(sa, sb, dy + b * row + j0, x + b * row + j0, md, n);
        for (int64_t c = c0; c < c1; c++) {
            const double is = (double)invstd[c], sdy = FN(channel_sum_)(d, c, HW);
            const double sdyx = FN(channel_sum_)(d + row, c, HW);
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
        for (int64_t b = 0; b < B; b++)
            FN(row_dx_)(dx + b * row + j0, dy + b * row + j0, x + b * row + j0, v + j0,
                        v + row + j0, v + 2 * row + j0, v + 3 * row + j0, n);
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

