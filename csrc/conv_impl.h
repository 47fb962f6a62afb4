/* conv_impl.h — convolution loops for one element type T (suffix SFX, BLAS call GEMM);
 * see conv.c for the plan. */
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, SFX)

/* Columns of sample xb (C, H, W) for output rows [oh0, oh1): row r = (c, i, j) of the
 * block holds x[c, oh·sh − ph + i, ow·sw − pw + j] (0 in the padding) at column
 * (oh − oh0)·Wo + ow; rows are `ld` apart. */
DLK_CLONES static void FN(im2col_rows_)(const dlk_conv_shape *s, const T *DLK_RESTRICT xb,
                                        int64_t oh0, int64_t oh1, T *DLK_RESTRICT cols,
                                        int64_t ld)
{
    const int64_t H = s->H, W = s->W, Wo = s->Wo, sw = s->sw;
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
#pragma omp simd
                    for (int64_t ow = lo; ow < hi; ow++) out[ow * sw] += in[ow];
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

int FN(dlk_conv2d_)(const dlk_conv_shape *s, const T *x, const T *w, const T *b, T *y,
                    int64_t workspace, const dlk_stop_flag *stop, int nthreads)
{
    const int64_t K = s->C * s->kh * s->kw, plane = s->Ho * s->Wo;
    const int64_t sample_in = s->C * s->H * s->W, sample_out = s->O * plane;
    int64_t nt = nthreads < 1 ? 1 : nthreads;
    int64_t slot = workspace / WS_SLOTS(nt);
    /* an item is either a group of nb whole samples (small images: one product for
     * several samples, its output scattered into y) or one sample's block of rows
     * (large images: the product writes straight into y) */
    int64_t rows = FN(block_rows_)(s, slot);
    int64_t nb = rows == s->Ho ? FN(group_samples_)(s, slot) : 1;
    int64_t blocks = nb > 1 ? 1 : (s->Ho + rows - 1) / rows;
    int64_t items = nb > 1 ? (s->B + nb - 1) / nb : s->B * blocks;
    int64_t per_thread = nb > 1 ? (K + s->O) * nb * plane : K * rows * s->Wo;
    int outer = items >= nt ? (int)nt : 1;
    T *ws = malloc((size_t)outer * (size_t)per_thread * sizeof(T));
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
                T *out = cols + K * n;
                for (int64_t j = 0; j < cnt; j++)
                    FN(im2col_rows_)(s, x + (b0 + j) * sample_in, 0, s->Ho, cols + j * plane,
                                     n);
                st = GEMM(0, 0, s->O, n, K, (T)1, w, K, cols, n, (T)0, out, n, inner);
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
                FN(im2col_rows_)(s, x + bi * sample_in, oh0, oh1, cols, n);
                T *yb = y + bi * sample_out + oh0 * s->Wo;
                st = GEMM(0, 0, s->O, n, K, (T)1, w, K, cols, n, (T)0, yb, plane, inner);
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
    free(ws);
    return DLK_STOPPED(stop) ? DLK_EINTR : status;
}

int FN(dlk_conv2d_backward_)(const dlk_conv_shape *s, const T *dy, const T *x, const T *w,
                             T *dx, T *dw, T *db, int64_t workspace,
                             const dlk_stop_flag *stop, int nthreads)
{
    const int64_t K = s->C * s->kh * s->kw, plane = s->Ho * s->Wo, wsize = s->O * K;
    const int64_t sample_in = s->C * s->H * s->W, sample_out = s->O * plane;
    int64_t nt = nthreads < 1 ? 1 : nthreads;
    /* two buffers per thread: the columns (for dW) and their gradient (for dX) */
    int64_t slot = workspace / WS_SLOTS(2 * nt);
    int64_t rows = FN(block_rows_)(s, slot);
    /* small images: nb whole samples per product, their dY gathered into dyt */
    int64_t nb = rows == s->Ho ? FN(group_samples_)(s, slot) : 1;
    /* dW partial sums in G groups of consecutive samples, fixed whatever the thread
     * count, then added in group order: the same bits at 1 or 2 threads */
    int64_t G = s->B < DW_GROUPS ? s->B : DW_GROUPS;
    int outer = G >= nt ? (int)nt : 1;
    int64_t blk = nb > 1 ? K * nb * plane : K * rows * s->Wo;
    int64_t per_thread = 2 * blk + (nb > 1 ? s->O * nb * plane : 0);
    T *ws = malloc((size_t)(outer * per_thread + G * wsize) * sizeof(T));
    if (!ws) return DLK_ENOMEM;
    T *partial = ws + outer * per_thread;
    int inner = outer > 1 ? 1 : (int)nt, status = DLK_OK;
#pragma omp parallel num_threads(outer) if (outer > 1)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        T *cols = ws + (int64_t)t * per_thread, *dcols = cols + blk, *dyt = dcols + blk;
#pragma omp for schedule(static)
        for (int64_t g = 0; g < G; g++) {
            T *dwg = partial + g * wsize;
            int first = 1;
            int64_t g0 = g * s->B / G, g1 = (g + 1) * s->B / G;
            for (int64_t b0 = g0; nb > 1 && b0 < g1 && !DLK_STOPPED(stop); b0 += nb) {
                int64_t cnt = b0 + nb <= g1 ? nb : g1 - b0, n = cnt * plane;
                for (int64_t j = 0; j < cnt; j++) {
                    FN(im2col_rows_)(s, x + (b0 + j) * sample_in, 0, s->Ho, cols + j * plane,
                                     n);
                    for (int64_t o = 0; o < s->O; o++)
                        memcpy(dyt + o * n + j * plane, dy + (b0 + j) * sample_out + o * plane,
                               (size_t)plane * sizeof(T));
                }
                int st = GEMM(0, 1, s->O, K, n, (T)1, dyt, n, cols, n, first ? (T)0 : (T)1,
                              dwg, K, inner);
                first = 0;
                if (st == DLK_OK)
                    st = GEMM(1, 0, K, n, s->O, (T)1, w, K, dyt, n, (T)0, dcols, n, inner);
                if (st != DLK_OK) status = st;
                for (int64_t j = 0; j < cnt; j++) {
                    T *dxb = dx + (b0 + j) * sample_in;
                    memset(dxb, 0, (size_t)sample_in * sizeof(T));
                    FN(col2im_rows_)(s, dcols + j * plane, n, 0, s->Ho, dxb);
                }
            }
            for (int64_t bi = g0; nb == 1 && bi < g1 && !DLK_STOPPED(stop); bi++) {
                T *dxb = dx + bi * sample_in;
                memset(dxb, 0, (size_t)sample_in * sizeof(T));
                for (int64_t oh0 = 0; oh0 < s->Ho; oh0 += rows) {
                    int64_t oh1 = oh0 + rows < s->Ho ? oh0 + rows : s->Ho;
                    int64_t n = (oh1 - oh0) * s->Wo;
                    const T *dyb = dy + bi * sample_out + oh0 * s->Wo;
                    FN(im2col_rows_)(s, x + bi * sample_in, oh0, oh1, cols, n);
                    /* dW_g += dY_block · colsᵀ */
                    int st = GEMM(0, 1, s->O, K, n, (T)1, dyb, plane, cols, n,
                                  first ? (T)0 : (T)1, dwg, K, inner);
                    first = 0;
                    /* dcols = Wᵀ · dY_block, then added back into the pixels */
                    if (st == DLK_OK)
                        st = GEMM(1, 0, K, n, s->O, (T)1, w, K, dyb, plane, (T)0, dcols, n,
                                  inner);
                    if (st != DLK_OK) status = st;
                    FN(col2im_rows_)(s, dcols, n, oh0, oh1, dxb);
                }
            }
        }
    }
    if (DLK_STOPPED(stop)) {
        free(ws);
        return DLK_EINTR;
    }
    /* dW = Σ_g partial_g in order; db = Σ over samples and pixels of dY, per channel */
    int nt2 = dlk_threads_for(wsize, 4096, nthreads);
#pragma omp parallel num_threads(nt2) if (nt2 > 1)
    {
#pragma omp for schedule(static) nowait
        for (int64_t q = 0; q < wsize; q++) {
            T acc = partial[q];
            for (int64_t g = 1; g < G; g++) acc += partial[g * wsize + q];
            dw[q] = acc;
        }
#pragma omp for schedule(static)
        for (int64_t o = 0; o < s->O; o++) {
            double acc = 0;
            for (int64_t bi = 0; bi < s->B; bi++) {
                const T *d = dy + bi * sample_out + o * plane;
                double part = 0;
#pragma omp simd reduction(+:part)
                for (int64_t q = 0; q < plane; q++) part += (double)d[q];
                acc += part;
            }
            db[o] = (T)acc;
        }
    }
    free(ws);
    return status;
}

#undef FN
#undef CAT
#undef CAT_
