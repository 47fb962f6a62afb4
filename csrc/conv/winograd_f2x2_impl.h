/* conv/winograd_f2x2_impl.h — Winograd F(2×2, 3×3) for 3×3 stride-1 convolutions
 * (Lavin and Gray, 2016), for one element type (dtype.h); included twice by
 * winograd_f2x2.c.
 *
 * Names made, per dtype (f32, f64): dlk_conv_winograd_f2x2_run_f32, dlk_conv_flip3x3_f32;
 * static: wino_filter_f32, split_rows_f32, wino_input_f32, wino_tables_f32,
 * wino_input_small_f32, wino_output_small_f32, wino_output_f32, wino_grad_output_f32,
 * wino_grad_filter_f32, conv2d_winograd_f32.
 *
 * A 2×2 block of outputs is Aᵀ[(G g Gᵀ) ∘ (Bᵀ d B)]A for the 4×4 input patch d and
 * the 3×3 filter g: 16 multiplications instead of 36.  Summed over the channels the
 * 16 element-wise products are 16 GEMMs, M_ξ (O × tiles) = U_ξ (O × C) · V_ξ (C × tiles),
 * over the tiles (b, th, tw) of a chunk of whole samples. */

#define SPREAD(m) dlk_conv_spread((m), (int64_t)sizeof(T))
/* the AVX-512 transforms of small planes exist for float only */
#if defined(DLK_HAVE_AVX512_LOOPS) && !DLK_F64
#define WINO_AVX512 1
#else
#define WINO_AVX512 0
#endif

/* U[ξ][o][c] = (G g Gᵀ)_ξ, G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]. */
static void FN(wino_filter_)(const dlk_conv_shape *s, const T *w, T *U)
{
    const int64_t O = s->O, C = s->C;
    for (int64_t o = 0; o < O; o++)
        for (int64_t c = 0; c < C; c++) {
            const T *g = w + (o * C + c) * 9;
            T t[4][3], u[4][4];
            for (int j = 0; j < 3; j++) {
                t[0][j] = g[j];
                t[1][j] = (g[j] + g[3 + j] + g[6 + j]) * (T)0.5;
                t[2][j] = (g[j] - g[3 + j] + g[6 + j]) * (T)0.5;
                t[3][j] = g[6 + j];
            }
            for (int i = 0; i < 4; i++) {
                u[i][0] = t[i][0];
                u[i][1] = (t[i][0] + t[i][1] + t[i][2]) * (T)0.5;
                u[i][2] = (t[i][0] - t[i][1] + t[i][2]) * (T)0.5;
                u[i][3] = t[i][2];
            }
            for (int xi = 0; xi < 16; xi++) U[(xi * O + o) * C + c] = u[xi / 4][xi % 4];
        }
}

/* Rows h0 … h0 + R − 1 of a plane (H × W) into a buffer whose border is already 0: row
 * r goes to (r even ? even : odd) + (r / 2)·stride + off, cnt values; rows outside
 * the plane stay 0.  The Winograd transforms' padded planes, whole (odd = even + L,
 * stride 2L) or with their even and odd rows apart (stride L). */
static void FN(split_rows_)(const T *src, int64_t H, int64_t W, int64_t h0, int64_t R,
                            int64_t off, int64_t cnt, T *even, T *odd, int64_t stride)
{
    for (int64_t r = 0; r < R; r++) {
        int64_t h = h0 + r;
        if (h >= 0 && h < H)
            memcpy((r & 1 ? odd : even) + (r / 2) * stride + off, src + h * W,
                   (size_t)cnt * sizeof(T));
    }
}

/* V[ξ][c][q] = (Bᵀ d B)_ξ for tile rows [th0, th1) of samples [b0, b0 + nb),
 * q = (b − b0, th − th0, tw);
 * Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1].  The patch of tile (th, tw) starts at
 * (2th − ph, 2tw − pw), 0 outside: each plane's rows are copied into a buffer whose
 * border is zeroed once per call, Bᵀ is applied down whole rows, then B across each
 * tile's four columns. */
DLK_CLONES static void FN(wino_input_)(const dlk_conv_shape *s, const T *DLK_RESTRICT x,
                                       int64_t b0, int64_t nb, int64_t th0, int64_t th1,
                                       T *DLK_RESTRICT V, int64_t st, T *DLK_RESTRICT pad)
{
    const int64_t C = s->C, H = s->H, W = s->W;
    const int64_t tw_n = (s->Wo + 1) / 2, tps = (th1 - th0) * tw_n;
    const int64_t n = nb * tps, L = 2 * tw_n + 2, R = 2 * (th1 - th0) + 2;
    const int64_t in = W < L - s->pw ? W : L - s->pw;    /* as much as the tiles read */
    T *m = pad + R * L;                                   /* 4 rows of Bᵀ d */
    memset(pad, 0, (size_t)(R * L) * sizeof(T));
    for (int64_t j = 0; j < nb; j++)
        for (int64_t c = 0; c < C; c++) {
            /* padded rows 2·th0 … 2·th1 + 1 */
            FN(split_rows_)(x + ((b0 + j) * C + c) * H * W, H, W, 2 * th0 - s->ph, R, s->pw,
                            in, pad, pad + L, 2 * L);
            for (int64_t th = 0; th < th1 - th0; th++) {
                const T *d0 = pad + 2 * th * L, *d1 = d0 + L, *d2 = d1 + L, *d3 = d2 + L;
                T *m0 = m, *m1 = m + L, *m2 = m + 2 * L, *m3 = m + 3 * L;
#pragma omp simd
                for (int64_t k = 0; k < L; k++) {
                    m0[k] = d0[k] - d2[k];
                    m1[k] = d1[k] + d2[k];
                    m2[k] = d2[k] - d1[k];
                    m3[k] = d1[k] - d3[k];
                }
                const int64_t q0 = j * tps + th * tw_n;
                for (int i = 0; i < 4; i++) {
                    const T *mi = m + i * L;
                    T *v0 = V + (4 * i) * st + c * n + q0, *v1 = v0 + st;
                    T *v2 = v1 + st, *v3 = v2 + st;
#pragma omp simd
                    for (int64_t tw = 0; tw < tw_n; tw++) {
                        T a = mi[2 * tw], e = mi[2 * tw + 1], f = mi[2 * tw + 2];
                        T g = mi[2 * tw + 3];
                        v0[tw] = a - f;
                        v1[tw] = e + f;
                        v2[tw] = f - e;
                        v3[tw] = e - g;
                    }
                }
            }
        }
}

/* Small planes, where a tile row is shorter than a vector: both transforms run over
 * all the tiles of one plane in one loop, through tables made once per chunk.  From 5
 * tiles a row (WINO_SPARE) the tiles are laid out with one spare tile per row,
 * tw_q = tw_n + 1 (WINO_TILE_ROW): tile q's patch then starts at 2q in rows of
 * 2·tw_q, the padded plane's width, and the input transform is one vector loop.  The
 * spare tiles cost 1/tw_n more product work (on 8×8 planes more than the vector loop
 * saved); their outputs are dropped and their dY is 0.
 * at[q] (without spare tiles): where tile q's patch starts in those rows; out[a·tps + q]:
 * output offset of tile q's corner a = (r, k) of its 2×2 block, −1 past Ho or Wo
 * (spare tiles included).  The arithmetic is that of wino_input_ and wino_output_. */
static void FN(wino_tables_)(const dlk_conv_shape *s, int64_t th0, int64_t th1,
                             int32_t *at, int32_t *out)
{
    const int64_t tw_q = WINO_TILE_ROW(s), tps = (th1 - th0) * tw_q;
    const int64_t L = 2 * ((s->Wo + 1) / 2) + 2;
    for (int64_t q = 0; q < tps; q++) {
        int64_t th = th0 + q / tw_q, tw = q % tw_q;
        if (at) at[q] = (int32_t)((th - th0) * L + 2 * tw);
        for (int a = 0; a < 4; a++) {
            int64_t h = 2 * th + a / 2, w = 2 * tw + a % 2;
            out[a * tps + q] = h < s->Ho && w < s->Wo ? (int32_t)(h * s->Wo + w) : -1;
        }
    }
}

/* (Bᵀ d B)_ξ of the patch whose rows are the arrays d0…d3, stored at v[ξ·st + q]. */
#define WINO_IN_TILE(v, st, q, d0, d1, d2, d3)                                        \
    do {                                                                              \
        T m_[16];                                                                     \
        for (int k = 0; k < 4; k++) {                              /* Bᵀ d */         \
            m_[k] = d0[k] - d2[k];                                                    \
            m_[4 + k] = d1[k] + d2[k];                                                \
            m_[8 + k] = d2[k] - d1[k];                                                \
            m_[12 + k] = d1[k] - d3[k];                                               \
        }                                                                             \
        for (int i = 0; i < 4; i++) {                              /* (Bᵀ d) B */     \
            v[(4 * i) * (st) + (q)] = m_[4 * i] - m_[4 * i + 2];                      \
            v[(4 * i + 1) * (st) + (q)] = m_[4 * i + 1] + m_[4 * i + 2];              \
            v[(4 * i + 2) * (st) + (q)] = m_[4 * i + 2] - m_[4 * i + 1];              \
            v[(4 * i + 3) * (st) + (q)] = m_[4 * i + 1] - m_[4 * i + 3];              \
        }                                                                             \
    } while (0)

/* The padded plane's even and odd rows go to `pad` apart (E and D, rows of
 * L = 2·tw_n + 2, zeroed once per call: only the plane's own pixels are copied in), so
 * that rows 0…3 of a patch at offset a are E, D, E + L, D + L at a; with spare tiles
 * a = 2q, unit-stride pairs that GCC vectorises (written with array temporaries:
 * through pointers it did not). */
DLK_CLONES static void FN(wino_input_small_)(const dlk_conv_shape *s, const T *DLK_RESTRICT x,
                                             int64_t b0, int64_t nb, int64_t th0,
                                             int64_t th1, const int32_t *DLK_RESTRICT at,
                                             T *DLK_RESTRICT V, int64_t st,
                                             T *DLK_RESTRICT pad)
{
    const int64_t C = s->C, H = s->H, W = s->W, tw_q = WINO_TILE_ROW(s);
#if WINO_AVX512
    if (WINO_INPUT_8X8(s, th0, th1)) {
        dlk_conv_wino_input_8x8_avx512_f32(x, C, b0, nb, V, st);
        return;
    }
#endif
    const int64_t nr = th1 - th0, tps = nr * tw_q, n = nb * tps;
    const int64_t L = 2 * ((s->Wo + 1) / 2) + 2, R = 2 * nr + 2, half = (nr + 1) * L + 2;
    const int64_t in = W < L - s->pw ? W : L - s->pw;           /* columns copied */
    T *E = pad, *D = pad + half;            /* +2: the last spare tile reads 2 past */
    memset(pad, 0, (size_t)(2 * half) * sizeof(T));
    for (int64_t j = 0; j < nb; j++)
        for (int64_t c = 0; c < C; c++) {
            FN(split_rows_)(x + ((b0 + j) * C + c) * H * W, H, W, 2 * th0 - s->ph, R, s->pw,
                            in, E, D, L);
            T *v = V + c * n + j * tps;
            if (WINO_SPARE(s)) {
                const T *E2 = E + 2, *D2 = D + 2, *EL = E + L, *DL = D + L;
                const T *EL2 = EL + 2, *DL2 = DL + 2;
#pragma omp simd
                for (int64_t q = 0; q < tps; q++) {
                    T d0[4] = {E[2 * q], E[2 * q + 1], E2[2 * q], E2[2 * q + 1]};
                    T d1[4] = {D[2 * q], D[2 * q + 1], D2[2 * q], D2[2 * q + 1]};
                    T d2[4] = {EL[2 * q], EL[2 * q + 1], EL2[2 * q], EL2[2 * q + 1]};
                    T d3[4] = {DL[2 * q], DL[2 * q + 1], DL2[2 * q], DL2[2 * q + 1]};
                    WINO_IN_TILE(v, st, q, d0, d1, d2, d3);
                }
            } else {
                for (int64_t q = 0; q < tps; q++) {
                    const T *e = E + at[q], *d = D + at[q];
                    const T *d0 = e, *d1 = d, *d2 = e + L, *d3 = d + L;
                    WINO_IN_TILE(v, st, q, d0, d1, d2, d3);
                }
            }
        }
}
#undef WINO_IN_TILE

DLK_CLONES static void FN(wino_output_small_)(const dlk_conv_shape *s, const T *DLK_RESTRICT M,
                                              const T *b, int64_t b0, int64_t nb, int64_t tps,
                                              const int32_t *DLK_RESTRICT out,
                                              T *DLK_RESTRICT y, int64_t st)
{
    const int64_t O = s->O, n = nb * tps;
    for (int64_t j = 0; j < nb; j++)
        for (int64_t o = 0; o < O; o++) {
            const T *mo = M + o * n + j * tps;
            T bo = b ? b[o] : (T)0, *yo = y + ((b0 + j) * O + o) * s->Ho * s->Wo;
#pragma omp simd
            for (int64_t q = 0; q < tps; q++) {
                T m[16], u0[4], u1[4], r[4];
                for (int xi = 0; xi < 16; xi++) m[xi] = mo[xi * st + q];
                for (int k = 0; k < 4; k++) {
                    u0[k] = m[k] + m[4 + k] + m[8 + k];
                    u1[k] = m[4 + k] - m[8 + k] - m[12 + k];
                }
                r[0] = u0[0] + u0[1] + u0[2] + bo;
                r[1] = u0[1] - u0[2] - u0[3] + bo;
                r[2] = u1[0] + u1[1] + u1[2] + bo;
                r[3] = u1[1] - u1[2] - u1[3] + bo;
                for (int a = 0; a < 4; a++) {
                    int32_t at = out[a * tps + q];
                    if (at >= 0) yo[at] = r[a];
                }
            }
        }
}

/* y of tile rows [th0, th1) of samples [b0, b0 + nb) = Aᵀ m A + bias per tile, from
 * M[ξ][o][q];
 * Aᵀ = [1 1 1 0; 0 1 −1 −1]; outputs past Ho or Wo (odd sizes) are dropped.  `tmp`
 * holds the four outputs of every tile of one sample. */
DLK_CLONES static void FN(wino_output_)(const dlk_conv_shape *s, const T *DLK_RESTRICT M,
                                        int64_t st, const T *b, int64_t b0, int64_t nb,
                                        int64_t th0, int64_t th1, T *DLK_RESTRICT y,
                                        T *DLK_RESTRICT tmp)
{
    const int64_t O = s->O, Ho = s->Ho, Wo = s->Wo;
    const int64_t tw_n = (Wo + 1) / 2, tps = (th1 - th0) * tw_n, n = nb * tps;
    T *y00 = tmp, *y01 = tmp + tps, *y10 = tmp + 2 * tps, *y11 = tmp + 3 * tps;
    for (int64_t j = 0; j < nb; j++)
        for (int64_t o = 0; o < O; o++) {
            const T *mo = M + o * n + j * tps;
            T bo = b ? b[o] : (T)0;
#pragma omp simd
            for (int64_t q = 0; q < tps; q++) {
                T m[16];
                for (int xi = 0; xi < 16; xi++) m[xi] = mo[xi * st + q];
                T u0[4], u1[4];
                for (int k = 0; k < 4; k++) {
                    u0[k] = m[k] + m[4 + k] + m[8 + k];
                    u1[k] = m[4 + k] - m[8 + k] - m[12 + k];
                }
                y00[q] = u0[0] + u0[1] + u0[2] + bo;
                y01[q] = u0[1] - u0[2] - u0[3] + bo;
                y10[q] = u1[0] + u1[1] + u1[2] + bo;
                y11[q] = u1[1] - u1[2] - u1[3] + bo;
            }
            T *yo = y + ((b0 + j) * O + o) * Ho * Wo;
            for (int64_t th = th0; th < th1; th++) {
                T *r0 = yo + 2 * th * Wo, *r1 = r0 + Wo;
                const int64_t q0 = (th - th0) * tw_n, full = Wo / 2;
                for (int64_t tw = 0; tw < full; tw++) {
                    r0[2 * tw] = y00[q0 + tw];
                    r0[2 * tw + 1] = y01[q0 + tw];
                }
                if (Wo & 1) r0[Wo - 1] = y00[q0 + full];
                if (2 * th + 1 < Ho) {
                    for (int64_t tw = 0; tw < full; tw++) {
                        r1[2 * tw] = y10[q0 + tw];
                        r1[2 * tw + 1] = y11[q0 + tw];
                    }
                    if (Wo & 1) r1[Wo - 1] = y10[q0 + full];
                }
            }
        }
}

/* dM[ξ][o][q] = (A dy Aᵀ)_ξ, A = (Aᵀ)ᵀ: the adjoint of the output transform, for tile
 * rows [th0, th1) of samples [b0, b0 + nb); outputs past Ho or Wo count as 0.  Each
 * plane's even and odd rows are copied apart into `pad` (2·tw_q wide, zeroed once), so
 * that tile q's corners are even[2q], even[2q + 1], odd[2q], odd[2q + 1]: one loop over
 * the plane's tiles that GCC vectorises.  With V and dM, dU_ξ = dM_ξ · V_ξᵀ is dL/dU. */
DLK_CLONES static void FN(wino_grad_output_)(const dlk_conv_shape *s, const T *DLK_RESTRICT dy,
                                             int64_t b0, int64_t nb, int64_t th0,
                                             int64_t th1, T *DLK_RESTRICT dM, int64_t st,
                                             T *DLK_RESTRICT pad)
{
    const int64_t O = s->O, Ho = s->Ho, Wo = s->Wo, tw_q = WINO_TILE_ROW(s);
    const int64_t tps = (th1 - th0) * tw_q, n = nb * tps, L = 2 * tw_q;
    T *even = pad, *odd = pad + tps * 2;
    memset(pad, 0, (size_t)(4 * tps) * sizeof(T));
    for (int64_t j = 0; j < nb; j++)
        for (int64_t o = 0; o < O; o++) {
            FN(split_rows_)(dy + ((b0 + j) * O + o) * Ho * Wo, Ho, Wo, 2 * th0,
                            2 * (th1 - th0), 0, Wo, even, odd, L);
            T *d = dM + o * n + j * tps;
#pragma omp simd
            for (int64_t q = 0; q < tps; q++) {
                /* rows of A dy: (dy0), (dy0 + dy1), (dy0 − dy1), (−dy1); then each row
                 * (u, v) times Aᵀ is (u, u + v, u − v, −v) */
                T a = even[2 * q], b = even[2 * q + 1], c = odd[2 * q], e = odd[2 * q + 1];
                T u[4] = {a, a + c, a - c, -c}, v[4] = {b, b + e, b - e, -e};
                for (int i = 0; i < 4; i++) {
                    d[(4 * i) * st + q] = u[i];
                    d[(4 * i + 1) * st + q] = u[i] + v[i];
                    d[(4 * i + 2) * st + q] = u[i] - v[i];
                    d[(4 * i + 3) * st + q] = -v[i];
                }
            }
        }
}

/* dw[o][c] = Gᵀ dU[o][c] G, dU = Σ_g partial_g (in order): the adjoint of wino_filter_.
 * Vectorised across (o, c); the partials are first added into the first one with
 * contiguous loops (reading 16·G matrices 4 KB apart at once thrashed L1). */
DLK_CLONES static void FN(wino_grad_filter_)(const dlk_conv_shape *s, T *DLK_RESTRICT partial,
                                             int64_t G, T *DLK_RESTRICT dw)
{
    const int64_t oc = s->O * s->C;
    for (int64_t g = 1; g < G; g++) {
        const T *src = partial + g * 16 * oc;
#pragma omp simd
        for (int64_t p = 0; p < 16 * oc; p++) partial[p] += src[p];
    }
    const T *u = partial;
#pragma omp simd
    for (int64_t p = 0; p < oc; p++) {
        T t[3][4];
        for (int k = 0; k < 4; k++) {                         /* Gᵀ dU */
            T u0 = u[k * oc + p], u1 = u[(4 + k) * oc + p];
            T u2 = u[(8 + k) * oc + p], u3 = u[(12 + k) * oc + p];
            t[0][k] = u0 + (u1 + u2) * (T)0.5;
            t[1][k] = (u1 - u2) * (T)0.5;
            t[2][k] = (u1 + u2) * (T)0.5 + u3;
        }
        T *g = dw + p * 9;                                    /* p = o·C + c */
        for (int i = 0; i < 3; i++) {                         /* (Gᵀ dU) G */
            g[3 * i] = t[i][0] + (t[i][1] + t[i][2]) * (T)0.5;
            g[3 * i + 1] = (t[i][1] - t[i][2]) * (T)0.5;
            g[3 * i + 2] = (t[i][1] + t[i][2]) * (T)0.5 + t[i][3];
        }
    }
}

/* One Winograd pass over the chunks of s.  Forward (dw NULL): y = conv(x, w) + b.
 * Weight gradient (dw given): dw from x and dy, the 16 products dU_ξ = dM_ξ · V_ξᵀ summed
 * over the chunks in at most DW_GROUPS groups of consecutive chunks, one partial per
 * group, added in group order (the same bits at any thread count). */
static int FN(conv2d_winograd_)(const dlk_conv_shape *s, const T *x, const T *w, const T *b,
                                T *y, const T *dy, T *dw, int64_t nb, int64_t rows,
                                int64_t workspace, const dlk_stop_flag *stop, int nthreads)
{
    const int64_t C = s->C, O = s->O, tw_q = WINO_TILE_ROW(s), th_n = (s->Ho + 1) / 2;
    const int64_t nt = nthreads < 1 ? 1 : nthreads, uw = 16 * O * C;
    const int grad = dw != NULL;
    if (nb > 1) {   /* equal chunks, a multiple of 4 of them: balanced at 2 or 4 threads
                     * (not of nt: the chunks, and so the bits, must not depend on it) */
        int64_t groups = (s->B + nb - 1) / nb;
        groups = (groups + 3) / 4 * 4;
        nb = (s->B + groups - 1) / groups;
    }
    const int64_t chunk = nb * rows * tw_q, blocks = (th_n + rows - 1) / rows;
    const int64_t items = (s->B + nb - 1) / nb * blocks;
    /* forward: one item per group; gradient: DW_GROUPS groups, fewer if their partials
     * would take over a quarter of the workspace */
    int64_t G = items;
    if (grad) {
        int64_t fit = workspace / 4 / (uw * (int64_t)sizeof(T));
        G = items < DW_GROUPS ? items : DW_GROUPS;
        if (G > fit) G = fit < 1 ? 1 : fit;
    }
    /* small planes: the tables of wino_tables_, 5 int32
     * per tile, in T units */
    const int small = WINO_SMALL(s);
    const int64_t tables = small ? (5 * rows * tw_q * 4 + sizeof(T) - 1) / sizeof(T) : 0;
    /* per thread: V and M (dM), the padded rows and 4 rows of Bᵀ d, 4 outputs per tile.
     * V_ξ and M_ξ, ξ = 0…15, lie vst and mst apart: never a multiple of 4 KB, or the 16
     * streams of a transform all fall into one cache set (measured 1.8× slower) */
    const int64_t vst = SPREAD(chunk * C), mst = SPREAD(chunk * O);
    const int64_t per_thread = 16 * (vst + mst) + (2 * rows + 6) * (2 * tw_q + 2) +
                               4 * rows * tw_q + tables;
    int outer = G >= nt ? (int)nt : 1;
    /* U: the transformed filters, or the gradient's G partial sums */
    const int64_t u_size = grad ? G * uw : uw;
    T *ws = dlk_scratch_take((size_t)(u_size + outer * per_thread) * sizeof(T));
    if (!ws) return DLK_ENOMEM;
    T *U = ws;
    if (!grad) FN(wino_filter_)(s, w, U);
    int inner = outer > 1 ? 1 : (int)nt, status = DLK_OK;
#pragma omp parallel num_threads(outer) if (outer > 1)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        T *V = ws + u_size + (int64_t)t * per_thread, *M = V + 16 * vst;
        T *scratch = M + 16 * mst;
        int32_t *at = (int32_t *)(V + per_thread - tables), *oidx = NULL;
#pragma omp for schedule(static)
        for (int64_t g = 0; g < G; g++) {
            for (int64_t it = g * items / G; it < (g + 1) * items / G; it++) {
                if (DLK_STOPPED(stop)) break;
                int64_t b0 = it / blocks * nb, cnt = b0 + nb <= s->B ? nb : s->B - b0;
                int64_t th0 = it % blocks * rows, th1 = th0 + rows < th_n ? th0 + rows : th_n;
                int64_t tps = (th1 - th0) * tw_q, n = cnt * tps;
                if (small) {
                    oidx = at + tps;
                    FN(wino_tables_)(s, th0, th1, WINO_SPARE(s) ? NULL : at, oidx);
                    FN(wino_input_small_)(s, x, b0, cnt, th0, th1, at, V, vst, scratch);
                } else {
                    FN(wino_input_)(s, x, b0, cnt, th0, th1, V, vst, scratch);
                }
                if (grad) {
                    T *dU = U + g * uw;
                    int first = it == g * items / G;
                    FN(wino_grad_output_)(s, dy, b0, cnt, th0, th1, M, mst, scratch);
                    for (int xi = 0; xi < 16; xi++) {
                        int st = GEMM(0, 1, O, C, n, (T)1, M + xi * mst, n, V + xi * vst, n,
                                      first ? (T)0 : (T)1, dU + xi * O * C, C, inner);
                        if (st != DLK_OK) status = st;
                    }
                    continue;
                }
                for (int xi = 0; xi < 16; xi++) {
                    int st = GEMM(0, 0, O, n, C, (T)1, U + xi * O * C, C, V + xi * vst, n,
                                  (T)0, M + xi * mst, n, inner);
                    if (st != DLK_OK) status = st;
                }
#if WINO_AVX512
                if (small && WINO_SPARE(s) && dlk_has_avx512())
                    dlk_conv_wino_output_rows_avx512_f32(s, M, b, b0, cnt, th0, th1, y, mst);
                else
#endif
                if (small)
                    FN(wino_output_small_)(s, M, b, b0, cnt, tps, oidx, y, mst);
                else
                    FN(wino_output_)(s, M, mst, b, b0, cnt, th0, th1, y, scratch);
            }
        }
    }
    if (grad && !DLK_STOPPED(stop) && status == DLK_OK)
        FN(wino_grad_filter_)(s, U, G, dw);
    dlk_scratch_give(ws);
    return DLK_STOPPED(stop) ? DLK_EINTR : status;
}


/* The flipped, transposed filters of dX as a convolution (dlk_conv_dx_shape):
 * wt[c][o] is w[o][c] turned by 180°; malloc'd, NULL when out of memory. */
void *FN(dlk_conv_flip3x3_)(const dlk_conv_shape *s, const T *w)
{
    T *wt = malloc((size_t)(s->O * s->C * 9) * sizeof(T));
    if (!wt) return NULL;
    for (int64_t o = 0; o < s->O; o++)
        for (int64_t c = 0; c < s->C; c++)
            for (int q = 0; q < 9; q++)
                wt[(c * s->O + o) * 9 + q] = w[(o * s->C + c) * 9 + 8 - q];
    return wt;
}

/* The forward pass, dX (the forward pass of dlk_conv_dx_shape) and dW, as asked. */
int FN(dlk_conv_winograd_f2x2_run_)(const dlk_conv_problem *p, unsigned passes,
                                    const dlk_conv_blocking *blk, const dlk_conv_io *io)
{
    const dlk_conv_shape *s = &p->s;
    if (passes & (1u << DLK_CONV_FORWARD))
        return FN(conv2d_winograd_)(s, io->x, io->w, io->b, io->y, NULL, NULL,
                                    blk[DLK_CONV_FORWARD].nb, blk[DLK_CONV_FORWARD].rows,
                                    p->workspace, io->stop, p->nthreads);
    if (passes & (1u << DLK_CONV_DX)) {
        dlk_conv_shape t = dlk_conv_dx_shape(s);
        T *wt = FN(dlk_conv_flip3x3_)(s, io->w);
        if (!wt) return DLK_ENOMEM;
        int st = FN(conv2d_winograd_)(&t, io->dy, wt, NULL, io->dx, NULL, NULL,
                                      blk[DLK_CONV_DX].nb, blk[DLK_CONV_DX].rows,
                                      p->workspace, io->stop, p->nthreads);
        free(wt);
        if (st != DLK_OK) return st;
    }
    if (passes & (1u << DLK_CONV_DW))
        return FN(conv2d_winograd_)(s, io->x, NULL, NULL, NULL, io->dy, io->dw,
                                    blk[DLK_CONV_DW].nb, blk[DLK_CONV_DW].rows,
                                    p->workspace, io->stop, p->nthreads);
    return DLK_OK;
}
#undef SPREAD
#undef WINO_AVX512
