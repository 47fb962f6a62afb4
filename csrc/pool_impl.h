/* pool_impl.h — max- and average-pool loops, for one element type (dtype.h); included
 * twice by pool.c through instantiate.h.
 *
 * Names made, per dtype (f32, f64), all file-local: dlk_max_pool2d_f32,
 * dlk_max_pool2d_backward_f32, dlk_avg_pool2d_f32 (called by the dtype-tagged entries of
 * pool.c); avg_global_f32, avg_inv_f32, avg_plane_f32, avg_plane_backward_f32,
 * avg_planes_f32, avg_rows_f32, pool_blocks_f32,
 * pool_row_f32, pool_scatter_plane_f32. */

/* "v beats the best so far": larger, or the first NaN (a NaN best is never beaten). */
#define BEATS(v, best) ((v) > (best) || ((v) != (v) && (best) == (best)))

/* Interior outputs [lo, hi) of one row, whose windows lie inside the plane
 * horizontally: blocks of POOL_BLOCK outputs with a fixed trip count, which the
 * compiler turns into straight vector code (a row of 14 outputs is too short for the
 * vectoriser's own loop and would end in a branchy scalar tail); the last block is
 * moved back to end at `hi`, recomputing a few outputs rather than running a tail.
 * Selects, not branches: on random data every other comparison would mispredict
 * (measured: 4x).  Positions are visited in row-major window order, as in the
 * scalar path. */
static inline void FN(pool_blocks_)(
    const T *DLK_RESTRICT x, int64_t W, int64_t hs, int64_t he, int64_t kw, int64_t sw,
    int64_t pw, int64_t lo, int64_t hi, T *DLK_RESTRICT y, int64_t *DLK_RESTRICT idx)
{
    for (int64_t b0 = lo; b0 < hi; b0 += POOL_BLOCK) {
        int64_t base = b0 + POOL_BLOCK <= hi ? b0 : hi - POOL_BLOCK;
        T best[POOL_BLOCK];
        int64_t arg[POOL_BLOCK];
        for (int k = 0; k < POOL_BLOCK; k++) {
            best[k] = -(T)INFINITY;
            arg[k] = hs * W + (base + k) * sw - pw;
        }
        for (int64_t h = hs; h < he; h++)
            for (int64_t j = 0; j < kw; j++) {
                const T *row = x + h * W + base * sw - pw + j;
                const int64_t at = h * W + base * sw - pw + j;
#pragma omp simd
                for (int k = 0; k < POOL_BLOCK; k++) {
                    T v = row[k * sw];
                    int beats = BEATS(v, best[k]);
                    arg[k] = beats ? at + k * sw : arg[k];
                    best[k] = beats ? v : best[k];
                }
            }
        for (int k = 0; k < POOL_BLOCK; k++) {
            y[base + k] = best[k];
            idx[base + k] = arg[k];
        }
    }
}

/* One output row oh of one plane: border outputs (window clipped by the padding)
 * take the clamped scalar path, interior ones the vector blocks above. */
DLK_CLONES static void FN(pool_row_)(const dlk_pool_shape *s, const T *DLK_RESTRICT x,
                                     int64_t oh, int fast, T *DLK_RESTRICT y,
                                     int64_t *DLK_RESTRICT idx)
{
    const int64_t W = s->W, kw = s->kw, sw = s->sw, pw = s->pw, Wo = s->Wo;
    int64_t h0 = oh * s->sh - s->ph;
    int64_t hs = h0 < 0 ? 0 : h0, he = h0 + s->kh > s->H ? s->H : h0 + s->kh;
    /* interior: 0 <= ow*sw - pw and ow*sw - pw + kw <= W */
    int64_t lo = (pw + sw - 1) / sw, hi = W - kw + pw >= 0 ? (W - kw + pw) / sw + 1 : 0;
    if (hi > Wo) hi = Wo;
    if (hi - lo < POOL_BLOCK) lo = hi = Wo;        /* too short: all scalar */
    for (int64_t ow = 0; ow < Wo; ow++) {
        if (ow == lo) ow = hi;                 /* interior done below */
        if (ow >= Wo) break;
        int64_t w0 = ow * sw - pw;
        int64_t ws = w0 < 0 ? 0 : w0, we = w0 + kw > W ? W : w0 + kw;
        T best = -(T)INFINITY;
        int64_t arg = hs * W + ws;
        for (int64_t h = hs; h < he; h++)
            for (int64_t w = ws; w < we; w++) {
                T v = x[h * W + w];
                int beats = BEATS(v, best);
                arg = beats ? h * W + w : arg;
                best = beats ? v : best;
            }
        y[ow] = best;
        idx[ow] = arg;
    }
#if defined(POOL_FAST_INTERIOR) && !DLK_F64     /* float only */
    if (fast) {
        POOL_FAST_INTERIOR(x, W, hs, he, kw, sw, pw, lo, hi, y, idx);
        return;
    }
#endif
    (void)fast;
    FN(pool_blocks_)(x, W, hs, he, kw, sw, pw, lo, hi, y, idx);
}

static int FN(dlk_max_pool2d_)(const dlk_pool_shape *s, const T *x, T *y, int64_t *idx,
                               int nthreads)
{
    const int64_t plane_in = s->H * s->W, plane_out = s->Ho * s->Wo;
    const int64_t rows = s->planes * s->Ho;
    int nt = dlk_threads_for(rows * s->Wo * s->kh * s->kw, POOL_GRAIN, nthreads);
#if defined(POOL_FAST_ROWS) && !DLK_F64     /* float only */
    const int fast = POOL_FAST_ROWS(s);
#else
    const int fast = 0;
#endif
#if defined(POOL_PLANES) && !DLK_F64     /* float only */
    if (POOL_PLANES_FIT(s, nt)) {           /* one chunk of whole planes a thread */
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
        for (int t = 0; t < nt; t++)
            POOL_PLANES(s, x, s->planes * t / nt, s->planes * (t + 1) / nt, y, idx);
        return DLK_OK;
    }
#endif
    /* one writer per output row: static chunks of (plane, oh) rows */
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t r = 0; r < rows; r++) {
        int64_t p = r / s->Ho, oh = r % s->Ho;
        FN(pool_row_)(s, x + p * plane_in, oh, fast, y + p * plane_out + oh * s->Wo,
                      idx + p * plane_out + oh * s->Wo);
    }
    return DLK_OK;
}

/* dx of one plane, zeroed, plus dy scattered through the indices; 1 if an index lies
 * outside the plane (skipped).  The indices are checked first in one vector pass (the
 * largest, unsigned), so that the scatter itself is a bare, unrolled loop.  With the
 * check inside it, the same machine code took 215 or 275 µs on pool_mnist depending
 * only on where it sat in the library; this way 213 µs, and pool_stem 11.1-11.4 ms
 * against 12.4-12.6 (1 thread). */
DLK_CLONES static int FN(pool_scatter_plane_)(T *DLK_RESTRICT d, const T *DLK_RESTRICT g,
                                               const int64_t *DLK_RESTRICT k,
                                               int64_t plane_in, int64_t plane_out)
{
    uint64_t top = 0;
    for (int64_t o = 0; o < plane_out; o++)
        top = (uint64_t)k[o] > top ? (uint64_t)k[o] : top;
    memset(d, 0, (size_t)plane_in * sizeof(T));
    if (top < (uint64_t)plane_in) {
#pragma GCC unroll 4
        for (int64_t o = 0; o < plane_out; o++) d[k[o]] += g[o];
        return 0;
    }
    for (int64_t o = 0; o < plane_out; o++)
        if ((uint64_t)k[o] < (uint64_t)plane_in) d[k[o]] += g[o];
    return 1;
}

static int FN(dlk_max_pool2d_backward_)(const dlk_pool_shape *s, const T *dy,
                                        const int64_t *idx, T *dx, int nthreads)
{
    const int64_t plane_in = s->H * s->W, plane_out = s->Ho * s->Wo;
    int nt = dlk_threads_for(s->planes * (plane_in + plane_out), POOL_GRAIN, nthreads);
    int bad = 0;
    /* one writer per plane: overlapping windows add into the same dx only within it.
     * Indices are checked here rather than by two passes over them before the call;
     * one outside its plane is skipped and the call fails (DLK_EINVAL). */
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1) reduction(| : bad)
    for (int64_t p = 0; p < s->planes; p++)
        bad |= FN(pool_scatter_plane_)(dx + p * plane_in, dy + p * plane_out,
                                       idx + p * plane_out, plane_in, plane_out);
    return bad ? DLK_EINVAL : DLK_OK;
}

#undef BEATS

/* Average pooling.  An output row is two passes: the K_h input rows of its windows
 * added into one zero-padded row (contiguous, vectorised), then, for each of the K_w
 * window columns, that row read at stride S_w into the Wo sums (vectorised over the
 * outputs; a scalar window loop per output took 2/3 of pool_stem's forward).  The
 * divisor of output (oh, ow) is K_h·K_w, or rows(oh)·cols[ow], the window's extent
 * inside the plane; cols is computed once per call. */
static inline int64_t FN(avg_rows_)(const dlk_pool_shape *s, int64_t oh, int64_t *hs,
                                    int64_t *he)
{
    const int64_t h0 = oh * s->sh - s->ph;
    *hs = h0 < 0 ? 0 : h0;
    *he = h0 + s->kh > s->H ? s->H : h0 + s->kh;
    return *he - *hs;
}

/* 1 / divisor of each output of a row with `rows` rows inside the plane. */
DLK_CLONES static void FN(avg_inv_)(const dlk_pool_shape *s, const T *DLK_RESTRICT cols,
                                    int64_t rows, int include_pad, T *DLK_RESTRICT inv)
{
    const T all = (T)1 / (T)(s->kh * s->kw);
#pragma omp simd
    for (int64_t ow = 0; ow < s->Wo; ow++)
        inv[ow] = include_pad ? all : (T)1 / ((T)rows * cols[ow]);
}

DLK_CLONES static void FN(avg_plane_)(const dlk_pool_shape *s, const T *DLK_RESTRICT x,
                                      T *DLK_RESTRICT y, T *DLK_RESTRICT acc,
                                      const T *DLK_RESTRICT cols, T *DLK_RESTRICT inv,
                                      int include_pad)
{
    const int64_t W = s->W, pw = s->pw, Wo = s->Wo, sw = s->sw;
    for (int64_t oh = 0; oh < s->Ho; oh++) {
        int64_t hs, he;
        const int64_t rows = FN(avg_rows_)(s, oh, &hs, &he);
        for (int64_t w = 0; w < W + 2 * pw; w++) acc[w] = 0;
        for (int64_t h = hs; h < he; h++) {
            const T *row = x + h * W;
#pragma omp simd
            for (int64_t w = 0; w < W; w++) acc[pw + w] += row[w];
        }
        FN(avg_inv_)(s, cols, rows, include_pad, inv);
        T *yr = y + oh * Wo;
#pragma omp simd
        for (int64_t ow = 0; ow < Wo; ow++) yr[ow] = acc[ow * sw];
        for (int64_t j = 1; j < s->kw; j++) {
#pragma omp simd
            for (int64_t ow = 0; ow < Wo; ow++) yr[ow] += acc[ow * sw + j];
        }
#pragma omp simd
        for (int64_t ow = 0; ow < Wo; ow++) yr[ow] *= inv[ow];
    }
}

/* The adjoint, plane by plane: each output row's dy / N spread over K_w neighbours of
 * one padded row of scratch (all Ho of them, Ho·(W + 2P_w) values: a plane's worth
 * stays in L2; for a fixed window column the outputs land on distinct positions, so the
 * spread vectorises), then each dx row written once as the sum of the spread rows whose
 * windows cover it — no zeroing pass and no read-modify-write of dx (pool_stem's
 * backward: 32 ms with a zeroed dx and K_h additions into it, AMD EPYC Zen 4). */
DLK_CLONES static void FN(avg_plane_backward_)(const dlk_pool_shape *s,
                                               const T *DLK_RESTRICT dy, T *DLK_RESTRICT dx,
                                               T *DLK_RESTRICT acc,
                                               const T *DLK_RESTRICT cols,
                                               T *DLK_RESTRICT inv, int include_pad)
{
    const int64_t W = s->W, pw = s->pw, row = W + 2 * pw, Wo = s->Wo, sw = s->sw;
    for (int64_t oh = 0; oh < s->Ho; oh++) {
        int64_t hs, he;
        const int64_t rows = FN(avg_rows_)(s, oh, &hs, &he);
        T *a = acc + oh * row;
        for (int64_t w = 0; w < row; w++) a[w] = 0;
        FN(avg_inv_)(s, cols, rows, include_pad, inv);
        const T *g = dy + oh * Wo;
#pragma omp simd
        for (int64_t ow = 0; ow < Wo; ow++) inv[ow] *= g[ow];
        for (int64_t j = 0; j < s->kw; j++) {
#pragma omp simd
            for (int64_t ow = 0; ow < Wo; ow++) a[ow * sw + j] += inv[ow];
        }
    }
    for (int64_t h = 0; h < s->H; h++) {
        /* output rows oh whose window [oh·S_h − P_h, oh·S_h − P_h + K_h) holds h */
        int64_t lo = h + s->ph - s->kh + 1, hi = (h + s->ph) / s->sh;
        lo = lo <= 0 ? 0 : (lo + s->sh - 1) / s->sh;
        if (hi > s->Ho - 1) hi = s->Ho - 1;
        T *d = dx + h * W;
        if (lo > hi) {
            memset(d, 0, (size_t)W * sizeof(T));
            continue;
        }
        const T *a = acc + lo * row + pw;
#pragma omp simd
        for (int64_t w = 0; w < W; w++) d[w] = a[w];
        for (int64_t oh = lo + 1; oh <= hi; oh++) {
            const T *b = acc + oh * row + pw;
#pragma omp simd
            for (int64_t w = 0; w < W; w++) d[w] += b[w];
        }
    }
}

/* A window of the whole plane without padding (global average pooling): one sum per
 * plane, or one fill. */
DLK_CLONES static void FN(avg_global_)(const T *DLK_RESTRICT x, T *DLK_RESTRICT y,
                                       int64_t planes, int64_t n, int backward)
{
    const T inv = (T)(1.0 / (double)n);
    for (int64_t p = 0; p < planes; p++) {
        if (backward) {
            const T v = x[p] * inv;
#pragma omp simd
            for (int64_t i = 0; i < n; i++) y[p * n + i] = v;
        } else {
            T t = 0;
#pragma omp simd reduction(+:t)
            for (int64_t i = 0; i < n; i++) t += x[p * n + i];
            y[p] = t * inv;
        }
    }
}

/* Planes [p0, p1) of one thread, with its scratch: one padded row (forward) or a
 * plane's spread rows (backward), then the windows' widths and the divisors. */
static int FN(avg_planes_)(const dlk_pool_shape *s, const T *x, T *y, int include_pad,
                           int backward, int64_t p0, int64_t p1)
{
    const int64_t plane_in = s->H * s->W, plane_out = s->Ho * s->Wo;
    if (s->kh == s->H && s->kw == s->W && s->ph == 0 && s->pw == 0) {   /* global */
        if (backward) FN(avg_global_)(x + p0, y + p0 * plane_in, p1 - p0, plane_in, 1);
        else FN(avg_global_)(x + p0 * plane_in, y + p0, p1 - p0, plane_in, 0);
        return DLK_OK;
    }
    const int64_t row = s->W + 2 * s->pw, Wo = s->Wo;
    const int64_t scratch = (backward ? s->Ho * row : row) + 2 * Wo;
    T *acc = malloc((size_t)scratch * sizeof(T));
    if (!acc) return DLK_ENOMEM;
    T *cols = acc + scratch - 2 * Wo, *inv = cols + Wo;
    for (int64_t ow = 0; ow < Wo; ow++) {              /* the windows' widths in the plane */
        const int64_t w0 = ow * s->sw - s->pw;
        const int64_t ws = w0 < 0 ? 0 : w0, we = w0 + s->kw > s->W ? s->W : w0 + s->kw;
        cols[ow] = (T)(we - ws);
    }
    for (int64_t p = p0; p < p1; p++) {
        if (backward)
            FN(avg_plane_backward_)(s, x + p * plane_out, y + p * plane_in, acc, cols, inv,
                                    include_pad);
        else
            FN(avg_plane_)(s, x + p * plane_in, y + p * plane_out, acc, cols, inv,
                           include_pad);
    }
    free(acc);
    return DLK_OK;
}

/* Parallel over planes, a contiguous run of them per thread; a call too small for two
 * stays on the caller's thread without entering a parallel region. */
static int FN(dlk_avg_pool2d_)(const dlk_pool_shape *s, const T *x, T *y, int include_pad,
                               int backward, int nthreads)
{
    const int64_t work = s->planes * (s->Ho * s->Wo * s->kw + s->Ho * s->kh * s->W);
    const int nt = dlk_threads_for(work, POOL_GRAIN, nthreads);
    if (nt == 1) return FN(avg_planes_)(s, x, y, include_pad, backward, 0, s->planes);
    int failed = 0;
#pragma omp parallel num_threads(nt) reduction(| : failed)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        failed |= FN(avg_planes_)(s, x, y, include_pad, backward, s->planes * t / nt,
                                  s->planes * (t + 1) / nt) != DLK_OK;
    }
    return failed ? DLK_ENOMEM : DLK_OK;
}
