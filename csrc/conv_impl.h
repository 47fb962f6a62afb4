/* conv_impl.h — convolution loops for one element type T (suffix SFX, BLAS call GEMM);
 * see conv.c for the plan. */
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, SFX)

/* Small planes at stride 1 with Wo = W ("same" padding): a row (c, i, j) of the
 * columns is then the plane shifted by (i − ph)·W + (j − pw), with the columns that
 * wrapped around zeroed.  One vector loop over the block replaces Ho loops of Wo
 * elements, which at Wo = 8 are all remainder (im2col and col2im were 40% of a
 * digits-sized backward pass).  col[k] is k's column in the block (SHIFTS_FIT in
 * conv.c says when the path is taken).
 *
 * For row (i, j) of the block: the output positions [*a, *e) to copy, those whose input
 * row lies in the plane and whose input index in0 + k does too (positions outside
 * the plane are wrapped columns, 0 either way), and the valid columns [lo, hi). */
static inline void FN(shift_range_)(const dlk_conv_shape *s, int64_t oh0, int64_t oh1,
                                    int64_t i, int64_t j, int64_t *a, int64_t *e,
                                    int64_t *in0, int64_t *lo, int64_t *hi)
{
    const int64_t W = s->W, off = j - s->pw, plane = s->H * W;
    int64_t r0 = s->ph - i > oh0 ? s->ph - i : oh0;           /* first output row inside */
    int64_t r1 = s->H + s->ph - i < oh1 ? s->H + s->ph - i : oh1;
    if (r1 < r0) r1 = r0;
    *a = (r0 - oh0) * W;
    *e = (r1 - oh0) * W;
    *in0 = (r0 + i - s->ph) * W + off - *a;                    /* input index = in0 + k */
    if (*a < *e && *in0 + *a < 0) *a = -*in0;
    if (*e > *a && *in0 + *e > plane) *e = plane - *in0;
    if (*e < *a) *e = *a;
    *lo = off < 0 ? -off : 0;
    *hi = off > 0 ? W - off : W;
}

DLK_CLONES static void FN(im2col_shift_)(const dlk_conv_shape *s, const T *DLK_RESTRICT xb,
                                         int64_t oh0, int64_t oh1, T *DLK_RESTRICT cols,
                                         int64_t ld)
{
    const int64_t W = s->W, len = (oh1 - oh0) * W, plane = s->H * W;
    int32_t col[SHIFT_MAX];
    for (int64_t k = 0; k < len; k++) col[k] = (int32_t)(k % W);
    for (int64_t c = 0; c < s->C; c++)
        for (int64_t i = 0; i < s->kh; i++)
            for (int64_t j = 0; j < s->kw; j++) {
                T *row = cols + ((c * s->kh + i) * s->kw + j) * ld;
                const T *in = xb + c * plane;
                int64_t a, e, in0, lo, hi;
                FN(shift_range_)(s, oh0, oh1, i, j, &a, &e, &in0, &lo, &hi);
                for (int64_t k = 0; k < a; k++) row[k] = 0;
#pragma omp simd
                for (int64_t k = a; k < e; k++)
                    row[k] = col[k] >= lo && col[k] < hi ? in[in0 + k] : (T)0;
                for (int64_t k = e; k < len; k++) row[k] = 0;
            }
}

DLK_CLONES static void FN(col2im_shift_)(const dlk_conv_shape *s, const T *DLK_RESTRICT cols,
                                         int64_t ld, int64_t oh0, int64_t oh1,
                                         T *DLK_RESTRICT dxb)
{
    const int64_t W = s->W, len = (oh1 - oh0) * W, plane = s->H * W;
    int32_t col[SHIFT_MAX];
    for (int64_t k = 0; k < len; k++) col[k] = (int32_t)(k % W);
    for (int64_t c = 0; c < s->C; c++)
        for (int64_t i = 0; i < s->kh; i++)
            for (int64_t j = 0; j < s->kw; j++) {
                const T *row = cols + ((c * s->kh + i) * s->kw + j) * ld;
                T *out = dxb + c * plane;
                int64_t a, e, in0, lo, hi;
                FN(shift_range_)(s, oh0, oh1, i, j, &a, &e, &in0, &lo, &hi);
                /* selects, not a multiply by a 0/1 mask: inf · 0 would add a NaN */
#pragma omp simd
                for (int64_t k = a; k < e; k++)
                    out[in0 + k] += col[k] >= lo && col[k] < hi ? row[k] : (T)0;
            }
}

/* A leading dimension ≥ m for arrays whose rows (or matrices) are read many at a time:
 * an odd number of 64-byte lines, so that successive rows fall into different L1 sets.
 * At a multiple of 4 KB they all fell into one: the 16 Winograd matrices (measured
 * 1.8× slower), and conv_stride's 75 column rows of 1,024 floats (its forward product
 * 7% slower). */
static int64_t FN(spread_)(int64_t m)
{
    const int64_t per_line = 64 / (int64_t)sizeof(T);
    int64_t lines = (m + per_line - 1) / per_line;
    return (lines | 1) * per_line;
}

/* Columns of sample xb (C, H, W) for output rows [oh0, oh1): row r = (c, i, j) of the
 * block holds x[c, oh·sh − ph + i, ow·sw − pw + j] (0 in the padding) at column
 * (oh − oh0)·Wo + ow; rows are `ld` apart. */
DLK_CLONES static void FN(im2col_rows_)(const dlk_conv_shape *s, const T *DLK_RESTRICT xb,
                                        int64_t oh0, int64_t oh1, T *DLK_RESTRICT cols,
                                        int64_t ld)
{
    const int64_t H = s->H, W = s->W, Wo = s->Wo, sw = s->sw;
    if (SHIFTS_FIT(s, oh0, oh1)) {
        FN(im2col_shift_)(s, xb, oh0, oh1, cols, ld);
        return;
    }
    for (int64_t c = 0; c < s->C; c++)
        for (int64_t i = 0; i < s->kh; i++)
            for (int64_t j = 0; j < s->kw; j++) {
                T *row = cols + ((c * s->kh + i) * s->kw + j) * ld;
                /* ow range whose w = ow·sw − pw + j lies in [0, W) */
                int64_t off = j - s->pw;
                int64_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
                int64_t hi = W - 1 - off >= 0 ? (W - 1 - off) / sw + 1 : 0;
                if (hi > Wo) hi = Wo;
                if (lo > hi) lo = hi;
                for (int64_t oh = oh0; oh < oh1; oh++) {
                    T *out = row + (oh - oh0) * Wo;
                    int64_t h = oh * s->sh - s->ph + i;
                    if (h < 0 || h >= H) {
                        memset(out, 0, (size_t)Wo * sizeof(T));
                        continue;
                    }
                    const T *in = xb + (c * H + h) * W + off;
                    for (int64_t ow = 0; ow < lo; ow++) out[ow] = 0;
                    if (sw == 1)
                        memcpy(out + lo, in + lo, (size_t)(hi - lo) * sizeof(T));
                    else if (sw == 2)   /* a constant stride: shuffles, not a gather */
                        for (int64_t ow = lo; ow < hi; ow++) out[ow] = in[ow * 2];
                    else
                        for (int64_t ow = lo; ow < hi; ow++) out[ow] = in[ow * sw];
                    for (int64_t ow = hi; ow < Wo; ow++) out[ow] = 0;
                }
            }
}

/* The adjoint of im2col_rows_: adds the block's columns back into sample dxb. */
DLK_CLONES static void FN(col2im_rows_)(const dlk_conv_shape *s, const T *DLK_RESTRICT cols,
                                        int64_t ld, int64_t oh0, int64_t oh1,
                                        T *DLK_RESTRICT dxb)
{
    const int64_t H = s->H, W = s->W, Wo = s->Wo, sw = s->sw;
    if (SHIFTS_FIT(s, oh0, oh1)) {
        FN(col2im_shift_)(s, cols, ld, oh0, oh1, dxb);
        return;
    }
    for (int64_t c = 0; c < s->C; c++)
        for (int64_t i = 0; i < s->kh; i++)
            for (int64_t j = 0; j < s->kw; j++) {
                const T *row = cols + ((c * s->kh + i) * s->kw + j) * ld;
                int64_t off = j - s->pw;
                int64_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
                int64_t hi = W - 1 - off >= 0 ? (W - 1 - off) / sw + 1 : 0;
                if (hi > Wo) hi = Wo;
                for (int64_t oh = oh0; oh < oh1; oh++) {
                    int64_t h = oh * s->sh - s->ph + i;
                    if (h < 0 || h >= H) continue;
                    const T *in = row + (oh - oh0) * Wo;
                    T *out = dxb + (c * H + h) * W + off;
                    if (sw == 1) {      /* contiguous: plain vector adds, not a scatter */
#pragma omp simd
                        for (int64_t ow = lo; ow < hi; ow++) out[ow] += in[ow];
                    } else {
#pragma omp simd
                        for (int64_t ow = lo; ow < hi; ow++) out[ow * sw] += in[ow];
                    }
                }
            }
}

int FN(dlk_im2col_)(const dlk_conv_shape *s, const T *x, T *cols, int nthreads)
{
    const int64_t plane = s->Ho * s->Wo, ld = s->B * plane;
    int nt = dlk_threads_for(s->B, 1, nthreads);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t b = 0; b < s->B; b++)
        FN(im2col_rows_)(s, x + b * s->C * s->H * s->W, 0, s->Ho, cols + b * plane, ld);
    return DLK_OK;
}

int FN(dlk_col2im_)(const dlk_conv_shape *s, const T *cols, T *x, int nthreads)
{
    const int64_t plane = s->Ho * s->Wo, ld = s->B * plane, sample = s->C * s->H * s->W;
    int nt = dlk_threads_for(s->B, 1, nthreads);
    /* one sample per iteration: its pixels are written by one thread */
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t b = 0; b < s->B; b++) {
        memset(x + b * sample, 0, (size_t)sample * sizeof(T));
        FN(col2im_rows_)(s, cols + b * plane, ld, 0, s->Ho, x + b * sample);
    }
    return DLK_OK;
}

/* Rows of output per block so that one block of columns fits `bytes`. */
static int64_t FN(block_rows_)(const dlk_conv_shape *s, int64_t bytes)
{
    int64_t per_row = s->C * s->kh * s->kw * s->Wo * (int64_t)sizeof(T);
    int64_t r = bytes / (per_row > 0 ? per_row : 1);
    return r < 1 ? 1 : (r > s->Ho ? s->Ho : r);
}

/* Samples per item when whole samples fit a slot: enough that a product has about
 * GROUP_COLS columns (a 64×288×196 product runs at half the speed of a 64×288×1568
 * one), no more than fit `bytes` with the product's output beside the columns. */
static int64_t FN(group_samples_)(const dlk_conv_shape *s, int64_t bytes)
{
    int64_t plane = s->Ho * s->Wo, K = s->C * s->kh * s->kw;
    int64_t nb = GROUP_COLS / (plane > 0 ? plane : 1);
    int64_t fit = bytes / ((K + s->O) * plane * (int64_t)sizeof(T));
    if (nb > fit) nb = fit;
    if (nb > s->B) nb = s->B;
    return nb < 1 ? 1 : nb;
}

/* ---- Winograd F(2×2, 3×3) for 3×3 stride-1 convolutions (Lavin and Gray, 2016) ----
 * A 2×2 block of outputs is Aᵀ[(G g Gᵀ) ∘ (Bᵀ d B)]A for the 4×4 input patch d and
 * the 3×3 filter g: 16 multiplications instead of 36.  Summed over the channels the
 * 16 element-wise products are 16 GEMMs, M_ξ (O × tiles) = U_ξ (O × C) · V_ξ (C × tiles),
 * over the tiles (b, th, tw) of a chunk of whole samples. */

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
#ifdef WINO_INPUT_FAST
    if (WINO_INPUT_8X8(s, th0, th1)) {
        WINO_INPUT_FAST(x, C, b0, nb, V, st);
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

/* How to cut the batch into chunks whose transformed tiles fit `slot` bytes: *nb
 * whole samples per chunk (aiming at GEMMs of about WINO_TILES columns), or, when one
 * sample does not fit, single samples in blocks of *rows tile rows.  0: not even one
 * row of tiles fits (the caller takes the im2col path). */
static int FN(wino_plan_)(const dlk_conv_shape *s, int64_t slot, int64_t *nb, int64_t *rows)
{
    const int64_t tw_q = WINO_TILE_ROW(s), th_n = (s->Ho + 1) / 2;
    const int64_t per_row = 16 * (s->C + s->O) * tw_q * (int64_t)sizeof(T);
    int64_t fit = slot / per_row;                       /* tile rows that fit */
    if (fit < 1) return 0;
    if (fit < th_n) {
        *nb = 1;
        *rows = fit;
        return 1;
    }
    *rows = th_n;
    *nb = fit / th_n;
    int64_t want = (WINO_TILES + th_n * tw_q - 1) / (th_n * tw_q);
    if (*nb > want) *nb = want;
    if (*nb > s->B) *nb = s->B;
    return 1;
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
    const int64_t vst = FN(spread_)(chunk * C), mst = FN(spread_)(chunk * O);
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
#ifdef WINO_OUTPUT_ROWS
                if (small && WINO_SPARE(s) && dlk_has_avx512())
                    WINO_OUTPUT_ROWS(s, M, b, b0, cnt, th0, th1, y, mst);
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

/* ---- Winograd F(4×4, 3×3) for 3×3 stride-1 convolutions on larger planes ----
 * 6×6 input patches at a stride of 4 give 4×4 outputs: 36 products of C × n and O × C
 * per 16 outputs, against F(2×2, 3×3)'s 16 per 4: 1.78× fewer multiplications, for
 * transforms with more terms.  Forward pass (and so dX) only.  Matrices as in Lavin
 * and Gray (2016), interpolation points 0, ±1, ±2. */

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

/* How to cut the batch into items whose V and M fit `slot`: nb whole samples an item
 * (about WINO_TILES tiles), or one sample's blocks of *rows tile rows; 0: not even one
 * tile row fits. */
static int FN(wino4_plan_)(const dlk_conv_shape *s, int64_t slot, int64_t *nb, int64_t *rows)
{
    const int64_t pl = (s->Wo + 3) / 4 + 1, th_n = (s->Ho + 3) / 4;
    int64_t fit = slot / (36 * (s->C + s->O) * pl * (int64_t)sizeof(T));
    if (fit < 1) return 0;
    *nb = 1;
    *rows = fit < th_n ? fit : th_n;
    if (fit >= th_n) {
        int64_t want = (WINO_TILES + th_n * pl - 1) / (th_n * pl);
        *nb = fit / th_n < want ? fit / th_n : want;
        if (*nb > s->B) *nb = s->B;
    }
    return 1;
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
    const int64_t nmax = nb * rows * pl, vst = FN(spread_)(C * nmax), mst = FN(spread_)(O * nmax);
    /* U_ξ apart by ust: O·C is often a multiple of 4 KB, whose 36 streams would share
     * one cache set */
    const int64_t ust = FN(spread_)(O * C);
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

/* A forward Winograd pass, F(4×4, 3×3) where the rows are wide enough and the products
 * big enough (narrower planes and fewer channels: see docs/BENCHMARKS.md), else F(2×2,
 * 3×3); 0 when neither plan fits the slot. */
static int FN(winograd_forward_)(const dlk_conv_shape *s, const T *x, const T *w, const T *b,
                                 T *y, int64_t workspace, const dlk_stop_flag *stop,
                                 int nthreads, int *status)
{
    int64_t nt = nthreads < 1 ? 1 : nthreads, slot = workspace / WS_SLOTS(nt), nb, rows;
    /* its 36 transformed filters (2.25× F(2×2)'s) within a quarter of the workspace:
     * 256 × 256 channels take 9.4 MB */
    if (s->Wo >= WINO4_MIN_WO && s->C * s->O >= WINO4_MIN_CO &&
        36 * s->C * s->O * (int64_t)sizeof(T) <= workspace / 4 &&
        FN(wino4_plan_)(s, slot, &nb, &rows)) {
        *status = FN(conv2d_winograd4_)(s, x, w, b, y, nb, rows, stop, nthreads);
        return 1;
    }
    if (!FN(wino_plan_)(s, slot, &nb, &rows)) return 0;
    *status = FN(conv2d_winograd_)(s, x, w, b, y, NULL, NULL, nb, rows, workspace, stop,
                                   nthreads);
    return 1;
}

#ifdef DLK_HAVE_AVX512_LOOPS
/* ---- Direct convolution, AVX-512, for convolutions with little input per output ----
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

/* Whether the direct loop takes this forward pass: AVX-512 here, rows at least
 * DIRECT_MIN_WO wide, strides no larger than the kernel (a strided 1×1 reads a quarter
 * of its input, which im2col copies alone and the phase planes whole: 0.77-0.87× of
 * the im2col path at 1 thread), and the input a register block reads (its rows of
 * every channel and phase) within DIRECT_BLOCK_BYTES, so that it stays in L1 while the
 * block runs through all the output channels; with more the BLAS product wins (see
 * docs/BENCHMARKS.md).  *rows: output rows an item, a whole sample when there are
 * samples for every thread, else a share of one; fewer when the phase planes of that
 * many rows would not fit `slot` bytes. */
static int FN(direct_plan_)(const dlk_conv_shape *s, int64_t slot, int64_t nt, int64_t *rows)
{
    if (s->Wo < DIRECT_MIN_WO || s->sh > s->kh || s->sw > s->kw || !dlk_has_avx512())
        return 0;
    const int64_t vpr = (s->Wo + VLANES - 1) / VLANES, span = vpr < DIRECT_NV ? vpr : DIRECT_NV;
    const int64_t block_rows = ((DIRECT_NV + vpr - 1) / vpr - 1) * s->sh + s->kh;
    const int64_t row_bytes = (span * VLANES + (s->kw - 1) / s->sw) * (int64_t)sizeof(T);
    if (s->C * s->sw * block_rows * ((row_bytes + 63) / 64 * 64) > DIRECT_BLOCK_BYTES)
        return 0;
    const int64_t Wq = (s->Wo + VLANES - 1) / VLANES * VLANES + (s->kw - 1) / s->sw;
    int64_t parts = s->B >= nt ? 1 : (nt + s->B - 1) / s->B, r = (s->Ho + parts - 1) / parts;
    for (; r > 1; r = (r + 1) / 2)
        if (s->C * s->sw * FN(spread_)(((r - 1) * s->sh + s->kh) * Wq) * (int64_t)sizeof(T)
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
    L->pstride = FN(spread_)(((rows - 1) * s->sh + s->kh) * L->Wq);
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
#define DIRECT_DW_TAPS 5
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
#endif

int FN(dlk_conv2d_)(const dlk_conv_shape *s, const T *x, const T *w, const T *b, T *y,
                    int64_t workspace, const dlk_stop_flag *stop, int nthreads)
{
    const int64_t K = s->C * s->kh * s->kw, plane = s->Ho * s->Wo;
    const int64_t sample_in = s->C * s->H * s->W, sample_out = s->O * plane;
    int64_t nt = nthreads < 1 ? 1 : nthreads;
    int64_t slot = workspace / WS_SLOTS(nt);
    int wst;
    if (WINOGRAD_FITS(s) && FN(winograd_forward_)(s, x, w, b, y, workspace, stop, nthreads,
                                                  &wst))
        return wst;
#ifdef DLK_HAVE_AVX512_LOOPS
    int64_t drows;
    if (FN(direct_plan_)(s, slot, nt, &drows))
        return FN(conv2d_direct_)(s, x, w, b, y, drows, stop, nthreads);
#endif
    /* an item is either a group of nb whole samples (small images: one product for
     * several samples, its output scattered into y) or one sample's block of rows
     * (large images: the product writes straight into y) */
    int64_t rows = FN(block_rows_)(s, slot);
    int64_t nb = rows == s->Ho ? FN(group_samples_)(s, slot) : 1;
    int64_t blocks = nb > 1 ? 1 : (s->Ho + rows - 1) / rows;
    int64_t items = nb > 1 ? (s->B + nb - 1) / nb : s->B * blocks;
    int64_t ldc = FN(spread_)(nb > 1 ? nb * plane : rows * s->Wo);  /* columns' rows */
    int64_t per_thread = K * ldc + (nb > 1 ? s->O * nb * plane : 0);
    int outer = items >= nt ? (int)nt : 1;
    T *ws = dlk_scratch_take((size_t)outer * (size_t)per_thread * sizeof(T));
    if (!ws) return DLK_ENOMEM;
    /* few items: one at a time, each product split over the threads instead */
    int inner = outer > 1 ? 1 : (int)nt, status = DLK_OK;
#pragma omp parallel num_threads(outer) if (outer > 1)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        T *cols = ws + (int64_t)t * per_thread;
#pragma omp for schedule(static)
        for (int64_t it = 0; it < items; it++) {
            int st;
            if (DLK_STOPPED(stop)) continue;
            if (nb > 1) {
                int64_t b0 = it * nb, cnt = b0 + nb <= s->B ? nb : s->B - b0, n = cnt * plane;
                T *out = cols + K * ldc;
                for (int64_t j = 0; j < cnt; j++)
                    FN(im2col_rows_)(s, x + (b0 + j) * sample_in, 0, s->Ho, cols + j * plane,
                                     ldc);
                st = GEMM(0, 0, s->O, n, K, (T)1, w, K, cols, ldc, (T)0, out, n, inner);
                for (int64_t j = 0; j < cnt; j++)
                    for (int64_t o = 0; o < s->O; o++) {
                        const T *src = out + o * n + j * plane;
                        T bo = b ? b[o] : (T)0, *dst = y + (b0 + j) * sample_out + o * plane;
#pragma omp simd
                        for (int64_t q = 0; q < plane; q++) dst[q] = src[q] + bo;
                    }
            } else {
                int64_t bi = it / blocks, oh0 = (it % blocks) * rows;
                int64_t oh1 = oh0 + rows < s->Ho ? oh0 + rows : s->Ho, n = (oh1 - oh0) * s->Wo;
                FN(im2col_rows_)(s, x + bi * sample_in, oh0, oh1, cols, ldc);
                T *yb = y + bi * sample_out + oh0 * s->Wo;
                st = GEMM(0, 0, s->O, n, K, (T)1, w, K, cols, ldc, (T)0, yb, plane, inner);
                if (b)
                    for (int64_t o = 0; o < s->O; o++) {
                        T bo = b[o], *yo = yb + o * plane;
#pragma omp simd
                        for (int64_t q = 0; q < n; q++) yo[q] += bo;
                    }
            }
            if (st != DLK_OK) status = st;
        }
    }
    dlk_scratch_give(ws);
    return DLK_STOPPED(stop) ? DLK_EINTR : status;
}

int FN(dlk_conv2d_backward_)(const dlk_conv_shape *s, const T *dy, const T *x, const T *w,
                             T *dx, T *dw, T *db, int64_t workspace,
                             const dlk_stop_flag *stop, int nthreads)
{
    const int64_t K = s->C * s->kh * s->kw, plane = s->Ho * s->Wo, wsize = s->O * K;
    const int64_t sample_in = s->C * s->H * s->W, sample_out = s->O * plane;
    int64_t nt = nthreads < 1 ? 1 : nthreads;
    /* dX of a 3×3 stride-1 convolution is one itself: dY convolved with the flipped,
     * transposed filters and padding 2 − p, through Winograd when that fits. */
    int with_dx = 1;
    if (WINOGRAD_FITS(s) && s->ph <= 2 && s->pw <= 2) {
        dlk_conv_shape t = {s->B, s->O, s->Ho, s->Wo, s->C, 3, 3, 1, 1, 2 - s->ph, 2 - s->pw,
                            s->H, s->W};
        T *wt = malloc((size_t)wsize * sizeof(T));
        if (!wt) return DLK_ENOMEM;
        for (int64_t o = 0; o < s->O; o++)
            for (int64_t c = 0; c < s->C; c++)
                for (int q = 0; q < 9; q++)
                    wt[(c * s->O + o) * 9 + q] = w[(o * s->C + c) * 9 + 8 - q];
        int st = DLK_OK;
        with_dx = !FN(winograd_forward_)(&t, dy, wt, NULL, dx, workspace, stop, nthreads, &st);
        free(wt);
        if (st != DLK_OK) return st;
    }
    /* dW through Winograd as well: dU_ξ = dM_ξ · V_ξᵀ has 2.25× fewer multiplications
     * than cols · dYᵀ */
    int with_dw = 1;
    if (WINOGRAD_FITS(s)) {
        int64_t wnb, wrows;
        if (FN(wino_plan_)(s, workspace / WS_SLOTS(nt), &wnb, &wrows)) {
            int st = FN(conv2d_winograd_)(s, x, NULL, NULL, NULL, dy, dw, wnb, wrows,
                                          workspace, stop, nthreads);
            if (st != DLK_OK) return st;
            with_dw = 0;
        }
    }
    /* dW (and db) of the convolutions whose forward pass takes the direct loop, in
     * registers as well */
    int with_db = 1;
#ifdef DLK_HAVE_AVX512_LOOPS
    int64_t drows;
    int64_t dslot = workspace / WS_SLOTS(nt);
    if (dslot > DIRECT_DW_BYTES) dslot = DIRECT_DW_BYTES;
    /* rows as for 2 threads whatever the count, so that a lone sample makes 2 groups */
    if (with_dw && FN(direct_plan_)(s, dslot, 2, &drows)) {
        int st = FN(conv2d_direct_dw_)(s, x, dy, dw, db, drows, stop, nthreads);
        if (st != DLK_OK) return st;
        with_dw = with_db = 0;
    }
    /* ... and their dX, whole samples (rows as for 1 thread) */
    if (with_dx && FN(direct_plan_)(s, dslot, 1, &drows)) {
        int st = FN(conv2d_direct_dx_)(s, dy, w, dx, drows, stop, nthreads);
        if (st != DLK_OK) return st;
        with_dx = 0;
    }
#endif
    /* what is left goes through columns: per thread the columns (for dW) and their
     * gradient (for dX), as needed */
    const int bufs = with_dw + with_dx;
    int64_t slot = workspace / WS_SLOTS((bufs > 0 ? bufs : 1) * nt);
    int64_t rows = FN(block_rows_)(s, slot);
    /* small images: nb whole samples per product, their dY gathered into dyt */
    int64_t nb = rows == s->Ho ? FN(group_samples_)(s, slot) : 1;
    /* dW partial sums in G groups of consecutive samples, fixed whatever the thread
     * count, then added in group order: the same bits at 1 or 2 threads */
    int64_t G = bufs == 0 ? 0 : s->B < DW_GROUPS ? s->B : DW_GROUPS;
    int outer = G >= nt ? (int)nt : 1;
    int64_t ldc = FN(spread_)(nb > 1 ? nb * plane : rows * s->Wo);  /* columns' rows */
    int64_t blk = K * ldc;
    int64_t per_thread = bufs * blk + (nb > 1 ? s->O * nb * plane : 0);
    T *ws = dlk_scratch_take((size_t)(outer * per_thread + with_dw * G * wsize + 1) * sizeof(T));
    if (!ws) return DLK_ENOMEM;
    T *partial = ws + outer * per_thread;
    int inner = outer > 1 ? 1 : (int)nt, status = DLK_OK;
#pragma omp parallel num_threads(outer) if (outer > 1 && G > 0)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        T *cols = ws + (int64_t)t * per_thread;                  /* if with_dw */
        T *dcols = cols + with_dw * blk;                          /* if with_dx */
        T *dyt = cols + bufs * blk;
#pragma omp for schedule(static)
        for (int64_t g = 0; g < G; g++) {
            T *dwg = partial + g * wsize;
            int first = 1;
            int64_t g0 = g * s->B / G, g1 = (g + 1) * s->B / G;
            for (int64_t b0 = g0; nb > 1 && b0 < g1 && !DLK_STOPPED(stop); b0 += nb) {
                int64_t cnt = b0 + nb <= g1 ? nb : g1 - b0, n = cnt * plane;
                int st = DLK_OK;
                for (int64_t j = 0; j < cnt; j++) {
                    if (with_dw)
                        FN(im2col_rows_)(s, x + (b0 + j) * sample_in, 0, s->Ho,
                                         cols + j * plane, ldc);
                    for (int64_t o = 0; o < s->O; o++)
                        memcpy(dyt + o * n + j * plane, dy + (b0 + j) * sample_out + o * plane,
                               (size_t)plane * sizeof(T));
                }
                if (with_dw)
                    st = GEMM(0, 1, K, s->O, n, (T)1, cols, ldc, dyt, n, first ? (T)0 : (T)1,
                              dwg, s->O, inner);
                first = 0;
                if (st == DLK_OK && with_dx)
                    st = GEMM(1, 0, K, n, s->O, (T)1, w, K, dyt, n, (T)0, dcols, ldc, inner);
                if (st != DLK_OK) status = st;
                for (int64_t j = 0; j < cnt && with_dx; j++) {
                    T *dxb = dx + (b0 + j) * sample_in;
                    memset(dxb, 0, (size_t)sample_in * sizeof(T));
                    FN(col2im_rows_)(s, dcols + j * plane, ldc, 0, s->Ho, dxb);
                }
            }
            for (int64_t bi = g0; nb == 1 && bi < g1 && !DLK_STOPPED(stop); bi++) {
                T *dxb = dx + bi * sample_in;
                if (with_dx) memset(dxb, 0, (size_t)sample_in * sizeof(T));
                for (int64_t oh0 = 0; oh0 < s->Ho; oh0 += rows) {
                    int64_t oh1 = oh0 + rows < s->Ho ? oh0 + rows : s->Ho;
                    int64_t n = (oh1 - oh0) * s->Wo;
                    const T *dyb = dy + bi * sample_out + oh0 * s->Wo;
                    int st = DLK_OK;
                    if (with_dw) {              /* dW_gᵀ += cols · dY_blockᵀ */
                        FN(im2col_rows_)(s, x + bi * sample_in, oh0, oh1, cols, ldc);
                        st = GEMM(0, 1, K, s->O, n, (T)1, cols, ldc, dyb, plane,
                                  first ? (T)0 : (T)1, dwg, s->O, inner);
                    }
                    first = 0;
                    /* dcols = Wᵀ · dY_block, then added back into the pixels */
                    if (st == DLK_OK && with_dx)
                        st = GEMM(1, 0, K, n, s->O, (T)1, w, K, dyb, plane, (T)0, dcols, ldc,
                                  inner);
                    if (st != DLK_OK) status = st;
                    if (with_dx) FN(col2im_rows_)(s, dcols, ldc, oh0, oh1, dxb);
                }
            }
        }
    }
    if (DLK_STOPPED(stop)) {
        dlk_scratch_give(ws);
        return DLK_EINTR;
    }
    /* dW = Σ_g partial_g in order (the partials are dWᵀ, K × O: OpenBLAS runs that
     * product 16% faster than O × K); db = Σ over samples and pixels of dY, per channel */
    int nt2 = dlk_threads_for(wsize, 4096, nthreads);
#pragma omp parallel num_threads(nt2) if (nt2 > 1)
    {
#pragma omp for schedule(static) nowait
        for (int64_t q = 0; q < (with_dw ? wsize : 0); q++) {
            int64_t at = q % K * s->O + q / K;        /* partials hold dWᵀ */
            T acc = G > 0 ? partial[at] : (T)0;
            for (int64_t g = 1; g < G; g++) acc += partial[g * wsize + at];
            dw[q] = acc;
        }
#pragma omp for schedule(static)
        for (int64_t o = 0; o < (with_db ? s->O : 0); o++) {
            double acc = 0;
            for (int64_t bi = 0; bi < s->B; bi++) {
                acc += FN(dlk_sum_)(dy + bi * sample_out + o * plane, plane);
            }
            db[o] = (T)acc;
        }
    }
    dlk_scratch_give(ws);
    return status;
}

#undef FN
#undef CAT
#undef CAT_
