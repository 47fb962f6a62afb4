/* conv/depthwise_impl.h — the depthwise loops, for one element type (dtype.h); included
 * twice by depthwise.c.
 *
 * Layout.  The input planes of one channel for nb consecutive samples are copied into a
 * zero-padded buffer split by phase: with stride (sh, sw), phase (pi, pj) holds padded
 * input row r·sh + pi, column q·sw + pj at (r, q) of an Hq × Wq plane, and the nb
 * samples' planes follow one another (`span` apart) inside the phase's block.  An output
 * position (oh, ow) of stacked sample j sits at k = j·span + oh·Wq + ow, and kernel tap
 * (i, j) reads its phase at k + (i·dil_h / sh)·Wq + (j·dil_w / sw): every tap is one
 * vector loop over all nb samples at once, with no bounds tests and no strided loads.
 * Stacking samples (which share the filter) makes the loops long where planes are
 * small: 32 samples of 7×7 are one loop of 2,592 positions, not 32 of 61.  The columns
 * and rows between outputs are scratch.
 *
 * Forward: CHUNK positions at a time, summed over every tap in registers, then the
 * output rows copied out.  dX: the adjoint, added into phase planes, then each x
 * element read back from the one phase element it went to.  dW: per filter, each
 * tap's dot product of dY (on the same pitch) and its phase view, a group's sum in T,
 * the groups added in order in double.
 *
 * Threads: the forward pass and dX own (channel, sample group) items; dW owns
 * channels.  The groups do not depend on the thread count, so neither do the bits.
 *
 * Names made, per dtype (f32, f64): dlk_conv_depthwise_run_f32; static: dw_geom_f32,
 * dw_len_f32, dw_taps_f32, dw_fill_f32, dw_pitch_f32, dw_sums_f32, dw_scatter_f32,
 * dw_dots_f32, dw_buffers_f32, dw_forward_f32, dw_dx_f32, dw_dw_f32. */

/* Positions a forward register block sums at once: 4 vectors of floats on AVX-512. */
#define CHUNK (256 / (int64_t)sizeof(T))

static dw_geom FN(dw_geom_)(const dlk_conv_shape *s)
{
    dw_geom g;
    g.Hq = s->Ho + (s->kh - 1) * s->dil_h / s->sh;
    g.Wq = s->Wo + (s->kw - 1) * s->dil_w / s->sw;
    g.P = s->sh * s->sw;
    g.span = g.Hq * g.Wq;
    int64_t nb = DW_STACK_BYTES / ((g.P + 1) * g.span * (int64_t)sizeof(T));
    g.nb = nb < 1 ? 1 : nb > s->B ? s->B : nb;
    /* a loop over nb samples rounds up to whole chunks and its taps reach past the last
     * sample by less than a chunk: each phase block has a chunk to spare */
    g.PS = dlk_conv_spread(g.nb * g.span + CHUNK, (int64_t)sizeof(T));
    g.m = s->O / s->C;
    return g;
}

/* Positions the loops of a group of n samples cover, whole chunks */
static inline int64_t FN(dw_len_)(const dlk_conv_shape *s, const dw_geom *g, int64_t n)
{
    int64_t L = (n - 1) * g->span + (s->Ho - 1) * g->Wq + s->Wo;
    return (L + CHUNK - 1) / CHUNK * CHUNK;
}

/* tap[t]: where tap t = (i, j) reads, from an output position's k */
static void FN(dw_taps_)(const dlk_conv_shape *s, const dw_geom *g, int64_t *tap)
{
    for (int64_t i = 0; i < s->kh; i++)
        for (int64_t j = 0; j < s->kw; j++) {
            const int64_t a = i * s->dil_h, e = j * s->dil_w;
            tap[i * s->kw + j] = (a % s->sh * s->sw + e % s->sw) * g->PS + a / s->sh * g->Wq +
                                 e / s->sw;
        }
}

/* The phase planes of samples x (n of them, `sample` apart, channel plane H × W each)
 * with x given: written where the input is, the rest left as it is (zero: the buffer is
 * cleared once, and every fill writes the same elements).  With dx given instead, dx
 * reads back the phase element each of its elements went to (0 past the last output
 * row or column: no tap reached it). */
DLK_CLONES static void FN(dw_fill_)(const dlk_conv_shape *s, const dw_geom *g, int64_t n, int64_t sample,
                         const T *x, T *ph, T *dx)
{
    /* a short last group: the slots after it cleared, which its last chunk reads */
    for (int64_t p = 0; x && n < g->nb && p < g->P; p++)
        memset(ph + p * g->PS + n * g->span, 0, (size_t)((g->nb - n) * g->span) * sizeof(T));
    for (int64_t b = 0; b < n; b++)
        for (int64_t h = 0; h < s->H; h++) {
            const int64_t hp = h + s->ph, r = hp / s->sh;
            T *row = ph + hp % s->sh * s->sw * g->PS + b * g->span + r * g->Wq;
            const T *xr = x ? x + b * sample + h * s->W : NULL;
            T *dr = dx ? dx + b * sample + h * s->W : NULL;
            if (r >= g->Hq) {
                if (dr) memset(dr, 0, (size_t)s->W * sizeof(T));
                continue;
            }
            if (s->sw == 1) {   /* columns w + pw < Wq, contiguous */
                int64_t nw = g->Wq - s->pw < s->W ? g->Wq - s->pw : s->W;
                if (nw < 0) nw = 0;
                T *at = row + s->pw;
                if (xr) {
                    dw_copy(at, xr, (size_t)nw * sizeof(T));
                } else {
                    dw_copy(dr, at, (size_t)nw * sizeof(T));
                    for (int64_t w = nw; w < s->W; w++) dr[w] = 0;
                }
                continue;
            }
            /* phase by phase: column q of phase pj is x column q·sw + pj − pw; a
             * constant stride of 2 vectorises as shuffles (per-element division took
             * 11 ms for 32 × 256 planes of 28×28, against 5.6 ms for im2col + GEMM) */
            for (int64_t pj = 0; pj < s->sw; pj++) {
                const int64_t sw = s->sw, q0 = s->pw > pj ? (s->pw - pj + sw - 1) / sw : 0;
                int64_t q1 = (s->W - 1 + s->pw - pj) / sw + 1;
                if (q1 > g->Wq) q1 = g->Wq;
                T *at = row + pj * g->PS;
                const int64_t o = pj - s->pw;
                if (xr && sw == 2)
                    for (int64_t q = q0; q < q1; q++) at[q] = xr[2 * q + o];
                else if (xr)
                    for (int64_t q = q0; q < q1; q++) at[q] = xr[sw * q + o];
                else if (sw == 2)
                    for (int64_t q = q0; q < q1; q++) dr[2 * q + o] = at[q];
                else
                    for (int64_t q = q0; q < q1; q++) dr[sw * q + o] = at[q];
            }
            /* x columns past the last phase column: no tap reached them */
            for (int64_t w = g->Wq * s->sw - s->pw; dr && w < s->W; w++)
                if (w >= 0) dr[w] = 0;
        }
}

/* dyp (pitch Wq, n samples `span` apart) = n planes of dY (Ho × Wo, `sample` apart),
 * 0 between the rows and after the last one up to len: dW's dot products and dX's
 * scatter read every position below len */
DLK_CLONES static void FN(dw_pitch_)(const dlk_conv_shape *s, const dw_geom *g, int64_t n, int64_t len,
                          int64_t sample, const T *dy, T *dyp)
{
    for (int64_t b = 0; b < n; b++)
        for (int64_t oh = 0; oh < s->Ho; oh++) {
            dw_copy(dyp + b * g->span + oh * g->Wq, dy + b * sample + oh * s->Wo,
                    (size_t)s->Wo * sizeof(T));
        }
    const int64_t L = (n - 1) * g->span + (s->Ho - 1) * g->Wq + s->Wo;
    for (int64_t k = L; k < len; k++) dyp[k] = 0;
}

/* The loops over the positions, compiled for each instruction set (DLK_CLONES). */

/* acc[k] = bias + Σ_t w[t] · ph[tap[t] + k] for k < len (whole chunks), a chunk's sums
 * in four registers over all the taps.  Written in GCC's generic vectors of 64 bytes
 * (one zmm, two ymm or four xmm, by clone): with arrays and `omp simd` GCC interchanged
 * the loops and summed one element at a time (2.4 ms against 1.6 before for 32 × 512
 * planes of 7×7). */
typedef T FN(dw_vec_) __attribute__((vector_size(64)));
#define VN ((int64_t)(64 / sizeof(T)))
DLK_CLONES static void FN(dw_sums_)(int64_t len, int64_t taps, const int64_t *tap,
                                    const T *DLK_RESTRICT w, T bias, const T *DLK_RESTRICT ph,
                                    T *DLK_RESTRICT acc)
{
    typedef FN(dw_vec_) V;
    for (int64_t k0 = 0; k0 < len; k0 += CHUNK) {
        V s0 = {0}, s1, s2, s3;
        s0 += bias;
        s1 = s0, s2 = s0, s3 = s0;
        for (int64_t t = 0; t < taps; t++) {
            const T *in = ph + tap[t] + k0;
            V wt = {0}, x0, x1, x2, x3;
            wt += w[t];
            memcpy(&x0, in, sizeof x0);
            memcpy(&x1, in + VN, sizeof x1);
            memcpy(&x2, in + 2 * VN, sizeof x2);
            memcpy(&x3, in + 3 * VN, sizeof x3);
            s0 += wt * x0, s1 += wt * x1, s2 += wt * x2, s3 += wt * x3;
        }
        memcpy(acc + k0, &s0, sizeof s0);
        memcpy(acc + k0 + VN, &s1, sizeof s1);
        memcpy(acc + k0 + 2 * VN, &s2, sizeof s2);
        memcpy(acc + k0 + 3 * VN, &s3, sizeof s3);
    }
}
#undef VN

/* The adjoint: ph[tap[t] + k] += w[t] · dyp[k] for every tap, k < len */
DLK_CLONES static void FN(dw_scatter_)(int64_t len, int64_t taps, const int64_t *tap,
                                       const T *DLK_RESTRICT w, const T *DLK_RESTRICT dyp,
                                       T *DLK_RESTRICT ph)
{
    for (int64_t t = 0; t < taps; t++) {
        const T wt = w[t];
        T *out = ph + tap[t];
#pragma omp simd
        for (int64_t k = 0; k < len; k++) out[k] += wt * dyp[k];
    }
}

/* accd[t] += Σ_k dyp[k] · ph[tap[t] + k] (k < len), the sum in T */
DLK_CLONES static void FN(dw_dots_)(int64_t len, int64_t taps, const int64_t *tap,
                                    const T *DLK_RESTRICT dyp, const T *DLK_RESTRICT ph,
                                    double *accd)
{
    for (int64_t t = 0; t < taps; t++) {
        T sum = 0;
        const T *in = ph + tap[t];
#pragma omp simd reduction(+:sum)
        for (int64_t k = 0; k < len; k++) sum += dyp[k] * in[k];
        accd[t] += (double)sum;
    }
}

/* The buffers of a pass: per thread the phase blocks and one pitch-Wq buffer (acc or
 * dyp), cleared, then the tap table after all threads' buffers. */
static T *FN(dw_buffers_)(const dlk_conv_shape *s, const dw_geom *g, int nt, int64_t *per,
                          int64_t **tap)
{
    *per = g->P * g->PS + g->PS + (int64_t)(sizeof(double) / sizeof(T)) * g->m * s->kh * s->kw;
    size_t bytes = (size_t)(nt * *per) * sizeof(T) + (size_t)(s->kh * s->kw) * sizeof(int64_t);
    T *ws = dlk_scratch_take(bytes);
    if (!ws) return NULL;
    memset(ws, 0, (size_t)(nt * *per) * sizeof(T));
    *tap = (int64_t *)(ws + nt * *per);
    FN(dw_taps_)(s, g, *tap);
    return ws;
}

static int FN(dw_forward_)(const dlk_conv_problem *p, const T *x, const T *w, const T *b,
                           T *y, const dlk_stop_flag *stop)
{
    const dlk_conv_shape *s = &p->s;
    const dw_geom g = FN(dw_geom_)(s);
    const int64_t plane_in = s->H * s->W, plane_out = s->Ho * s->Wo, taps = s->kh * s->kw;
    const int64_t groups = (s->B + g.nb - 1) / g.nb, items = s->C * groups;
    int nt = dlk_threads_for(s->B * s->O * plane_out * taps, 1 << 15, p->nthreads);
    if (nt > items) nt = (int)items;
    int64_t per, *tap;
    T *ws = FN(dw_buffers_)(s, &g, nt, &per, &tap);
    if (!ws) return DLK_ENOMEM;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        T *ph = ws + t * per, *acc = ph + g.P * g.PS;
#pragma omp for schedule(static)
        for (int64_t it = 0; it < items; it++) {
            if (DLK_STOPPED(stop)) continue;
            const int64_t c = it / groups, b0 = it % groups * g.nb;
            const int64_t n = b0 + g.nb <= s->B ? g.nb : s->B - b0, len = FN(dw_len_)(s, &g, n);
            FN(dw_fill_)(s, &g, n, s->C * plane_in, x + (b0 * s->C + c) * plane_in, ph, NULL);
            for (int64_t q = 0; q < g.m; q++) {
                const int64_t o = c * g.m + q;
                const T *wo = w + o * taps, bo = b ? b[o] : (T)0;
                FN(dw_sums_)(len, taps, tap, wo, bo, ph, acc);
                for (int64_t j = 0; j < n; j++)
                    for (int64_t oh = 0; oh < s->Ho; oh++) {
                        dw_copy(y + ((b0 + j) * s->O + o) * plane_out + oh * s->Wo,
                                acc + j * g.span + oh * g.Wq, (size_t)s->Wo * sizeof(T));
                    }
            }
        }
    }
    dlk_scratch_give(ws);
    return DLK_STOPPED(stop) ? DLK_EINTR : DLK_OK;
}

/* dX: the adjoint of the forward taps, added into the phase planes, then read back */
static int FN(dw_dx_)(const dlk_conv_problem *p, const T *dy, const T *w, T *dx,
                      const dlk_stop_flag *stop)
{
    const dlk_conv_shape *s = &p->s;
    const dw_geom g = FN(dw_geom_)(s);
    const int64_t plane_in = s->H * s->W, plane_out = s->Ho * s->Wo, taps = s->kh * s->kw;
    const int64_t groups = (s->B + g.nb - 1) / g.nb, items = s->C * groups;
    int nt = dlk_threads_for(s->B * s->O * plane_out * taps, 1 << 15, p->nthreads);
    if (nt > items) nt = (int)items;
    int64_t per, *tap;
    T *ws = FN(dw_buffers_)(s, &g, nt, &per, &tap);
    if (!ws) return DLK_ENOMEM;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        T *ph = ws + t * per, *dyp = ph + g.P * g.PS;
#pragma omp for schedule(static)
        for (int64_t it = 0; it < items; it++) {
            if (DLK_STOPPED(stop)) continue;
            const int64_t c = it / groups, b0 = it % groups * g.nb;
            const int64_t n = b0 + g.nb <= s->B ? g.nb : s->B - b0, len = FN(dw_len_)(s, &g, n);
            memset(ph, 0, (size_t)(g.P * g.PS) * sizeof(T));
            for (int64_t q = 0; q < g.m; q++) {
                const int64_t o = c * g.m + q;
                const T *wo = w + o * taps;
                FN(dw_pitch_)(s, &g, n, len, s->O * plane_out,
                              dy + (b0 * s->O + o) * plane_out, dyp);
                FN(dw_scatter_)(len, taps, tap, wo, dyp, ph);
            }
            FN(dw_fill_)(s, &g, n, s->C * plane_in, NULL, ph, dx + (b0 * s->C + c) * plane_in);
        }
    }
    dlk_scratch_give(ws);
    return DLK_STOPPED(stop) ? DLK_EINTR : DLK_OK;
}

/* dW[o, i, j] = Σ_b Σ_(oh, ow) dY[b, o, oh, ow] · (tap (i, j)'s view of b's phases at
 * (oh, ow)): per group of samples one dot product in T, the groups added in order in
 * double */
static int FN(dw_dw_)(const dlk_conv_problem *p, const T *dy, const T *x, T *dw,
                      const dlk_stop_flag *stop)
{
    const dlk_conv_shape *s = &p->s;
    const dw_geom g = FN(dw_geom_)(s);
    const int64_t plane_in = s->H * s->W, plane_out = s->Ho * s->Wo, taps = s->kh * s->kw;
    int nt = dlk_threads_for(s->B * s->O * plane_out * taps, 1 << 15, p->nthreads);
    if (nt > s->C) nt = (int)s->C;
    int64_t per, *tap;
    T *ws = FN(dw_buffers_)(s, &g, nt, &per, &tap);
    if (!ws) return DLK_ENOMEM;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        T *ph = ws + t * per, *dyp = ph + g.P * g.PS;
        double *accd = (double *)(dyp + g.PS);
#pragma omp for schedule(static)
        for (int64_t c = 0; c < s->C; c++) {
            for (int64_t q = 0; q < g.m * taps; q++) accd[q] = 0;
            for (int64_t b0 = 0; b0 < s->B && !DLK_STOPPED(stop); b0 += g.nb) {
                const int64_t n = b0 + g.nb <= s->B ? g.nb : s->B - b0;
                const int64_t len = FN(dw_len_)(s, &g, n);
                FN(dw_fill_)(s, &g, n, s->C * plane_in, x + (b0 * s->C + c) * plane_in, ph,
                             NULL);
                for (int64_t q = 0; q < g.m; q++) {
                    const int64_t o = c * g.m + q;
                    FN(dw_pitch_)(s, &g, n, len, s->O * plane_out,
                                  dy + (b0 * s->O + o) * plane_out, dyp);
                    FN(dw_dots_)(len, taps, tap, dyp, ph, accd + q * taps);
                }
            }
            for (int64_t q = 0; q < g.m * taps; q++) dw[c * g.m * taps + q] = (T)accd[q];
        }
    }
    dlk_scratch_give(ws);
    return DLK_STOPPED(stop) ? DLK_EINTR : DLK_OK;
}

int FN(dlk_conv_depthwise_run_)(const dlk_conv_problem *p, unsigned passes,
                                const dlk_conv_blocking *blk, const dlk_conv_io *io)
{
    (void)blk;
    if (passes & (1u << DLK_CONV_FORWARD))
        return FN(dw_forward_)(p, io->x, io->w, io->b, io->y, io->stop);
    int st = DLK_OK;
    if (passes & (1u << DLK_CONV_DX)) st = FN(dw_dx_)(p, io->dy, io->w, io->dx, io->stop);
    if (st == DLK_OK && (passes & (1u << DLK_CONV_DW)))
        st = FN(dw_dw_)(p, io->dy, io->x, io->dw, io->stop);
    return st;
}
#undef CHUNK
