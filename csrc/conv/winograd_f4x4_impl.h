/* conv/winograd_f4x4_impl.h — Winograd F(4×4, 3×3), for one element type (dtype.h);
 * included twice by winograd_f4x4.c.
 *
 * Names made, per dtype (f32, f64): dlk_conv_winograd_f4x4_run_f32; static:
 * wino4_filter_f32, wino4_input_f32, wino4_output_f32, wino4_buf_f32,
 * conv2d_winograd4_f32.
 *
 * 6×6 input patches at a stride of 4 give 4×4 outputs: 36 products of C × n and O × C
 * per 16 outputs, against F(2×2, 3×3)'s 16 per 4: 1.78× fewer multiplications, for
 * transforms with more terms.  Forward pass (and so dX) only.  Matrices as in Lavin
 * and Gray (2016), interpolation points 0, ±1, ±2. */
#define SPREAD(m) dlk_conv_spread((m), (int64_t)sizeof(T))


/* U[ξ·ust + o·C + c] = (G g Gᵀ)_ξ, ξ = 0…35, computed in double. */
static void FN(wino4_filter_)(const dlk_conv_shape *s, const T *w, T *U, int64_t ust)
{
    static const double G[6][3] = {{0.25, 0, 0}, {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                   {-1.0 / 6, 1.0 / 6, -1.0 / 6}, {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                   {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};
    const int64_t OC = s->O * s->C;
    for (int64_t q = 0; q < OC; q++) {
        const T *g = w + q * 9;
        double t[6][3];
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 3; j++)
                t[i][j] = G[i][0] * g[j] + G[i][1] * g[3 + j] + G[i][2] * g[6 + j];
        for (int i = 0; i < 6; i++)
            for (int k = 0; k < 6; k++)
                U[(i * 6 + k) * ust + q] = (T)(t[i][0] * G[k][0] + t[i][1] * G[k][1] +
                                              t[i][2] * G[k][2]);
    }
}

/* o_i = (Bᵀ d)_i for six arrays d0…d5 at lane q. */
#define WINO4_BT(o, os, d0, d1, d2, d3, d4, d5, q)                                    \
    do {                                                                              \
        T d0_ = (d0)[q], d1_ = (d1)[q], d2_ = (d2)[q], d3_ = (d3)[q], d4_ = (d4)[q];  \
        T d5_ = (d5)[q];                                                              \
        (o)[q] = 4 * d0_ - 5 * d2_ + d4_;                                             \
        (o)[(os) + (q)] = d4_ + d3_ - 4 * (d1_ + d2_);                                \
        (o)[2 * (os) + (q)] = d4_ - d3_ + 4 * (d1_ - d2_);                            \
        (o)[3 * (os) + (q)] = d4_ - d2_ + 2 * (d3_ - d1_);                            \
        (o)[4 * (os) + (q)] = d4_ - d2_ + 2 * (d1_ - d3_);                            \
        (o)[5 * (os) + (q)] = 4 * d1_ - 5 * d3_ + d5_;                                \
    } while (0)

/* V[ξ·vst + c·n + q] = (Bᵀ d B)_ξ for tile rows [th0, th1) of sample xb: tile q =
 * (tr − th0)·pl + tc, pl = tw + 1 (a spare tile a row, so that a block's tiles are one
 * vector loop however narrow the plane).  Each patch row is split by column mod 4
 * (P[r][phase][(tr − th0)·pl + k] = padded column 4k + phase), so that column e of
 * every tile is one contiguous array: phase e mod 4, from e / 4.  buf: wino4_buf_. */
DLK_CLONES static void FN(wino4_input_)(const dlk_conv_shape *s, const T *DLK_RESTRICT xb,
                                        int64_t th0, int64_t th1, int64_t pl,
                                        T *DLK_RESTRICT V, int64_t vst, int64_t n,
                                        T *DLK_RESTRICT buf)
{
    const int64_t nq = (th1 - th0) * pl, L = nq + 1;
    /* P: 24 phase arrays; t[i][e][q] = (Bᵀ d)_i of column e; prow: one padded row */
    T *P = buf, *t = buf + 24 * L, *prow = t + 36 * nq;
    const int64_t lo = s->pw, hi = s->W + s->pw < 4 * pl ? s->W + s->pw : 4 * pl;
    for (int64_t k = 0; k < 4 * pl; k++) prow[k] = 0;
    for (int64_t k = 0; k < 24; k++) P[k * L + nq] = 0;
    for (int64_t c = 0; c < s->C; c++) {
        for (int64_t tr = th0; tr < th1; tr++)
            for (int64_t r = 0; r < 6; r++) {
                int64_t ih = 4 * tr - s->ph + r;
                T *d0 = P + r * 4 * L + (tr - th0) * pl, *d1 = d0 + L, *d2 = d1 + L, *d3 = d2 + L;
                if (ih < 0 || ih >= s->H) {
                    for (int64_t k = 0; k < pl; k++) d0[k] = d1[k] = d2[k] = d3[k] = 0;
                    continue;
                }
                /* the row at its padded place (the zeros around it stay), then split */
                memcpy(prow + lo, xb + (c * s->H + ih) * s->W, (size_t)(hi - lo) * sizeof(T));
#pragma omp simd
                for (int64_t k = 0; k < pl; k++) {
                    d0[k] = prow[4 * k];
                    d1[k] = prow[4 * k + 1];
                    d2[k] = prow[4 * k + 2];
                    d3[k] = prow[4 * k + 3];
                }
            }
        for (int e = 0; e < 6; e++) {
            const T *d[6];
            for (int r = 0; r < 6; r++) d[r] = P + (r * 4 + e % 4) * L + e / 4;
            T *o = t + e * nq;
#pragma omp simd
            for (int64_t q = 0; q < nq; q++)
                WINO4_BT(o, 6 * nq, d[0], d[1], d[2], d[3], d[4], d[5], q);
        }
        T *v = V + c * n;
        for (int i = 0; i < 6; i++) {
            const T *ti = t + i * 6 * nq;
#pragma omp simd
            for (int64_t q = 0; q < nq; q++)
                WINO4_BT(v + i * 6 * vst, vst, ti, ti + nq, ti + 2 * nq, ti + 3 * nq,
                         ti + 4 * nq, ti + 5 * nq, q);
        }
    }
}

/* y (+ bias) of tile rows [th0, th1) of sample yb from M[ξ·mst + o·n + q] = Σ_c U·V
 * (tiles as for wino4_input_): Aᵀ m A per tile; outputs past Ho or Wo dropped. */
DLK_CLONES static void FN(wino4_output_)(const dlk_conv_shape *s, const T *DLK_RESTRICT M,
                                         int64_t mst, int64_t n, const T *b,
                                         T *DLK_RESTRICT yb, int64_t th0, int64_t th1,
                                         int64_t pl, T *DLK_RESTRICT buf)
{
    const int64_t plane = s->Ho * s->Wo, nq = (th1 - th0) * pl, full = s->Wo / 4;
    T *t = buf, *Y = buf + 24 * nq;             /* t[i][j][q] = (Aᵀ m)_i, Y[i][l][q] */
    for (int64_t o = 0; o < s->O; o++) {
        T bo = b ? b[o] : (T)0;
        const T *m = M + o * n;
        for (int j = 0; j < 6; j++) {
            const T *m0 = m + j * mst, *m1 = m0 + 6 * mst, *m2 = m1 + 6 * mst;
            const T *m3 = m2 + 6 * mst, *m4 = m3 + 6 * mst, *m5 = m4 + 6 * mst;
            T *tj = t + j * nq;
#pragma omp simd
            for (int64_t q = 0; q < nq; q++) {
                T a = m1[q] + m2[q], d = m1[q] - m2[q], e = m3[q] + m4[q], f = m3[q] - m4[q];
                tj[q] = m0[q] + a + e;
                tj[6 * nq + q] = d + 2 * f;
                tj[12 * nq + q] = a + 4 * e;
                tj[18 * nq + q] = d + 8 * f + m5[q];
            }
        }
        for (int i = 0; i < 4; i++) {
            const T *ti = t + i * 6 * nq;
            T *yi = Y + i * 4 * nq;
#pragma omp simd
            for (int64_t q = 0; q < nq; q++) {
                T a = ti[nq + q] + ti[2 * nq + q], d = ti[nq + q] - ti[2 * nq + q];
                T e = ti[3 * nq + q] + ti[4 * nq + q], f = ti[3 * nq + q] - ti[4 * nq + q];
                yi[q] = ti[q] + a + e + bo;
                yi[nq + q] = d + 2 * f + bo;
                yi[2 * nq + q] = a + 4 * e + bo;
                yi[3 * nq + q] = d + 8 * f + ti[5 * nq + q] + bo;
            }
        }
        for (int64_t tr = th0; tr < th1; tr++)
            for (int64_t i = 0; i < 4 && 4 * tr + i < s->Ho; i++) {
                T *dst = yb + o * plane + (4 * tr + i) * s->Wo;
                const T *y0 = Y + i * 4 * nq + (tr - th0) * pl, *y1 = y0 + nq, *y2 = y1 + nq;
                const T *y3 = y2 + nq;
#pragma omp simd
                for (int64_t q = 0; q < full; q++) {
                    dst[4 * q] = y0[q];
                    dst[4 * q + 1] = y1[q];
                    dst[4 * q + 2] = y2[q];
                    dst[4 * q + 3] = y3[q];
                }
                for (int64_t ow = 4 * full; ow < s->Wo; ow++)
                    dst[ow] = y0[(ow & 3) * nq + full];
            }
    }
}

/* Elements of the transforms' buffer for blocks of `rows` tile rows of pl tiles. */
static int64_t FN(wino4_buf_)(int64_t rows, int64_t pl)
{
    int64_t in = 24 * (rows * pl + 1) + 36 * rows * pl + 4 * pl, out = 40 * rows * pl;
    return in > out ? in : out;
}

/* The forward pass through F(4×4, 3×3): items (nb samples, block of `rows` tile
 * rows), one set of 36 products each. */
static int FN(conv2d_winograd4_)(const dlk_conv_shape *s, const T *x, const T *w, const T *b,
                                 T *y, int64_t nb, int64_t rows, const dlk_stop_flag *stop,
                                 int nthreads)
{
    const int64_t C = s->C, O = s->O, pl = (s->Wo + 3) / 4 + 1, th_n = (s->Ho + 3) / 4;
    const int64_t blocks = (th_n + rows - 1) / rows, groups = (s->B + nb - 1) / nb;
    const int64_t items = groups * blocks, sample_in = C * s->H * s->W;
    const int64_t sample_out = O * s->Ho * s->Wo;
    const int64_t nmax = nb * rows * pl, vst = SPREAD(C * nmax), mst = SPREAD(O * nmax);
    /* U_ξ apart by ust: O·C is often a multiple of 4 KB, whose 36 streams would share
     * one cache set */
    const int64_t ust = SPREAD(O * C);
    const int64_t per_thread = 36 * (vst + mst) + FN(wino4_buf_)(rows, pl);
    const int64_t nt = nthreads < 1 ? 1 : nthreads;
    int outer = items >= nt ? (int)nt : 1;
    int inner = outer > 1 ? 1 : (int)nt, status = DLK_OK;
    T *ws = dlk_scratch_take((size_t)(36 * ust + outer * per_thread) * sizeof(T));
    if (!ws) return DLK_ENOMEM;
    T *U = ws;
    FN(wino4_filter_)(s, w, U, ust);
#pragma omp parallel num_threads(outer) if (outer > 1)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        T *V = ws + 36 * ust + (int64_t)t * per_thread, *M = V + 36 * vst, *buf = M + 36 * mst;
#pragma omp for schedule(static)
        for (int64_t it = 0; it < items; it++) {
            if (DLK_STOPPED(stop)) continue;
            int64_t b0 = it / blocks * nb, cnt = b0 + nb <= s->B ? nb : s->B - b0;
            int64_t th0 = it % blocks * rows, th1 = th0 + rows < th_n ? th0 + rows : th_n;
            int64_t tps = (th1 - th0) * pl, n = cnt * tps;
            for (int64_t j = 0; j < cnt; j++)
                FN(wino4_input_)(s, x + (b0 + j) * sample_in, th0, th1, pl, V + j * tps, vst,
                                 n, buf);
            for (int xi = 0; xi < 36; xi++) {
                int st = GEMM(0, 0, O, n, C, (T)1, U + xi * ust, C, V + xi * vst, n, (T)0,
                              M + xi * mst, n, inner);
                if (st != DLK_OK) status = st;
            }
            for (int64_t j = 0; j < cnt; j++)
                FN(wino4_output_)(s, M + j * tps, mst, n, b, y + (b0 + j) * sample_out, th0,
                                  th1, pl, buf);
        }
    }
    dlk_scratch_give(ws);
    return DLK_STOPPED(stop) ? DLK_EINTR : status;
}

/* The forward pass, and dX as the forward pass of the flipped filters. */
int FN(dlk_conv_winograd_f4x4_run_)(const dlk_conv_problem *p, unsigned passes,
                                    const dlk_conv_blocking *blk, const dlk_conv_io *io)
{
    const dlk_conv_shape *s = &p->s;
    if (passes & (1u << DLK_CONV_FORWARD))
        return FN(conv2d_winograd4_)(s, io->x, io->w, io->b, io->y, blk[DLK_CONV_FORWARD].nb,
                                     blk[DLK_CONV_FORWARD].rows, io->stop, p->nthreads);
    if (passes & (1u << DLK_CONV_DX)) {
        dlk_conv_shape t = dlk_conv_dx_shape(s);
        T *wt = FN(dlk_conv_flip3x3_)(s, io->w);
        if (!wt) return DLK_ENOMEM;
        int st = FN(conv2d_winograd4_)(&t, io->dy, wt, NULL, io->dx, blk[DLK_CONV_DX].nb,
                                       blk[DLK_CONV_DX].rows, io->stop, p->nthreads);
        free(wt);
        return st;
    }
    return DLK_OK;
}
#undef SPREAD
#undef WINO4_BT
