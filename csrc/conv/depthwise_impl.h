/* conv/depthwise_impl.h — the depthwise loops, for one element type (dtype.h); included
 * twice by depthwise.c.
 *
 * Every plane is first copied into a zero-padded buffer xp (Hp × Wp, exactly the rows
 * and columns the output reaches), so no loop tests bounds.  At stride 1 each kernel
 * tap is then one vector loop over the whole plane: output position (oh, ow) sits at
 * oh·Wp + ow of a buffer of pitch Wp (the columns past Wo are scratch), so tap (i, j)
 * adds w · xp[k + i·dil_h·Wp + j·dil_w] for k over (Ho − 1)·Wp + Wo positions — a 7×7
 * plane is 9 loops of 61 values, not 63 of 7 (stride 1 only: depthwise.c).
 *
 * Threads: the forward pass and dX own output and input planes; dW owns filters, each
 * summed over samples in order in double (the same bits at any thread count).
 *
 * Names made, per dtype (f32, f64): dlk_conv_depthwise_run_f32; static: dw_geom_f32,
 * dw_pad_f32, dw_pitch_f32, dw_taps_f32, dw_forward_f32, dw_dx_f32, dw_dw_f32. */

static dw_geom FN(dw_geom_)(const dlk_conv_shape *s)
{
    dw_geom g;
    g.Hp = (s->Ho - 1) * s->sh + s->dil_h * (s->kh - 1) + 1;
    g.Wp = (s->Wo - 1) * s->sw + s->dil_w * (s->kw - 1) + 1;
    g.L = (s->Ho - 1) * g.Wp + s->Wo;
    g.m = s->O / s->C;
    return g;
}

/* xp (Hp × Wp) = the plane x (H × W) shifted by the padding, 0 elsewhere */
static void FN(dw_pad_)(const dlk_conv_shape *s, const dw_geom *g, const T *x, T *xp)
{
    for (int64_t r = 0; r < g->Hp; r++) {
        T *row = xp + r * g->Wp;
        const int64_t h = r - s->ph;
        if (h < 0 || h >= s->H) {
            memset(row, 0, (size_t)g->Wp * sizeof(T));
            continue;
        }
        const int64_t c0 = s->pw < g->Wp ? s->pw : g->Wp;
        const int64_t c1 = s->pw + s->W < g->Wp ? s->pw + s->W : g->Wp;
        const T *in = x + h * s->W - s->pw;
        /* loops, not memcpy: the calls cost more than a small plane's rows */
        for (int64_t c = 0; c < c0; c++) row[c] = 0;
#pragma omp simd
        for (int64_t c = c0; c < c1; c++) row[c] = in[c];
        for (int64_t c = c1 > c0 ? c1 : c0; c < g->Wp; c++) row[c] = 0;
    }
}

/* dyp (pitch Wp) = the plane dy (Ho × Wo), 0 in the columns between its rows */
static void FN(dw_pitch_)(const dlk_conv_shape *s, const dw_geom *g, const T *dy, T *dyp)
{
    for (int64_t oh = 0; oh < s->Ho; oh++) {
        const T *src = dy + oh * s->Wo;
        T *dst = dyp + oh * g->Wp;
#pragma omp simd
        for (int64_t ow = 0; ow < s->Wo; ow++) dst[ow] = src[ow];
        for (int64_t k = s->Wo; k < g->Wp && oh + 1 < s->Ho; k++) dst[k] = 0;
    }
}

/* acc (pitch Wp) = bias + Σ over taps of w[i, j] · xp at the tap */
DLK_CLONES static void FN(dw_taps_)(const dlk_conv_shape *s, const dw_geom *g,
                                    const T *DLK_RESTRICT xp, const T *DLK_RESTRICT w,
                                    T bias, T *DLK_RESTRICT acc)
{
    const int64_t Wp = g->Wp;
    for (int64_t k = 0; k < g->L; k++) acc[k] = bias;
    for (int64_t i = 0; i < s->kh; i++)
        for (int64_t j = 0; j < s->kw; j++) {
            const T wt = w[i * s->kw + j];
            const T *in = xp + i * s->dil_h * Wp + j * s->dil_w;
#pragma omp simd
            for (int64_t k = 0; k < g->L; k++) acc[k] += wt * in[k];
        }
}

static int FN(dw_forward_)(const dlk_conv_problem *p, const T *x, const T *w, const T *b,
                           T *y, const dlk_stop_flag *stop)
{
    const dlk_conv_shape *s = &p->s;
    const dw_geom g = FN(dw_geom_)(s);
    const int64_t plane_in = s->H * s->W, plane_out = s->Ho * s->Wo, taps = s->kh * s->kw;
    const int64_t per_thread = 2 * g.Hp * g.Wp;   /* xp, acc */
    const int nt = dlk_threads_for(s->B * s->O * plane_out * taps, 1 << 15, p->nthreads);
    T *ws = dlk_scratch_take((size_t)(nt * per_thread) * sizeof(T));
    if (!ws) return DLK_ENOMEM;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        T *xp = ws + t * per_thread, *acc = xp + g.Hp * g.Wp;
#pragma omp for schedule(static)
        for (int64_t bc = 0; bc < s->B * s->C; bc++) {
            if (DLK_STOPPED(stop)) continue;
            const int64_t bi = bc / s->C, c = bc % s->C;
            FN(dw_pad_)(s, &g, x + bc * plane_in, xp);
            for (int64_t q = 0; q < g.m; q++) {
                const int64_t o = c * g.m + q;
                T *yo = y + (bi * s->O + o) * plane_out;
                FN(dw_taps_)(s, &g, xp, w + o * taps, b ? b[o] : (T)0, acc);
                for (int64_t oh = 0; oh < s->Ho; oh++) {
                    const T *src = acc + oh * g.Wp;
                    T *dst = yo + oh * s->Wo;
#pragma omp simd
                    for (int64_t ow = 0; ow < s->Wo; ow++) dst[ow] = src[ow];
                }
            }
        }
    }
    dlk_scratch_give(ws);
    return DLK_STOPPED(stop) ? DLK_EINTR : DLK_OK;
}

/* dX: the adjoint of dw_taps_, into a padded plane, then the part over x cut out */
static int FN(dw_dx_)(const dlk_conv_problem *p, const T *dy, const T *w, T *dx,
                      const dlk_stop_flag *stop)
{
    const dlk_conv_shape *s = &p->s;
    const dw_geom g = FN(dw_geom_)(s);
    const int64_t plane_in = s->H * s->W, plane_out = s->Ho * s->Wo, taps = s->kh * s->kw;
    const int64_t per_thread = 2 * g.Hp * g.Wp;   /* dxp, dy on pitch Wp */
    const int nt = dlk_threads_for(s->B * s->O * plane_out * taps, 1 << 15, p->nthreads);
    T *ws = dlk_scratch_take((size_t)(nt * per_thread) * sizeof(T));
    if (!ws) return DLK_ENOMEM;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        T *dxp = ws + t * per_thread, *dyp = dxp + g.Hp * g.Wp;
        const int64_t Wp = g.Wp;
#pragma omp for schedule(static)
        for (int64_t bc = 0; bc < s->B * s->C; bc++) {
            if (DLK_STOPPED(stop)) continue;
            const int64_t bi = bc / s->C, c = bc % s->C;
            memset(dxp, 0, (size_t)(g.Hp * Wp) * sizeof(T));
            for (int64_t q = 0; q < g.m; q++) {
                const int64_t o = c * g.m + q;
                const T *dyo = dy + (bi * s->O + o) * plane_out, *wo = w + o * taps;
                FN(dw_pitch_)(s, &g, dyo, dyp);
                for (int64_t i = 0; i < s->kh; i++)
                    for (int64_t j = 0; j < s->kw; j++) {
                        const T wt = wo[i * s->kw + j];
                        T *out = dxp + i * s->dil_h * Wp + j * s->dil_w;
#pragma omp simd
                        for (int64_t k = 0; k < g.L; k++) out[k] += wt * dyp[k];
                    }
            }
            T *dxc = dx + bc * plane_in;   /* the rows and columns of x, 0 where no tap reached */
            for (int64_t h = 0; h < s->H; h++) {
                const int64_t r = h + s->ph;
                for (int64_t wc = 0; wc < s->W; wc++) {
                    const int64_t col = wc + s->pw;
                    dxc[h * s->W + wc] = r < g.Hp && col < Wp ? dxp[r * Wp + col] : (T)0;
                }
            }
        }
    }
    dlk_scratch_give(ws);
    return DLK_STOPPED(stop) ? DLK_EINTR : DLK_OK;
}

/* dW[o, i, j] = Σ_b Σ_(oh, ow) dY[b, o, oh, ow] · xp_b[tap (i, j) at (oh, ow)]: each
 * filter's taps summed over the samples in order (a sample's sum in T, vector-wide) */
static int FN(dw_dw_)(const dlk_conv_problem *p, const T *dy, const T *x, T *dw,
                      const dlk_stop_flag *stop)
{
    const dlk_conv_shape *s = &p->s;
    const dw_geom g = FN(dw_geom_)(s);
    const int64_t plane_in = s->H * s->W, plane_out = s->Ho * s->Wo, taps = s->kh * s->kw;
    const int64_t per_thread = 2 * g.Hp * g.Wp + taps * (int64_t)(sizeof(double) / sizeof(T));
    const int nt = dlk_threads_for(s->B * s->O * plane_out * taps, 1 << 15, p->nthreads);
    T *ws = dlk_scratch_take((size_t)(nt * per_thread) * sizeof(T));
    if (!ws) return DLK_ENOMEM;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        T *xp = ws + t * per_thread, *dyp = xp + g.Hp * g.Wp;
        double *accd = (double *)(dyp + g.Hp * g.Wp);
        const int64_t Wp = g.Wp;
#pragma omp for schedule(static)
        for (int64_t o = 0; o < s->O; o++) {
            const int64_t c = o / g.m;
            for (int64_t k = 0; k < taps; k++) accd[k] = 0;
            for (int64_t bi = 0; bi < s->B && !DLK_STOPPED(stop); bi++) {
                FN(dw_pad_)(s, &g, x + (bi * s->C + c) * plane_in, xp);
                FN(dw_pitch_)(s, &g, dy + (bi * s->O + o) * plane_out, dyp);
                for (int64_t i = 0; i < s->kh; i++)
                    for (int64_t j = 0; j < s->kw; j++) {
                        T sum = 0;
                        const T *in = xp + i * s->dil_h * Wp + j * s->dil_w;
#pragma omp simd reduction(+:sum)
                        for (int64_t k = 0; k < g.L; k++) sum += dyp[k] * in[k];
                        accd[i * s->kw + j] += (double)sum;
                    }
            }
            for (int64_t k = 0; k < taps; k++) dw[o * taps + k] = (T)accd[k];
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
