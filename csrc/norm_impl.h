/* norm_impl.h — batch-norm loops, for one element type (dtype.h); included twice by norm.c
 * through instantiate.h.
 *
 * Names made, per dtype (f32, f64), all file-local: dlk_batch_norm2d_f32,
 * dlk_batch_norm2d_backward_f32 (called by the dtype-tagged entries of norm.c);
 * plane_affine_f32, plane_dsums_f32, plane_dx_f32, plane_sqdev_f32. */

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

static int FN(dlk_batch_norm2d_)(int64_t B, int64_t C, int64_t HW, const T *x, const T *gamma,
                                 const T *beta, double eps, T *y, T *mean, T *invstd,
                                 int nthreads)
{
    const int64_t N = B * HW;
    int nt = dlk_threads_for(C * N, NORM_GRAIN, nthreads);
    if (nt > C) nt = (int)C;
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

static int FN(dlk_batch_norm2d_backward_)(int64_t B, int64_t C, int64_t HW, const T *dy,
                                          const T *x, const T *gamma, const T *mean,
                                          const T *invstd, T *dx, T *dgamma, T *dbeta,
                                          int nthreads)
{
    const int64_t N = B * HW;
    int nt = dlk_threads_for(C * N, NORM_GRAIN, nthreads);
    if (nt > C) nt = (int)C;
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

