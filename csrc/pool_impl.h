/* pool_impl.h — max-pool loops, for one element type (dtype.h); included twice by pool.c
 * through instantiate.h.
 *
 * Names made, per dtype (f32, f64), all file-local: dlk_max_pool2d_f32,
 * dlk_max_pool2d_backward_f32 (called by the dtype-tagged entries of pool.c);
 * pool_blocks_f32, pool_row_f32, pool_scatter_plane_f32. */

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
