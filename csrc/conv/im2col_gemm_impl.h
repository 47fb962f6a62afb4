/* conv/im2col_gemm_impl.h — convolution as im2col + GEMM (seed section 3), for one
 * element type (dtype.h): the implementation every problem fits.  Included twice by
 * im2col_gemm.c.
 *
 * Forward: the work is a list of items (sample b, block of output rows).  An item's
 * columns (C·kh·kw × rows·Wo) are built in a per-thread buffer and multiplied by
 * W (O × C·kh·kw) straight into y[b] (rows of length Ho·Wo), bias added while the
 * block is in cache.  With at least as many items as threads, an OpenMP loop runs
 * the items; otherwise items run one after the other and each product is split
 * over the threads (dlk_gemm_par).  The engine itself always runs on one thread.
 * Workspace: threads × one block, with blocks sized so that the total stays within
 * the caller's `workspace` bytes (at least one output row per block, so a single
 * row wider than the budget is the one case that exceeds it): memory does not grow
 * with the batch.
 *
 * Names made, per dtype (f32, f64): dlk_conv_im2col_gemm_run_f32, dlk_conv_bias_grad_f32,
 * dlk_im2col_f32, dlk_col2im_f32 (called through dlk_im2col / dlk_col2im); static:
 * shift_range_f32, im2col_shift_f32, col2im_shift_f32, im2col_rows_f32, col2im_rows_f32,
 * im2col_all_f32, col2im_all_f32, block_rows_f32, group_samples_f32, im2col_forward_f32,
 * im2col_backward_f32. */
#define SPREAD(m) dlk_conv_spread((m), (int64_t)sizeof(T))


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

/* Columns of sample xb (C, H, W) for output rows [oh0, oh1): row r = (c, i, j) of the
 * block holds x[c, oh·sh − ph + i·dil_h, ow·sw − pw + j·dil_w] (0 in the padding) at
 * column (oh − oh0)·Wo + ow; rows are `ld` apart. */
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
                /* ow range whose w = ow·sw − pw + j·dil_w lies in [0, W) */
                int64_t off = j * s->dil_w - s->pw;
                int64_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
                int64_t hi = W - 1 - off >= 0 ? (W - 1 - off) / sw + 1 : 0;
                if (hi > Wo) hi = Wo;
                if (lo > hi) lo = hi;
                for (int64_t oh = oh0; oh < oh1; oh++) {
                    T *out = row + (oh - oh0) * Wo;
                    int64_t h = oh * s->sh - s->ph + i * s->dil_h;
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
                int64_t off = j * s->dil_w - s->pw;
                int64_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
                int64_t hi = W - 1 - off >= 0 ? (W - 1 - off) / sw + 1 : 0;
                if (hi > Wo) hi = Wo;
                for (int64_t oh = oh0; oh < oh1; oh++) {
                    int64_t h = oh * s->sh - s->ph + i * s->dil_h;
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

static int FN(im2col_all_)(const dlk_conv_shape *s, const T *x, T *cols, int nthreads)
{
    const int64_t plane = s->Ho * s->Wo, ld = s->B * plane;
    int nt = dlk_threads_for(s->B, 1, nthreads);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t b = 0; b < s->B; b++)
        FN(im2col_rows_)(s, x + b * s->C * s->H * s->W, 0, s->Ho, cols + b * plane, ld);
    return DLK_OK;
}

static int FN(col2im_all_)(const dlk_conv_shape *s, const T *cols, T *x, int nthreads)
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


/* The products of a block, one per group g (groups of O_g = O/groups output channels
 * and K_g = K/groups rows of the columns, both contiguous):
 *   out_g (O_g × n, rows ldo apart) = W_g · cols_g                    (forward)
 *   dWᵀ_g (K_g × O_g) (+)= cols_g · dY_gᵀ, at dwt + g·K_g·O_g           (dW; beta 0 or 1)
 *   dcols_g = W_gᵀ · dY_g                                              (dX) */
static int FN(group_forward_)(const dlk_conv_shape *s, const T *w, const T *cols, int64_t ldc,
                              int64_t n, T *out, int64_t ldo, int inner)
{
    const int64_t G = s->groups, Og = s->O / G, Kg = s->C / G * s->kh * s->kw;
    int st = DLK_OK;
    for (int64_t g = 0; g < G && st == DLK_OK; g++)
        st = GEMM(0, 0, Og, n, Kg, (T)1, w + g * Og * Kg, Kg, cols + g * Kg * ldc, ldc, (T)0,
                  out + g * Og * ldo, ldo, inner);
    return st;
}

static int FN(group_dw_)(const dlk_conv_shape *s, const T *cols, int64_t ldc, const T *dyb,
                         int64_t lddy, int64_t n, T beta, T *dwt, int inner)
{
    const int64_t G = s->groups, Og = s->O / G, Kg = s->C / G * s->kh * s->kw;
    int st = DLK_OK;
    for (int64_t g = 0; g < G && st == DLK_OK; g++)
        st = GEMM(0, 1, Kg, Og, n, (T)1, cols + g * Kg * ldc, ldc, dyb + g * Og * lddy, lddy,
                  beta, dwt + g * Kg * Og, Og, inner);
    return st;
}

static int FN(group_dx_)(const dlk_conv_shape *s, const T *w, const T *dyb, int64_t lddy,
                         int64_t n, T *dcols, int64_t ldc, int inner)
{
    const int64_t G = s->groups, Og = s->O / G, Kg = s->C / G * s->kh * s->kw;
    int st = DLK_OK;
    for (int64_t g = 0; g < G && st == DLK_OK; g++)
        st = GEMM(1, 0, Kg, n, Og, (T)1, w + g * Og * Kg, Kg, dyb + g * Og * lddy, lddy, (T)0,
                  dcols + g * Kg * ldc, ldc, inner);
    return st;
}

/* The forward pass: items of nb whole samples (small images: one product for several
 * samples, its output scattered into y) or one sample's block of rows (large images:
 * the product writes straight into y). */
static int FN(im2col_forward_)(const dlk_conv_problem *p, const T *x, const T *w,
                               const T *b, T *y, const dlk_stop_flag *stop)
{
    const dlk_conv_shape *s = &p->s;
    const int64_t K = s->C * s->kh * s->kw, plane = s->Ho * s->Wo;
    const int64_t sample_in = s->C * s->H * s->W, sample_out = s->O * plane;
    const int64_t nt = p->nthreads, slot = dlk_conv_slot(p, 1);
    /* an item is either a group of nb whole samples (small images: one product for
     * several samples, its output scattered into y) or one sample's block of rows
     * (large images: the product writes straight into y) */
    int64_t rows = FN(block_rows_)(s, slot);
    int64_t nb = rows == s->Ho ? FN(group_samples_)(s, slot) : 1;
    int64_t blocks = nb > 1 ? 1 : (s->Ho + rows - 1) / rows;
    int64_t items = nb > 1 ? (s->B + nb - 1) / nb : s->B * blocks;
    int64_t ldc = SPREAD(nb > 1 ? nb * plane : rows * s->Wo);  /* columns' rows */
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
                st = FN(group_forward_)(s, w, cols, ldc, n, out, n, inner);
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
                st = FN(group_forward_)(s, w, cols, ldc, n, yb, plane, inner);
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

/* dX and dW (as the bits with_dx, with_dw say) through columns: per thread the
 * columns (for dW) and their gradient (for dX).  Items are groups of consecutive
 * samples (at most DW_GROUPS groups); a group's thread owns its samples' dx (col2im
 * adds overlapping windows with no race) and its own dW partial sum; partials are added
 * in group order afterwards, so the result does not depend on the thread count.  Small
 * images go nb samples to a product, their dY gathered into one buffer. */
static int FN(im2col_backward_)(const dlk_conv_problem *p, int with_dx, int with_dw,
                                const T *dy, const T *x, const T *w, T *dx, T *dw,
                                const dlk_stop_flag *stop)
{
    const dlk_conv_shape *s = &p->s;
    const int64_t K = s->C * s->kh * s->kw, plane = s->Ho * s->Wo;
    const int64_t Kg = K / s->groups, Og = s->O / s->groups, wsize = s->O * Kg;
    const int64_t sample_in = s->C * s->H * s->W, sample_out = s->O * plane;
    const int64_t nt = p->nthreads;
    const int nthreads = p->nthreads;
    const int bufs = with_dw + with_dx;
    int64_t slot = dlk_conv_slot(p, bufs);
    int64_t rows = FN(block_rows_)(s, slot);
    /* small images: nb whole samples per product, their dY gathered into dyt */
    int64_t nb = rows == s->Ho ? FN(group_samples_)(s, slot) : 1;
    /* dW partial sums in G groups of consecutive samples, fixed whatever the thread
     * count, then added in group order: the same bits at 1 or 2 threads */
    int64_t G = bufs == 0 ? 0 : s->B < DW_GROUPS ? s->B : DW_GROUPS;
    int outer = G >= nt ? (int)nt : 1;
    int64_t ldc = SPREAD(nb > 1 ? nb * plane : rows * s->Wo);  /* columns' rows */
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
                    st = FN(group_dw_)(s, cols, ldc, dyt, n, n, first ? (T)0 : (T)1, dwg, inner);
                first = 0;
                if (st == DLK_OK && with_dx)
                    st = FN(group_dx_)(s, w, dyt, n, n, dcols, ldc, inner);
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
                        st = FN(group_dw_)(s, cols, ldc, dyb, plane, n, first ? (T)0 : (T)1,
                                           dwg, inner);
                    }
                    first = 0;
                    /* dcols = Wᵀ · dY_block, then added back into the pixels */
                    if (st == DLK_OK && with_dx)
                        st = FN(group_dx_)(s, w, dyb, plane, n, dcols, ldc, inner);
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
    /* dW = Σ_g partial_g in order (the partials are dWᵀ, a K_g × O_g block per group:
     * OpenBLAS runs that product 16% faster than O × K) */
    int nt2 = dlk_threads_for(wsize, 4096, nthreads);
#pragma omp parallel for num_threads(nt2) schedule(static) if (nt2 > 1)
    for (int64_t q = 0; q < (with_dw ? wsize : 0); q++) {
        const int64_t o = q / Kg, grp = o / Og;    /* partials hold dWᵀ, group by group */
        int64_t at = grp * Kg * Og + q % Kg * Og + (o - grp * Og);
        T acc = G > 0 ? partial[at] : (T)0;
        for (int64_t g = 1; g < G; g++) acc += partial[g * wsize + at];
        dw[q] = acc;
    }
    dlk_scratch_give(ws);
    return status;
}

/* db = Σ over samples and pixels of dY, per channel: the plans whose dW pass does not
 * write it. */
void FN(dlk_conv_bias_grad_)(const dlk_conv_shape *s, const T *dy, T *db, int nthreads)
{
    const int64_t plane = s->Ho * s->Wo, sample_out = s->O * plane;
    int nt = dlk_threads_for(s->O * s->B * plane, 1 << 15, nthreads);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t o = 0; o < s->O; o++) {
        double acc = 0;
        for (int64_t bi = 0; bi < s->B; bi++) acc += DLK_SUM(dy + bi * sample_out + o * plane, plane);
        db[o] = (T)acc;
    }
}

/* The implementation's entry: the forward pass, or dX and dW together (one im2col of
 * the input serves both). */
int FN(dlk_conv_im2col_gemm_run_)(const dlk_conv_problem *p, unsigned passes,
                                  const dlk_conv_blocking *blk, const dlk_conv_io *io)
{
    (void)blk;
    if (passes & (1u << DLK_CONV_FORWARD))
        return FN(im2col_forward_)(p, io->x, io->w, io->b, io->y, io->stop);
    return FN(im2col_backward_)(p, (passes >> DLK_CONV_DX) & 1, (passes >> DLK_CONV_DW) & 1,
                                io->dy, io->x, io->w, io->dx, io->dw, io->stop);
}

/* im2col and col2im of the whole batch, the family's own entry points. */
int FN(dlk_im2col_)(const dlk_conv_shape *s, const T *x, T *cols, int nthreads)
{
    return FN(im2col_all_)(s, x, cols, nthreads);
}

int FN(dlk_col2im_)(const dlk_conv_shape *s, const T *cols, T *x, int nthreads)
{
    return FN(col2im_all_)(s, cols, x, nthreads);
}
#undef SPREAD
