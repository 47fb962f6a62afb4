/* conv/direct_avx512_impl.h — the direct convolution in AVX-512 registers, for one
 * element type (dtype.h, simd_avx512.h); included twice by direct_avx512.c.
 *
 * Names made, per dtype (f32, f64): dlk_conv_direct_avx512_run_f32; static:
 * direct_plan_f32, direct_block_f32, direct_cols_f32, lanes_f32, s2_chunk_f32,
 * direct_row_s2_f32, direct_planes_f32, direct_span_at_f32, conv2d_direct_rows_f32,
 * direct_tables_f32, direct_setup_f32, conv2d_direct_f32, direct_dw_block_f32,
 * direct_dw_rows_f32, conv2d_direct_dw_f32, direct_dx_block_f32, direct_dx_rows_f32,
 * conv2d_direct_dx_f32; types direct_layout_f32, direct_span_f32.
 *
 * With few input channels the im2col product is skinny (32×75×1024 for conv_stride)
 * and the BLAS runs it at about 60% of the FMA peak, after im2col has copied the input
 * kh·kw times.  Here the sum runs in registers instead: a block of DIRECT_J output
 * channels × DIRECT_NV vectors of output positions, each tap one vector load per
 * output vector and one broadcast weight per channel.
 * The input is laid out so that every tap of every output vector is a contiguous
 * load: the padded rows of sample b's input split by column phase (column ow·sw + j
 * of the padded input is column ow + j/sw of phase j mod sw), planes [c][phase] of
 * `rows_in` rows × Wq columns.  Tap k = (c, i, j) then sits at tap[k] =
 * (c·sw + j mod sw)·pstride + i·Wq + j/sw from output vector n's base in[n]. */
#define SPREAD(m) dlk_conv_spread((m), (int64_t)sizeof(T))


/* One register block: out[n] is vector n's offset in a channel's output plane, m[n]
 * its lanes inside the row (0 for the dummy vectors that pad a short last block). */
DLK_AVX512 static inline __attribute__((always_inline)) void FN(direct_block_)(
    const int J, const int64_t K, const int64_t *DLK_RESTRICT tap, const T *DLK_RESTRICT xp,
    const int64_t *DLK_RESTRICT in, const T *DLK_RESTRICT w, const T *DLK_RESTRICT bias,
    T *DLK_RESTRICT y, int64_t plane, const int64_t *DLK_RESTRICT out,
    const VMASK *DLK_RESTRICT m)
{
    VEC acc[DIRECT_J][DIRECT_NV];
    for (int j = 0; j < J; j++)
        for (int n = 0; n < DIRECT_NV; n++) acc[j][n] = VSET1(bias ? bias[j] : (T)0);
    for (int64_t k = 0; k < K; k++) {
        const T *xk = xp + tap[k];
        VEC wk[DIRECT_J];
        for (int j = 0; j < J; j++) wk[j] = VSET1(w[j * K + k]);
        for (int n = 0; n < DIRECT_NV; n++) {
            VEC xv = VLOADU(xk + in[n]);
            for (int j = 0; j < J; j++) acc[j][n] = VFMA(wk[j], xv, acc[j][n]);
        }
    }
    for (int n = 0; n < DIRECT_NV; n++) {    /* each mask and offset loaded once */
        const VMASK mn = m[n];
        T *yn = y + out[n];
        for (int j = 0; j < J; j++) VSTOREM(yn + j * plane, mn, acc[j][n]);
    }
}

/* What a pass of the direct loop shares (direct_setup_): for blocks of `rows` output
 * rows, the phase planes' geometry (rows Wq apart, planes pstride apart, `planes`
 * elements a thread), the tables (direct_tables_), then each thread's planes at ws and
 * the caller's `extra` elements, all in one scratch buffer. */
typedef struct {
    int64_t Wq, pstride, planes;
    int64_t *tap, *in, *out;
    VMASK *m;
    T *ws, *extra;
    char *mem;
} FN(direct_layout_);

/* Columns [q0, q1) of a phase-p plane row that hold input columns: q·sw + p − pw in
 * [0, W), q < Wq. */
static inline void FN(direct_cols_)(const dlk_conv_shape *s, int64_t p, int64_t Wq,
                                    int64_t *q0, int64_t *q1)
{
    const int64_t sw = s->sw;
    *q0 = s->pw - p > 0 ? (s->pw - p + sw - 1) / sw : 0;
    *q1 = (s->W + s->pw - p + sw - 1) / sw;
    if (*q1 > Wq) *q1 = Wq;
    if (*q1 < *q0) *q1 = *q0;
}

/* Lanes l of a vector with lo <= l < hi. */
static inline VMASK FN(lanes_)(int64_t lo, int64_t hi)
{
    lo = lo < 0 ? 0 : lo > VLANES ? VLANES : lo;
    hi = hi < 0 ? 0 : hi > VLANES ? VLANES : hi;
    return (VMASK)((((uint64_t)1 << hi) - 1) & ~(((uint64_t)1 << lo) - 1));
}

/* 2·VLANES padded columns from u of direct_row_s2_ (below): the fill or its adjoint,
 * with plain loads and stores where every lane is in (`full`: masked ones are slower
 * here), else under the masks ma, mb (the two x vectors) and mq (the phase rows). */
DLK_AVX512 static inline __attribute__((always_inline)) void FN(s2_chunk_)(
    const int full, const dlk_perm2 *P, VMASK ma, VMASK mb, VMASK mq, T *pl0, T *pl1,
    const T *xs, T *dxs)
{
#define LOAD_(mk, p) (full ? VLOADU(p) : VMASKZ_LOADU(mk, p))
#define STORE_(mk, p, v) (full ? VSTOREU(p, v) : VSTOREM(p, mk, v))
    if (xs) {
        VEC a = LOAD_(ma, xs), b = LOAD_(mb, xs + VLANES);
        STORE_(mq, pl0, VPERM2(a, P->even, b));
        STORE_(mq, pl1, VPERM2(a, P->odd, b));
    } else {
        VEC e = LOAD_(mq, pl0), o = LOAD_(mq, pl1);
        STORE_(ma, dxs, VADD(LOAD_(ma, dxs), VPERM2(e, P->lo, o)));
        STORE_(mb, dxs + VLANES, VADD(LOAD_(mb, dxs + VLANES), VPERM2(e, P->hi, o)));
    }
#undef LOAD_
#undef STORE_
}

/* Stride 2: one padded input row's two phase rows at once, by vectors.  Padded columns
 * [u, u + 2·VLANES) are x columns u − pw on (zero outside [0, W)); their even and odd
 * lanes are phase 0 and phase 1 at q = u/2, two permutes.  Columns from 2·Wq on belong
 * to no phase row.  With xr given the phase rows are filled; with dxr given they are
 * added back into it instead (the adjoint), padding dropped.  The scalar loops this
 * replaces took 15% of conv_stride's forward pass.  Masked lanes are not read, so
 * xr + u − pw may point before the row. */
DLK_AVX512 static inline void FN(direct_row_s2_)(const dlk_perm2 *P, int64_t W, int64_t pw,
                                                 int64_t Wq, T *pl0, T *pl1, const T *xr,
                                                 T *dxr)
{
    const int64_t end = W + pw < 2 * Wq ? W + pw : 2 * Wq;  /* padded columns with x */
    for (int64_t u = 0; u < 2 * Wq; u += 2 * VLANES) {
        const T *xs = xr ? xr + u - pw : NULL;
        T *dxs = dxr ? dxr + u - pw : NULL;
        if (u >= pw && u + 2 * VLANES <= end && u / 2 + VLANES <= Wq)
            FN(s2_chunk_)(1, P, 0, 0, 0, pl0 + u / 2, pl1 + u / 2, xs, dxs);
        else
            FN(s2_chunk_)(0, P, FN(lanes_)(pw - u, end - u),
                          FN(lanes_)(pw - u - VLANES, end - u - VLANES),
                          FN(lanes_)(0, Wq - u / 2), pl0 + u / 2, pl1 + u / 2, xs, dxs);
    }
}

/* The phase planes of output rows [oh0, oh1): C·sw planes of pstride elements
 * (pstride ≥ rows_in·Wq), plane (c, p) row r holding x[c, ih, q·sw + p − pw] at q,
 * ih = oh0·sh − ph + r.  With xb (C, H, W) given they are filled from it, zero where the
 * padding is; with dxb given instead they are added back into it, padding dropped (the
 * adjoint, for dX).  One walk over the geometry serves both, so they cannot disagree. */
DLK_AVX512 static void FN(direct_planes_)(const dlk_conv_shape *s, int64_t oh0, int64_t oh1,
                                          int64_t Wq, int64_t pstride, T *ws, const T *xb,
                                          T *dxb)
{
    const int64_t sw = s->sw, rows_in = (oh1 - oh0 - 1) * s->sh + s->kh;
    dlk_perm2 P;
    if (sw == 2) dlk_perm2_init(&P, VLANES);
    for (int64_t c = 0; c < s->C; c++)
        for (int64_t r = 0; r < rows_in; r++) {
            int64_t ih = oh0 * s->sh - s->ph + r;
            if (sw == 2 && ih >= 0 && ih < s->H) {
                const int64_t at = (c * s->H + ih) * s->W;
                T *pl = ws + 2 * c * pstride + r * Wq;
                FN(direct_row_s2_)(&P, s->W, s->pw, Wq, pl, pl + pstride, xb ? xb + at : NULL,
                                   dxb ? dxb + at : NULL);
                continue;
            }
            for (int64_t p = 0; p < sw; p++) {
                T *pl = ws + (c * sw + p) * pstride + r * Wq;
                if (ih < 0 || ih >= s->H) {
                    if (!dxb) memset(pl, 0, (size_t)Wq * sizeof(T));
                    continue;
                }
                int64_t q0, q1;          /* the columns q whose q·sw + p − pw exists */
                FN(direct_cols_)(s, p, Wq, &q0, &q1);
                const int64_t at = (c * s->H + ih) * s->W + p - s->pw;
                if (dxb) {
                    T *dp = dxb + at;
                    if (sw == 1) {
#pragma omp simd
                        for (int64_t q = q0; q < q1; q++) dp[q] += pl[q];
                    } else {
                        for (int64_t q = q0; q < q1; q++) dp[q * sw] += pl[q];
                    }
                    continue;
                }
                const T *sp = xb + at + q0 * sw;
                for (int64_t q = 0; q < q0; q++) pl[q] = 0;
                if (sw == 1)
                    memcpy(pl + q0, sp, (size_t)(q1 - q0) * sizeof(T));
                else if (sw == 2)
                    for (int64_t q = q0; q < q1; q++) pl[q] = sp[2 * (q - q0)];
                else
                    for (int64_t q = q0; q < q1; q++) pl[q] = sp[sw * (q - q0)];
                for (int64_t q = q1; q < Wq; q++) pl[q] = 0;
            }
        }
}

/* The tables of vectors [v0, v0 + DIRECT_NV) of a block: in place, or for a short last
 * block a copy in tin, tout, tm padded with vectors that load and store nothing (offset
 * 0, no lanes).  Lives on the caller's stack (in, out and m may point into it). */
typedef struct {
    const int64_t *in, *out;
    const VMASK *m;
    int64_t tin[DIRECT_NV], tout[DIRECT_NV];
    VMASK tm[DIRECT_NV];
} FN(direct_span_);

static inline void FN(direct_span_at_)(const FN(direct_layout_) *L, int64_t v0, int64_t nvec,
                                       FN(direct_span_) *sp)
{
    sp->in = L->in + v0;
    sp->out = L->out + v0;
    sp->m = L->m + v0;
    if (v0 + DIRECT_NV <= nvec) return;
    for (int n = 0; n < DIRECT_NV; n++) {
        int live = v0 + n < nvec;
        sp->tin[n] = live ? L->in[v0 + n] : 0;
        sp->tout[n] = live ? L->out[v0 + n] : 0;
        sp->tm[n] = live ? L->m[v0 + n] : 0;
    }
    sp->in = sp->tin;
    sp->out = sp->tout;
    sp->m = sp->tm;
}

/* Output rows [oh0, oh1) of sample xb (C, H, W) into yb (O, Ho, Wo), through one
 * thread's phase planes ws and the tables of L (vpr vectors a row, for rows from oh0). */
DLK_AVX512 static void FN(conv2d_direct_rows_)(const dlk_conv_shape *s, const T *xb,
                                               const T *w, const T *b, T *yb, int64_t oh0,
                                               int64_t oh1, const FN(direct_layout_) *L,
                                               T *ws)
{
    const int64_t K = s->C * s->kh * s->kw, plane = s->Ho * s->Wo;
    const int64_t *tap = L->tap;
    FN(direct_planes_)(s, oh0, oh1, L->Wq, L->pstride, ws, xb, NULL);
    const int64_t nvec = (oh1 - oh0) * ((s->Wo + VLANES - 1) / VLANES);
    T *y0 = yb + oh0 * s->Wo;
    for (int64_t v0 = 0; v0 < nvec; v0 += DIRECT_NV) {
        FN(direct_span_) sp;
        FN(direct_span_at_)(L, v0, nvec, &sp);
        /* channels DIRECT_J (4) at a time; the last 1–3 with a block of their own size */
        for (int64_t o = 0; o < s->O; o += DIRECT_J) {
            const T *wo = w + o * K, *bo = b ? b + o : NULL;
            T *yo = y0 + o * plane;
#define BLOCK_(J) FN(direct_block_)(J, K, tap, ws, sp.in, wo, bo, yo, plane, sp.out, sp.m)
            switch (s->O - o < DIRECT_J ? s->O - o : DIRECT_J) {
            case 1: BLOCK_(1); break;
            case 2: BLOCK_(2); break;
            case 3: BLOCK_(3); break;
            default: BLOCK_(DIRECT_J); break;
            }
#undef BLOCK_
        }
    }
}

/* Whether the direct loop takes a pass: AVX-512 here, rows at least DIRECT_MIN_WO
 * wide, strides no larger than the kernel (a strided 1×1 reads a quarter of its input,
 * which im2col copies alone and the phase planes whole: 0.77-0.87× of the im2col path
 * at 1 thread), and the input a register block reads (its rows of every channel and
 * phase) within `most` bytes (direct_avx512.c says why each pass's bound has its value),
 * or 40 KB for a 1×1 kernel, which is a plain product (1×1 with 128+ channels, at 49-98
 * KB, ran at 0.62-0.72× of it).  *rows: output rows an item, a whole sample when there
 * are samples for every thread, else a share of one; fewer when the phase planes of that
 * many rows would not fit `slot` bytes. */
static int FN(direct_plan_)(const dlk_conv_shape *s, int64_t slot, int64_t nt, int64_t most,
                            int64_t *rows)
{
    if (s->Wo < DIRECT_MIN_WO || s->sh > s->kh || s->sw > s->kw || !dlk_has_avx512())
        return 0;
    if (s->kh * s->kw == 1 && most > 40960) most = 40960;
    const int64_t vpr = (s->Wo + VLANES - 1) / VLANES, span = vpr < DIRECT_NV ? vpr : DIRECT_NV;
    const int64_t block_rows = ((DIRECT_NV + vpr - 1) / vpr - 1) * s->sh + s->kh;
    const int64_t row_bytes = (span * VLANES + (s->kw - 1) / s->sw) * (int64_t)sizeof(T);
    if (s->C * s->sw * block_rows * ((row_bytes + 63) / 64 * 64) > most)
        return 0;
    const int64_t Wq = (s->Wo + VLANES - 1) / VLANES * VLANES + (s->kw - 1) / s->sw;
    int64_t parts = s->B >= nt ? 1 : (nt + s->B - 1) / s->B, r = (s->Ho + parts - 1) / parts;
    for (; r > 1; r = (r + 1) / 2)
        if (s->C * s->sw * SPREAD(((r - 1) * s->sh + s->kh) * Wq) * (int64_t)sizeof(T)
            <= slot)
            break;
    *rows = r;
    return 1;
}

/* The tables of a block of `rows` output rows: tap[k] (K), and for each of its
 * rows·vpr vectors in[n], out[n] and the lane mask m[n]. */
static void FN(direct_tables_)(const dlk_conv_shape *s, int64_t rows, int64_t Wq,
                               int64_t pstride, int64_t *tap, int64_t *in, int64_t *out,
                               VMASK *m)
{
    const int64_t vpr = (s->Wo + VLANES - 1) / VLANES;
    for (int64_t c = 0, k = 0; c < s->C; c++)
        for (int64_t i = 0; i < s->kh; i++)
            for (int64_t j = 0; j < s->kw; j++, k++)
                tap[k] = (c * s->sw + j % s->sw) * pstride + i * Wq + j / s->sw;
    for (int64_t r = 0, n = 0; r < rows; r++)
        for (int64_t v = 0; v < vpr; v++, n++) {
            int64_t lanes = s->Wo - v * VLANES < VLANES ? s->Wo - v * VLANES : VLANES;
            in[n] = r * s->sh * Wq + v * VLANES;
            out[n] = r * s->Wo + v * VLANES;
            m[n] = FN(lanes_)(0, lanes);
        }
}

/* The layout of a pass over blocks of `rows` output rows by nt threads, with `extra`
 * elements for the caller; DLK_ENOMEM when the scratch buffer cannot be had.  The
 * caller gives L->mem back (dlk_scratch_give). */
static int FN(direct_setup_)(const dlk_conv_shape *s, int64_t rows, int nt, int64_t extra,
                             FN(direct_layout_) *L)
{
    const int64_t K = s->C * s->kh * s->kw, vpr = (s->Wo + VLANES - 1) / VLANES;
    const int64_t nvec = rows * vpr;
    L->Wq = vpr * VLANES + (s->kw - 1) / s->sw;
    L->pstride = SPREAD(((rows - 1) * s->sh + s->kh) * L->Wq);
    L->planes = s->C * s->sw * L->pstride;
    size_t table_bytes = (size_t)(K + 2 * nvec) * sizeof(int64_t) + (size_t)nvec * sizeof(VMASK);
    table_bytes = (table_bytes + 63) & ~(size_t)63;
    L->mem = dlk_scratch_take(table_bytes +
                              ((size_t)nt * (size_t)L->planes + (size_t)extra) * sizeof(T));
    if (!L->mem) return DLK_ENOMEM;
    L->tap = (int64_t *)L->mem;
    L->in = L->tap + K;
    L->out = L->in + nvec;
    L->m = (VMASK *)(L->out + nvec);
    L->ws = (T *)(L->mem + table_bytes);
    L->extra = L->ws + (int64_t)nt * L->planes;
    FN(direct_tables_)(s, rows, L->Wq, L->pstride, L->tap, L->in, L->out, L->m);
    return DLK_OK;
}

/* The forward pass through conv2d_direct_rows_: items (sample, block of `rows` output
 * rows), one thread's phase planes per item. */
static int FN(conv2d_direct_)(const dlk_conv_shape *s, const T *x, const T *w, const T *b,
                              T *y, int64_t rows, const dlk_stop_flag *stop, int nthreads)
{
    const int64_t blocks = (s->Ho + rows - 1) / rows, items = s->B * blocks;
    const int64_t sample_in = s->C * s->H * s->W, sample_out = s->O * s->Ho * s->Wo;
    int nt = nthreads < 1 ? 1 : nthreads;
    if (nt > items) nt = (int)items;
    FN(direct_layout_) L;
    if (FN(direct_setup_)(s, rows, nt, 0, &L) != DLK_OK) return DLK_ENOMEM;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t it = 0; it < items; it++) {
        if (DLK_STOPPED(stop)) continue;
        int t = 0;
        DLK_THREAD_NUM(t);
        int64_t bi = it / blocks, oh0 = (it % blocks) * rows;
        int64_t oh1 = oh0 + rows < s->Ho ? oh0 + rows : s->Ho;
        FN(conv2d_direct_rows_)(s, x + bi * sample_in, w, b, y + bi * sample_out, oh0, oh1,
                                &L, L.ws + (int64_t)t * L.planes);
    }
    dlk_scratch_give(L.mem);
    return DLK_STOPPED(stop) ? DLK_EINTR : DLK_OK;
}
/* ---- dW and db through the same phase planes ----
 * dW[o][k] = Σ_q dY[o][q]·x_k[q], x_k being tap k's view of the planes (the one the
 * forward pass loads for its output position q).  A register block holds DIRECT_J
 * channels × DIRECT_DW_TAPS taps of vector sums and runs over every output vector of a
 * block of rows; its lanes are then added into the caller's sums.  Lanes past a row's
 * end load as zeros, for dY and for x, so that an inf or NaN beside a row cannot leak
 * into a sum it is not part of.  Taps past K repeat tap[0] (tk) and are not stored.
 * Masked loads cost here: rows of whole vectors (`full`) load without masks, which took
 * conv_stride's backward from 965 to 926 µs and a 3-channel 64×64 3×3 one from 1,583 to
 * 1,348 µs (1 thread).  The same for the dY loads of the dX block made it slower. */
DLK_AVX512 static inline __attribute__((always_inline)) void FN(direct_dw_block_)(
    const int with_db, const int full, const int64_t nvec, const T *DLK_RESTRICT xp,
    const int64_t *DLK_RESTRICT tk, const int64_t *DLK_RESTRICT in, const T *DLK_RESTRICT dy,
    const int64_t plane, const int nj, const int ntk, const int64_t *DLK_RESTRICT out,
    const VMASK *DLK_RESTRICT m, T *DLK_RESTRICT dw, const int64_t K, T *DLK_RESTRICT db)
{
    VEC acc[DIRECT_J][DIRECT_DW_TAPS], dbacc[DIRECT_J];
    const T *dyj[DIRECT_J];
    for (int j = 0; j < DIRECT_J; j++) {      /* channels past nj repeat the last one */
        dyj[j] = dy + (j < nj ? j : nj - 1) * plane;
        dbacc[j] = VSET1((T)0);
        for (int t = 0; t < DIRECT_DW_TAPS; t++) acc[j][t] = VSET1((T)0);
    }
    for (int64_t n = 0; n < nvec; n++) {
        VEC d[DIRECT_J];
        for (int j = 0; j < DIRECT_J; j++)
            d[j] = full ? VLOADU(dyj[j] + out[n]) : VMASKZ_LOADU(m[n], dyj[j] + out[n]);
        if (with_db)
            for (int j = 0; j < DIRECT_J; j++) dbacc[j] = VADD(dbacc[j], d[j]);
        const T *xn = xp + in[n];
        for (int t = 0; t < DIRECT_DW_TAPS; t++) {
            VEC xv = full ? VLOADU(xn + tk[t]) : VMASKZ_LOADU(m[n], xn + tk[t]);
            for (int j = 0; j < DIRECT_J; j++) acc[j][t] = VFMA(d[j], xv, acc[j][t]);
        }
    }
    /* unrolled with constant bounds, so that acc can stay in registers */
#pragma GCC unroll 8
    for (int j = 0; j < DIRECT_J; j++) {
#pragma GCC unroll 8
        for (int t = 0; t < DIRECT_DW_TAPS; t++)
            if (j < nj && t < ntk) dw[j * K + t] += VREDUCE(acc[j][t]);
        if (with_db && j < nj) db[j] += VREDUCE(dbacc[j]);
    }
}

/* Adds output rows [oh0, oh1) of sample xb's dW and db into dw (O × K) and db (O);
 * L and ws as for conv2d_direct_rows_. */
DLK_AVX512 static void FN(direct_dw_rows_)(const dlk_conv_shape *s, const T *xb, const T *dyb,
                                           T *dw, T *db, int64_t oh0, int64_t oh1,
                                           const FN(direct_layout_) *L, T *ws)
{
    const int64_t K = s->C * s->kh * s->kw, plane = s->Ho * s->Wo;
    const int64_t *tap = L->tap, *in = L->in, *out = L->out;
    const VMASK *m = L->m;
    const int64_t nv = (oh1 - oh0) * ((s->Wo + VLANES - 1) / VLANES);
    const T *dy0 = dyb + oh0 * s->Wo;
    FN(direct_planes_)(s, oh0, oh1, L->Wq, L->pstride, ws, xb, NULL);
    const int full = s->Wo % VLANES == 0;
    for (int64_t o = 0; o < s->O; o += DIRECT_J) {
        int nj = s->O - o < DIRECT_J ? (int)(s->O - o) : DIRECT_J;
        for (int64_t k0 = 0; k0 < K; k0 += DIRECT_DW_TAPS) {
            int ntk = K - k0 < DIRECT_DW_TAPS ? (int)(K - k0) : DIRECT_DW_TAPS;
            int64_t tk[DIRECT_DW_TAPS];
            for (int q = 0; q < DIRECT_DW_TAPS; q++) tk[q] = tap[k0 + (q < ntk ? q : 0)];
            /* db with each channel block's first taps; rows of whole vectors load
             * without masks */
#define DW_BLOCK_(DB, FULL)                                                            \
    FN(direct_dw_block_)(DB, FULL, nv, ws, tk, in, dy0 + o * plane, plane, nj, ntk, out, m, \
                         dw + o * K + k0, K, DB ? db + o : NULL)
            if (k0 == 0 && full) DW_BLOCK_(1, 1);
            else if (k0 == 0) DW_BLOCK_(1, 0);
            else if (full) DW_BLOCK_(0, 1);
            else DW_BLOCK_(0, 0);
#undef DW_BLOCK_
        }
    }
}

/* dW and db through the phase planes, for the convolutions whose forward pass takes
 * the direct loop.  The items (sample, block of `rows` output rows) are cut into G
 * groups of consecutive items (as the samples on the im2col path), each with its own
 * partial sums, added over its items in order, then the partials in group order: the
 * same bits at any thread count. */
static int FN(conv2d_direct_dw_)(const dlk_conv_shape *s, const T *x, const T *dy, T *dw,
                                 T *db, int64_t rows, const dlk_stop_flag *stop,
                                 int nthreads)
{
    const int64_t K = s->C * s->kh * s->kw, plane = s->Ho * s->Wo;
    const int64_t sample_in = s->C * s->H * s->W, sample_out = s->O * plane;
    const int64_t blocks = (s->Ho + rows - 1) / rows, items = s->B * blocks;
    const int64_t G = items < DW_GROUPS ? items : DW_GROUPS, psize = s->O * K + s->O;
    int nt = nthreads < 1 ? 1 : nthreads;
    if (nt > G) nt = (int)G;
    FN(direct_layout_) L;
    if (FN(direct_setup_)(s, rows, nt, G * psize, &L) != DLK_OK) return DLK_ENOMEM;
    T *partial = L.extra;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t g = 0; g < G; g++) {
        int t = 0;
        DLK_THREAD_NUM(t);
        T *xp = L.ws + (int64_t)t * L.planes, *pw = partial + g * psize, *pb = pw + s->O * K;
        memset(pw, 0, (size_t)psize * sizeof(T));
        for (int64_t it = g * items / G; it < (g + 1) * items / G && !DLK_STOPPED(stop); it++) {
            int64_t bi = it / blocks, oh0 = it % blocks * rows;
            int64_t oh1 = oh0 + rows < s->Ho ? oh0 + rows : s->Ho;
            FN(direct_dw_rows_)(s, x + bi * sample_in, dy + bi * sample_out, pw, pb, oh0,
                                oh1, &L, xp);
        }
    }
    for (int64_t q = 0; q < s->O * K; q++) {
        T acc = partial[q];
        for (int64_t g = 1; g < G; g++) acc += partial[g * psize + q];
        dw[q] = acc;
    }
    for (int64_t o = 0; o < s->O; o++) {
        double acc = 0;
        for (int64_t g = 0; g < G; g++) acc += partial[g * psize + s->O * K + o];
        db[o] = (T)acc;
    }
    dlk_scratch_give(L.mem);
    return DLK_STOPPED(stop) ? DLK_EINTR : DLK_OK;
}

/* ---- dX through the same phase planes: the adjoint of the forward block ----
 * The forward pass adds W[o][k]·planes[tap[k] + in[n]] into output vector n of
 * channel o; so the planes at tap[k] + in[n] gain Σ_o W[o][k]·dY[o] at out[n].  A
 * register block is DIRECT_J taps × DIRECT_NV vectors, summed over the channels, then
 * added into the planes (taps of one plane overlap there, so one add after another).
 * Lanes past a row's end add zeros, inside the row's spare columns. */
DLK_AVX512 static inline __attribute__((always_inline)) void FN(direct_dx_block_)(
    const int J, const int64_t O, const int64_t *DLK_RESTRICT tk, T *xp,
    const int64_t *DLK_RESTRICT in, const T *DLK_RESTRICT wt, const T *DLK_RESTRICT dy,
    const int64_t plane, const int64_t *DLK_RESTRICT out, const VMASK *DLK_RESTRICT m)
{
    VEC acc[DIRECT_J][DIRECT_NV];
    for (int j = 0; j < J; j++)
        for (int n = 0; n < DIRECT_NV; n++) acc[j][n] = VSET1((T)0);
    for (int64_t o = 0; o < O; o++) {
        const T *d = dy + o * plane;
        VEC wk[DIRECT_J];
        for (int j = 0; j < J; j++) wk[j] = VSET1(wt[j * O + o]);
        for (int n = 0; n < DIRECT_NV; n++) {
            VEC dv = VMASKZ_LOADU(m[n], d + out[n]);
            for (int j = 0; j < J; j++) acc[j][n] = VFMA(wk[j], dv, acc[j][n]);
        }
    }
    for (int j = 0; j < J; j++)
        for (int n = 0; n < DIRECT_NV; n++) {
            T *p = xp + tk[j] + in[n];
            VSTOREU(p, VADD(VLOADU(p), acc[j][n]));
        }
}

/* dX of output rows [oh0, oh1) of one sample added into dxb: planes zeroed, filled
 * by the blocks, added back.  wt: Wᵀ (K × O); L and ws as for conv2d_direct_rows_. */
DLK_AVX512 static void FN(direct_dx_rows_)(const dlk_conv_shape *s, const T *dyb, const T *wt,
                                           T *dxb, int64_t oh0, int64_t oh1,
                                           const FN(direct_layout_) *L, T *ws)
{
    const int64_t K = s->C * s->kh * s->kw, plane = s->Ho * s->Wo;
    const int64_t *tap = L->tap;
    memset(ws, 0, (size_t)L->planes * sizeof(T));
    const int64_t nvec = (oh1 - oh0) * ((s->Wo + VLANES - 1) / VLANES);
    const T *dy0 = dyb + oh0 * s->Wo;
    for (int64_t v0 = 0; v0 < nvec; v0 += DIRECT_NV) {
        FN(direct_span_) sp;
        FN(direct_span_at_)(L, v0, nvec, &sp);
        for (int64_t k = 0; k < K; k += DIRECT_J) {
            const T *wk = wt + k * s->O;
#define BLOCK_(J) \
    FN(direct_dx_block_)(J, s->O, tap + k, ws, sp.in, wk, dy0, plane, sp.out, sp.m)
            switch (K - k < DIRECT_J ? K - k : DIRECT_J) {
            case 1: BLOCK_(1); break;
            case 2: BLOCK_(2); break;
            case 3: BLOCK_(3); break;
            default: BLOCK_(DIRECT_J); break;
            }
#undef BLOCK_
        }
    }
    FN(direct_planes_)(s, oh0, oh1, L->Wq, L->pstride, ws, NULL, dxb);
}

/* dX through the phase planes, sample by sample (its blocks of `rows` output rows
 * overlap in the input rows, so one thread owns a sample's dx). */
static int FN(conv2d_direct_dx_)(const dlk_conv_shape *s, const T *dy, const T *w, T *dx,
                                 int64_t rows, const dlk_stop_flag *stop, int nthreads)
{
    const int64_t K = s->C * s->kh * s->kw;
    const int64_t sample_in = s->C * s->H * s->W, sample_out = s->O * s->Ho * s->Wo;
    int nt = nthreads < 1 ? 1 : nthreads;
    if (nt > s->B) nt = (int)s->B;
    FN(direct_layout_) L;
    if (FN(direct_setup_)(s, rows, nt, K * s->O, &L) != DLK_OK) return DLK_ENOMEM;
    T *wt = L.extra;
    for (int64_t o = 0; o < s->O; o++)
        for (int64_t k = 0; k < K; k++) wt[k * s->O + o] = w[o * K + k];
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t bi = 0; bi < s->B; bi++) {
        int t = 0;
        DLK_THREAD_NUM(t);
        T *dxb = dx + bi * sample_in;
        memset(dxb, 0, (size_t)sample_in * sizeof(T));
        for (int64_t oh0 = 0; oh0 < s->Ho && !DLK_STOPPED(stop); oh0 += rows) {
            int64_t oh1 = oh0 + rows < s->Ho ? oh0 + rows : s->Ho;
            FN(direct_dx_rows_)(s, dy + bi * sample_out, wt, dxb, oh0, oh1, &L,
                                L.ws + (int64_t)t * L.planes);
        }
    }
    dlk_scratch_give(L.mem);
    return DLK_STOPPED(stop) ? DLK_EINTR : DLK_OK;
}

/* The forward pass, dW with db, and dX, as the plan asks. */
int FN(dlk_conv_direct_avx512_run_)(const dlk_conv_problem *p, unsigned passes,
                                    const dlk_conv_blocking *blk, const dlk_conv_io *io)
{
    const dlk_conv_shape *s = &p->s;
    if (passes & (1u << DLK_CONV_FORWARD))
        return FN(conv2d_direct_)(s, io->x, io->w, io->b, io->y, blk[DLK_CONV_FORWARD].rows,
                                  io->stop, p->nthreads);
    if (passes & (1u << DLK_CONV_DW)) {
        int st = FN(conv2d_direct_dw_)(s, io->x, io->dy, io->dw, io->db,
                                       blk[DLK_CONV_DW].rows, io->stop, p->nthreads);
        if (st != DLK_OK) return st;
    }
    if (passes & (1u << DLK_CONV_DX))
        return FN(conv2d_direct_dx_)(s, io->dy, io->w, io->dx, blk[DLK_CONV_DX].rows, io->stop,
                                     p->nthreads);
    return DLK_OK;
}
#undef SPREAD
