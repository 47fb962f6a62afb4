/* rnn_impl.h — RNN and LSTM loops (GEMM_ONE: the one-thread product, GEMM: split over the threads),
 * for one element type (dtype.h); included twice by rnn.c through instantiate.h.
 *
 * Names made, per dtype (f32, f64), all file-local: dlk_rnn_backward_f32, dlk_rnn_forward_f32,
 * dlk_lstm_forward_f32, dlk_lstm_backward_f32 (called by the dtype-tagged entries of
 * rnn.c); activate_f32, backward_steps_f32, forward_steps_f32, lstm_backward_steps_f32,
 * lstm_cell_f32, lstm_cell_backward_f32, lstm_forward_steps_f32, lstm_perm_f32,
 * lstm_rows_f32, lstm_threads_f32, sigmoid_f32, step_threads_f32; column_sums_f32
 * (colsum_impl.h). */
#include "colsum_impl.h"

/* Columns [n0, n1) of this thread's share of the H state units, cut on 16s. */
#define COLUMNS(H, t, nt, n0, n1)                                             \
    int64_t n0 = ((H) + 15) / 16 * (t) / (nt) * 16;                           \
    int64_t n1 = ((H) + 15) / 16 * ((t) + 1) / (nt) * 16;                     \
    if (n1 > (H)) n1 = (H);                                                   \
    if (n0 > (H)) n0 = (H)

/* Threads for a recurrence whose step is `work` multiply-adds: a barrier every step,
 * so none but one while the cores look shared, however long the call (a time slice's
 * wait at each of T barriers). */
static int FN(step_threads_)(int64_t work, int nthreads)
{
    const int nt = dlk_threads_for(work, RNN_GRAIN, nthreads);
    return nt > 1 && (dlk_team_state(dlk_now_ns()) & DLK_TEAM_SHARED) ? 1 : nt;
}

/* a = f(a + b) over one slice of a state row; vector code via the clones */
DLK_CLONES static void FN(activate_)(T *DLK_RESTRICT a, const T *DLK_RESTRICT b, int64_t n,
                                     int relu)
{
    if (b) {
#pragma omp simd
        for (int64_t j = 0; j < n; j++) a[j] += b[j];
    }
    if (relu) {
#pragma omp simd
        for (int64_t j = 0; j < n; j++) a[j] = a[j] < 0 ? (T)0 : a[j];
    } else {
#pragma omp simd
        for (int64_t j = 0; j < n; j++) a[j] = TANH(a[j]);
    }
}

/* Steps [s0, s1) of the forward recursion in one parallel region: each thread owns a
 * slice of the state units; a barrier per step publishes h_t before anyone reads it. */
static void FN(forward_steps_)(int64_t B, int64_t Tn, int64_t H, const T *h0, const T *W,
                               int tw, const T *b, const int64_t *lengths, int relu, T *hs,
                               int64_t s0, int64_t s1, int nt)
{
    const int64_t ld = Tn * H;              /* hs[:, t] is B rows, ld apart */
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        COLUMNS(H, t, nt, n0, n1);
        for (int64_t s = s0; s < s1 && n1 > n0; s++) {
            const T *prev = s == 0 ? h0 : hs + (s - 1) * H;
            int64_t lprev = s == 0 ? H : ld;
            T *cur = hs + s * H;
            /* a_t[:, n0:n1] = h_{t−1} W[n0:n1]ᵀ + (x_t Uᵀ)[:, n0:n1] */
            GEMM_ONE(0, !tw, B, n1 - n0, H, (T)1, prev, lprev, tw ? W + n0 : W + n0 * H, H,
                     (T)1, cur + n0, ld);
            for (int64_t i = 0; i < B; i++) {
                T *a = cur + i * ld;
                const T *hp = prev + i * lprev;
                if (s >= lengths[i]) {              /* finished: the state is frozen */
                    for (int64_t j = n0; j < n1; j++) a[j] = hp[j];
                    continue;
                }
                FN(activate_)(a + n0, b ? b + n0 : NULL, n1 - n0, relu);
            }
            dlk_step_barrier(nt);
        }
    }
}

static int FN(dlk_rnn_forward_)(int64_t B, int64_t Tn, int64_t D, int64_t H, const T *x,
                                const T *h0, const T *W, int tw, const T *U, int tu,
                                const T *b, const int64_t *lengths, int relu, T *hs,
                                const dlk_stop_flag *stop, int nthreads)
{
    /* the input projection of every step at once: hs = x Uᵀ (+ b below); in blocks of
     * rows when the call may be stopped (the same bits: each row is its own product) */
    const int64_t rows = B * Tn, block = stop ? STOP_ROWS : rows;
    for (int64_t r0 = 0; r0 < rows; r0 += block) {
        if (DLK_STOPPED(stop)) return DLK_EINTR;
        int64_t n = rows - r0 < block ? rows - r0 : block;
        int st = GEMM(0, !tu, n, H, D, (T)1, x + r0 * D, D, U, tu ? H : D, (T)0,
                      hs + r0 * H, H, nthreads);
        if (st != DLK_OK) return st;
    }
    int nt = FN(step_threads_)(B * H * H, nthreads);
    if (nt > (H + 15) / 16) nt = (int)((H + 15) / 16);
    /* the whole sequence in one region, or STOP_STEPS at a time when it may be stopped */
    const int64_t chunk = stop ? STOP_STEPS : Tn;
    for (int64_t s0 = 0; s0 < Tn; s0 += chunk) {
        if (DLK_STOPPED(stop)) return DLK_EINTR;
        FN(forward_steps_)(B, Tn, H, h0, W, tw, b, lengths, relu, hs, s0,
                           s0 + chunk < Tn ? s0 + chunk : Tn, nt);
    }
    return DLK_OK;
}

/* Steps s1 − 1 down to s0 of BPTT in one parallel region (columns as forward_steps_):
 * δ_t into delta, the carried gradient into carry (g: scratch). */
static void FN(backward_steps_)(int64_t B, int64_t Tn, int64_t H, const T *dhs, const T *hs,
                                const T *W, int tw, const int64_t *lengths, int relu, T *delta,
                                T *g, T *carry, int64_t s0, int64_t s1, int nt)
{
    const int64_t ld = Tn * H;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        COLUMNS(H, t, nt, n0, n1);
        for (int64_t s = s1 - 1; s >= s0 && n1 > n0; s--) {
            /* g = ∂L/∂h_t + carry; δ_t = g ⊙ f′(a_t), f′ from h_t; frozen steps pass g on */
            for (int64_t i = 0; i < B; i++) {
                const T *gi = dhs + i * ld + s * H, *h = hs + i * ld + s * H;
                T *ci = carry + i * H, *gg = g + i * H, *d = delta + i * ld + s * H;
                int frozen = s >= lengths[i];
                for (int64_t j = n0; j < n1; j++) {
                    T v = gi[j] + ci[j];
                    gg[j] = v;
                    T fp = relu ? (T)(h[j] > 0) : (T)1 - h[j] * h[j];
                    d[j] = frozen ? (T)0 : v * fp;
                }
            }
            dlk_step_barrier(nt);
            /* carry[:, n0:n1] = δ_t W[:, n0:n1] (frozen rows: g) */
            GEMM_ONE(0, tw, B, n1 - n0, H, (T)1, delta + s * H, ld, tw ? W + n0 * H : W + n0, H,
                     (T)0, carry + n0, H);
            for (int64_t i = 0; i < B; i++)
                if (s >= lengths[i])
                    for (int64_t j = n0; j < n1; j++) carry[i * H + j] = g[i * H + j];
            /* no barrier here: the next step reads only this thread's own columns of
             * carry and g, and writes δ of another step than the one the other
             * threads' products may still be reading */
        }
    }
}

static int FN(dlk_rnn_backward_)(int64_t B, int64_t Tn, int64_t D, int64_t H, const T *dhs,
                                 const T *x, const T *hs, const T *h0, const T *W, int tw,
                                 const T *U, int tu, const int64_t *lengths, int relu, T *dx,
                                 T *dh0, T *dW, T *dU, T *db, const dlk_stop_flag *stop,
                                 int nthreads)
{
    const int64_t ld = Tn * H, BT = B * Tn;
    /* delta (B, T, H) for the products after the loop, hprev (B, T, H) = h_{t−1},
     * g and carry (B, H) for the recursion */
    T *delta = dlk_scratch_take((size_t)(2 * BT * H + 2 * B * H) * sizeof(T));
    if (!delta) return DLK_ENOMEM;
    T *hprev = delta + BT * H, *g = hprev + BT * H, *carry = g + B * H;
    memset(carry, 0, (size_t)(B * H) * sizeof(T));
    int nt = FN(step_threads_)(B * H * H, nthreads);
    if (nt > (H + 15) / 16) nt = (int)((H + 15) / 16);
    const int64_t chunk = stop ? STOP_STEPS : Tn;
    for (int64_t s1 = Tn; s1 > 0; s1 -= chunk) {
        if (DLK_STOPPED(stop)) {
            dlk_scratch_give(delta);
            return DLK_EINTR;
        }
        FN(backward_steps_)(B, Tn, H, dhs, hs, W, tw, lengths, relu, delta, g, carry,
                            s1 - chunk > 0 ? s1 - chunk : 0, s1, nt);
    }
    memcpy(dh0, carry, (size_t)(B * H) * sizeof(T));
    /* everything that does not feed the recursion: one product each, over all steps */
    for (int64_t i = 0; i < B; i++) {
        memcpy(hprev + i * ld, h0 + i * H, (size_t)H * sizeof(T));
        memcpy(hprev + i * ld + H, hs + i * ld, (size_t)((Tn - 1) * H) * sizeof(T));
    }
    /* dW and dU come out in the layout W and U came in (tw, tu: stored transposed) */
    int st = tw ? GEMM(1, 0, H, H, BT, (T)1, hprev, H, delta, H, (T)0, dW, H, nthreads)
                : GEMM(1, 0, H, H, BT, (T)1, delta, H, hprev, H, (T)0, dW, H, nthreads);
    if (st == DLK_OK)
        st = tu ? GEMM(1, 0, D, H, BT, (T)1, x, D, delta, H, (T)0, dU, H, nthreads)
                : GEMM(1, 0, H, D, BT, (T)1, delta, H, x, D, (T)0, dU, D, nthreads);
    if (st == DLK_OK)
        st = GEMM(0, tu, BT, D, H, (T)1, delta, H, U, tu ? H : D, (T)0, dx, D, nthreads);
    /* db: Σ over samples and steps, per unit, in double and in order */
    if (st == DLK_OK) FN(column_sums_)(delta, BT, H, H, NULL, db, RNN_GRAIN, nthreads);
    dlk_scratch_give(delta);
    return st;
}

/* ---- LSTM ------------------------------------------------------------------------
 * The gates are stacked (i, f, g, o) in W, U, b.  Inside a call their rows are regrouped
 * by thread: thread t owns the units [n0, n1) (COLUMNS), m = n1 − n0 of them, and its
 * 4m gate rows sit together at offset 4·n0 in the order i, f, g, o.  A (B, T, 4H), a
 * step's pre-activations (in the backward pass then its δ), has its columns in that
 * order, so a thread's step is one product B × 4m × H instead of four (B32 T168 H128,
 * forward: 13 → 8 ms).  The products over all steps do not care; dW, dU and db are put
 * back in the stacked order at the end.  The bias is added where a gate is evaluated,
 * not in a pass of its own over A. */

/* perm[c] = the stacked row of regrouped row c, for nt threads */
static void FN(lstm_perm_)(int64_t H, int nt, int64_t *perm)
{
    for (int t = 0; t < nt; t++) {
        COLUMNS(H, t, nt, n0, n1);
        for (int64_t k = 0; k < 4; k++)
            for (int64_t j = n0; j < n1; j++) perm[4 * n0 + k * (n1 - n0) + (j - n0)] = k * H + j;
    }
}

/* The G rows (of n values) of a stacked matrix regrouped into rows of ld: dst[c][0:n] =
 * row perm[c], or back: row perm[c] = src[c][0:n].  The stacked matrix (src, or dst
 * back) is stored row-major, or with tr as its transpose (n rows of G: element (r, k)
 * at k·G + r), then copied in small tiles: with G a power of two the strided side's
 * lines share cache sets (a 2048 × 512 float transpose, AMD EPYC Zen 3: 3.9 ms element
 * by element, 1.3-1.6 ms in tiles of 8-16).  A missing src (no bias) regroups zeros. */
static void FN(lstm_rows_)(T *dst, const T *src, const int64_t *perm, int64_t G, int64_t n,
                           int64_t ld, int back, int tr)
{
    if (tr && (back || src)) {
        /* tiles of up to 16 rows that perm keeps in order (a gate's units of one
         * thread) by 8 columns */
        for (int64_t c0 = 0; c0 < G;) {
            int64_t c1 = c0 + 1;
            while (c1 < G && c1 - c0 < 16 && perm[c1] == perm[c0] + (c1 - c0)) c1++;
            const int64_t r0 = perm[c0], w = c1 - c0;
            for (int64_t k0 = 0; k0 < n; k0 += 8) {
                const int64_t k1 = k0 + 8 < n ? k0 + 8 : n;
                for (int64_t c = 0; c < w; c++) {
                    T *d = back ? dst + r0 + c : dst + (c0 + c) * ld;
                    const T *q = back ? src + (c0 + c) * ld : src + r0 + c;
                    if (back) for (int64_t k = k0; k < k1; k++) d[k * G] = q[k];
                    else for (int64_t k = k0; k < k1; k++) d[k] = q[k * G];
                }
            }
            c0 = c1;
        }
        return;
    }
    for (int64_t c = 0; c < G; c++) {
        if (back) memcpy(dst + perm[c] * n, src + c * ld, (size_t)n * sizeof(T));
        else if (src) memcpy(dst + c * ld, src + perm[c] * n, (size_t)n * sizeof(T));
        else memset(dst + c * ld, 0, (size_t)n * sizeof(T));
    }
}

static inline T FN(sigmoid_)(T v) { return (T)1 / ((T)1 + EXP(-v)); }

/* A thread's block of pre-activations a = [i | f | g | o] (m units each) becomes the
 * gate values, its bias added: σ, σ, tanh, σ. */
DLK_CLONES static void FN(lstm_activate_)(int64_t m, T *DLK_RESTRICT a,
                                          const T *DLK_RESTRICT b)
{
    /* three loops: one with a select evaluated both functions everywhere (9% of the
     * forward at B64 T50 H256) */
#pragma omp simd
    for (int64_t j = 0; j < 2 * m; j++) a[j] = FN(sigmoid_)(a[j] + b[j]);
#pragma omp simd
    for (int64_t j = 2 * m; j < 3 * m; j++) a[j] = TANH(a[j] + b[j]);
#pragma omp simd
    for (int64_t j = 3 * m; j < 4 * m; j++) a[j] = FN(sigmoid_)(a[j] + b[j]);
}

/* One step of the cell over m units from a block of gate values [i | f | g | o]:
 * c = f c_prev + i g, h = o tanh c. */
DLK_CLONES static void FN(lstm_cell_)(int64_t m, const T *DLK_RESTRICT a,
                                      const T *DLK_RESTRICT cp, T *DLK_RESTRICT c,
                                      T *DLK_RESTRICT h)
{
#pragma omp simd
    for (int64_t j = 0; j < m; j++) {
        const T cn = a[m + j] * cp[j] + a[j] * a[2 * m + j];
        c[j] = cn;
        h[j] = a[3 * m + j] * TANH(cn);
    }
}

/* A block of gate values into the stacked (i, f, g, o) layout of a row of `gates`:
 * segment k of the block goes to row[k·H + n0 :][:m]. */
static inline void FN(lstm_gate_copy_)(const T *block, T *row, int64_t m, int64_t H,
                                       int64_t n0)
{
    for (int64_t k = 0; k < 4; k++)
        memcpy(row + k * H + n0, block + k * m, (size_t)m * sizeof(T));
}

/* Columns a thread's step product takes at a time: B·H·LSTM_COLS ≤ 2^20 multiply-adds
 * reach OpenBLAS's unpacked small-matrix path (AMD EPYC Zen 4, 32×256×128 against the
 * transposed weights: one call 25.7 µs, two of 128 columns 19.2 µs); larger products
 * go in one call (64×512×256 in eight: 6% slower). */
#define LSTM_COLS 128

/* Steps [s0, s1) of the forward recursion.  Step s multiplies src (B × K) by the
 * regrouped weights Wk (K × 4H) into a block of pre-activations: with xh (two buffers of
 * B rows [x_t | h_{t−1}], K = D + H) the whole of a_t = [x_t | h_{t−1}] [U | W]ᵀ into
 * A (B × 4H, reused each step), the cell writing the next step's buffer; without, K = H
 * and h_{t−1} Wᵀ is added to the input projection already in A (B, T, 4H). */
static void FN(lstm_forward_steps_)(int64_t B, int64_t Tn, int64_t D, int64_t H,
                                    const T *x, const T *h0, const T *c0, const T *Wk,
                                    const T *bp, const int64_t *lengths, T *A, T *xh, T *hs,
                                    T *cs, T *gates, int64_t s0, int64_t s1, int nt)
{
    const int64_t ld = Tn * H, G = 4 * H, K = xh ? D + H : H;
    const int64_t ldd = xh ? G : Tn * G;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        COLUMNS(H, t, nt, n0, n1);
        const int64_t m = n1 - n0, off = 4 * n0;
        const int64_t cols = B * K * LSTM_COLS <= ((int64_t)1 << 20) ? LSTM_COLS : 4 * m;
        for (int64_t s = s0; s < s1 && m > 0; s++) {
            const T *prev = s == 0 ? h0 : hs + (s - 1) * H;
            const int64_t lprev = s == 0 ? H : ld;
            T *cur = xh ? xh + (s % 2) * B * K : NULL, *next = xh ? xh + (1 - s % 2) * B * K : NULL;
            T *a = (xh ? A : A + s * G) + off;
            /* this thread's block of gates, a[:, off:off+4m] (+)= src Wk[:, off:off+4m] */
            for (int64_t k = 0; k < 4 * m; k += cols)
                GEMM_ONE(0, 0, B, 4 * m - k < cols ? 4 * m - k : cols, K, (T)1,
                         xh ? cur : prev, xh ? K : lprev, Wk + off + k, G, xh ? (T)0 : (T)1,
                         a + k, ldd);
            for (int64_t i = 0; i < B; i++) {
                const T *hp = prev + i * lprev;
                const T *cp = s == 0 ? c0 + i * H : cs + i * ld + (s - 1) * H;
                T *c = cs + i * ld + s * H, *h = hs + i * ld + s * H, *ai = a + i * ldd;
                FN(lstm_activate_)(m, ai, bp + off);
                if (gates) FN(lstm_gate_copy_)(ai, gates + (i * Tn + s) * G, m, H, n0);
                if (s >= lengths[i]) {              /* finished: h and c are frozen */
                    for (int64_t j = n0; j < n1; j++) {
                        h[j] = hp[j];
                        c[j] = cp[j];
                    }
                } else {
                    FN(lstm_cell_)(m, ai, cp + n0, c + n0, h + n0);
                }
                if (xh && s + 1 < Tn) {             /* the next step's [x_{t+1} | h_t] */
                    memcpy(next + i * K + D + n0, h + n0, (size_t)m * sizeof(T));
                    if (i % nt == t)
                        memcpy(next + i * K, x + (i * Tn + s + 1) * D, (size_t)D * sizeof(T));
                }
            }
            dlk_step_barrier(nt);
        }
    }
}

/* Threads of the recursion (the layout of A depends on it). */
static int FN(lstm_threads_)(int64_t B, int64_t H, int nthreads)
{
    int nt = FN(step_threads_)(B * 4 * H * H, nthreads);
    return nt > (H + 15) / 16 ? (int)((H + 15) / 16) : nt;
}

static int FN(dlk_lstm_forward_)(int64_t B, int64_t Tn, int64_t D, int64_t H, const T *x,
                                 const T *h0, const T *c0, const T *W, int tw, const T *U,
                                 int tu, const T *b, const int64_t *lengths, T *hs, T *cs,
                                 T *gates, const dlk_stop_flag *stop, int nthreads)
{
    const int64_t BT = B * Tn, G = 4 * H;
    const int nt = FN(lstm_threads_)(B, H, nthreads);
    dlk_gemm_hold_one_thread();   /* GEMM_ONE may come first (a caller's BLAS limit) */
    /* 4D ≤ H: the input enters each step's product ([x_t | h_{t−1}] [U | W]ᵀ, K = D + H),
     * no (B, T, 4H) pass through memory; a wider input is projected for all steps at
     * once first, the step's weights staying those of h.  Measured against torch.nn.LSTM
     * (AMD EPYC Zen 4, 2 threads): B32 T168 D8 H128 fused 1.09–1.10×, not 0.90–1.06×;
     * B64 T50 D64 H256 0.80–0.83× either way; B128 T16 D256 H512 fused 0.71–0.75×, not
     * 0.83–0.85×. */
    const int fuse = 4 * D <= H;
    const int64_t K = D + H;
    /* the permutation (first: int64 alignment); [U | W]ᵀ (K, 4H) with its columns
     * regrouped (the step product reads it untransposed: faster, see LSTM_COLS); b
     * regrouped; A (B, 4H) and two xh buffers (B, K), or A (B, T, 4H) */
    int64_t *perm = dlk_scratch_take((size_t)G * sizeof(int64_t) +
                                     (size_t)(G * (K + 1) + (fuse ? B * G + 2 * B * K : BT * G)) *
                                         sizeof(T));
    if (!perm) return DLK_ENOMEM;
    T *UWt = (T *)(perm + G), *bp = UWt + K * G, *A = bp + G, *xh = fuse ? A + B * G : NULL;
    FN(lstm_perm_)(H, nt, perm);
    for (int64_t k = 0; k < K; k++) {   /* row by row: written G apart it took 4% */
        T *row = UWt + k * G;
        if (k < D && tu) for (int64_t c = 0; c < G; c++) row[c] = U[k * G + perm[c]];
        else if (k < D) for (int64_t c = 0; c < G; c++) row[c] = U[perm[c] * D + k];
        else if (tw) for (int64_t c = 0; c < G; c++) row[c] = W[(k - D) * G + perm[c]];
        else for (int64_t c = 0; c < G; c++) row[c] = W[perm[c] * H + k - D];
    }
    FN(lstm_rows_)(bp, b, perm, G, 1, 1, 0, 0);
    int st = DLK_OK;
    if (fuse) {
        for (int64_t i = 0; i < B; i++) {
            memcpy(xh + i * K, x + i * Tn * D, (size_t)D * sizeof(T));
            memcpy(xh + i * K + D, h0 + i * H, (size_t)H * sizeof(T));
        }
    } else {   /* the input projection of every step at once, A = x Uᵀ (regrouped) */
        st = GEMM(0, 0, BT, G, D, (T)1, x, D, UWt, G, (T)0, A, G, nthreads);
    }
    const int64_t chunk = stop ? STOP_STEPS : Tn;
    for (int64_t s0 = 0; s0 < Tn && st == DLK_OK; s0 += chunk) {
        if (DLK_STOPPED(stop)) st = DLK_EINTR;
        else FN(lstm_forward_steps_)(B, Tn, D, H, x, h0, c0, fuse ? UWt : UWt + D * G, bp,
                                     lengths, A, xh, hs, cs, gates, s0,
                                     s0 + chunk < Tn ? s0 + chunk : Tn, nt);
    }
    dlk_scratch_give(perm);
    return st;
}

/* One step of BPTT over m units: from the gate values gi, gf, gg, go (the forward's
 * saved gates read where they lie, or a's own segments), the cell states and dh =
 * ∂L/∂h_t + carry_h (into dhg), the δ block [i | f | g | o] into a; carry_c becomes
 * dc ⊙ f.  a may be the gates' own block: each j reads its four values before writing
 * (so no restrict on those pointers; the simd pragma vouches for the loop). */
DLK_CLONES static void FN(lstm_cell_backward_)(int64_t m, const T *gi, const T *gf,
                                               const T *gg, const T *go, T *a,
                                               const T *DLK_RESTRICT c,
                                               const T *DLK_RESTRICT cp,
                                               const T *DLK_RESTRICT dhs,
                                               const T *DLK_RESTRICT ch, T *DLK_RESTRICT cc,
                                               T *DLK_RESTRICT dhg)
{
#pragma omp simd
    for (int64_t j = 0; j < m; j++) {
        const T i = gi[j], f = gf[j], g = gg[j], o = go[j], tc = TANH(c[j]);
        const T dh = dhs[j] + ch[j];
        const T dc = cc[j] + dh * o * ((T)1 - tc * tc);
        dhg[j] = dh;
        a[j] = dc * g * i * ((T)1 - i);
        a[m + j] = dc * cp[j] * f * ((T)1 - f);
        a[2 * m + j] = dc * i * ((T)1 - g * g);
        a[3 * m + j] = dh * tc * o * ((T)1 - o);
        cc[j] = dc * f;
    }
}

/* Steps [s0, s1) of BPTT, backwards; UW is [U | W] regrouped (rows of D + H).  The gate
 * values come from `gates` or, without it, from the pre-activations in A.  Each thread
 * sums the δ of its 4m gate columns into dbacc as it makes them (in double, steps from
 * the last, samples in order: the same bits at any thread count). */
static void FN(lstm_backward_steps_)(int64_t B, int64_t Tn, int64_t D, int64_t H,
                                     const T *dhs, const T *cs, const T *c0, const T *UW,
                                     const T *bp, const T *gates, const int64_t *lengths,
                                     T *A, T *dhg,
                                     T *carry_h, T *carry_c, double *dbacc, int64_t s0,
                                     int64_t s1, int nt)
{
    const int64_t ld = Tn * H, G = 4 * H, lda = Tn * G;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        COLUMNS(H, t, nt, n0, n1);
        const int64_t m = n1 - n0, off = 4 * n0;
        for (int64_t s = s1 - 1; s >= s0 && m > 0; s--) {
            for (int64_t i = 0; i < B; i++) {
                T *a = A + i * lda + s * G + off;
                const T *d = dhs + i * ld + s * H, *c = cs + i * ld + s * H;
                const T *cp = s == 0 ? c0 + i * H : c - H;
                T *ch = carry_h + i * H, *cc = carry_c + i * H, *hg = dhg + i * H;
                if (s >= lengths[i]) {   /* frozen: dh and dc pass on, δ is zero */
                    for (int64_t j = n0; j < n1; j++) hg[j] = d[j] + ch[j];
                    for (int64_t j = 0; j < 4 * m; j++) a[j] = 0;
                    continue;
                }
                /* the gate values: the saved ones in their stacked row (no copy: it
                 * was 9% of the backward, B32 T168 H128, one thread), or made in a */
                const T *g = gates ? gates + (i * Tn + s) * G + n0 : a;
                const int64_t gs = gates ? H : m;
                if (!gates) FN(lstm_activate_)(m, a, bp + off);
                FN(lstm_cell_backward_)(m, g, g + gs, g + 2 * gs, g + 3 * gs, a, c + n0,
                                        cp + n0, d + n0, ch + n0, cc + n0, hg + n0);
                for (int64_t j = 0; j < 4 * m; j++) dbacc[off + j] += (double)a[j];
            }
            dlk_step_barrier(nt);
            /* carry_h[:, n0:n1] = δ_t W[:, n0:n1] (δ and W's rows in the same order;
             * frozen rows: dh) */
            GEMM_ONE(0, 0, B, m, G, (T)1, A + s * G, lda, UW + D + n0, D + H, (T)0,
                     carry_h + n0, H);
            for (int64_t i = 0; i < B; i++)
                if (s >= lengths[i])
                    for (int64_t j = n0; j < n1; j++) carry_h[i * H + j] = dhg[i * H + j];
            /* no barrier: as in backward_steps_ */
        }
    }
}

static int FN(dlk_lstm_backward_)(int64_t B, int64_t Tn, int64_t D, int64_t H, const T *dhs,
                                  const T *x, const T *hs, const T *cs, const T *h0,
                                  const T *c0, const T *W, int tw, const T *U, int tu,
                                  const T *b, const T *gates, const int64_t *lengths,
                                  const T *dc_last, T *dx, T *dh0, T *dc0, T *dW, T *dU, T *db,
                                  const dlk_stop_flag *stop, int nthreads)
{
    const int64_t ld = Tn * H, BT = B * Tn, G = 4 * H, K = D + H;
    const int nt = FN(lstm_threads_)(B, H, nthreads);
    dlk_gemm_hold_one_thread();   /* with gates, GEMM_ONE comes first */
    /* the permutation and dbacc (first: 8-byte alignment); A (B, T, 4H); xh (B, T, D + H)
     * = [x_t | h_{t−1}]; dhg, carry_h, carry_c (B, H); UW = [U | W] and b regrouped
     * (later [dU | dW] in that order) */
    int64_t *perm = dlk_scratch_take((size_t)G * (sizeof(int64_t) + sizeof(double)) +
                                     (size_t)(BT * G + BT * K + 3 * B * H + G * (K + 1)) *
                                         sizeof(T));
    if (!perm) return DLK_ENOMEM;
    double *dbacc = (double *)(perm + G);
    T *A = (T *)(dbacc + G), *xh = A + BT * G, *dhg = xh + BT * K;
    T *carry_h = dhg + B * H, *carry_c = carry_h + B * H, *UW = carry_c + B * H;
    T *bp = UW + G * K;
    FN(lstm_perm_)(H, nt, perm);
    FN(lstm_rows_)(UW, U, perm, G, D, K, 0, tu);
    FN(lstm_rows_)(UW + D, W, perm, G, H, K, 0, tw);
    FN(lstm_rows_)(bp, b, perm, G, 1, 1, 0, 0);
    for (int64_t r = 0; r < BT; r++) {
        const int64_t i = r / Tn, s = r % Tn;
        memcpy(xh + r * K, x + r * D, (size_t)D * sizeof(T));
        memcpy(xh + r * K + D, s == 0 ? h0 + i * H : hs + i * ld + (s - 1) * H,
               (size_t)H * sizeof(T));
    }
    memset(dbacc, 0, (size_t)G * sizeof(double));
    memset(carry_h, 0, (size_t)(B * H) * sizeof(T));
    if (dc_last) memcpy(carry_c, dc_last, (size_t)(B * H) * sizeof(T));
    else memset(carry_c, 0, (size_t)(B * H) * sizeof(T));
    /* without the forward's gates, the pre-activations again, every step's at once:
     * A = [x_t | h_{t−1}] UWᵀ */
    int st = gates ? DLK_OK : GEMM(0, 1, BT, G, K, (T)1, xh, K, UW, K, (T)0, A, G, nthreads);
    const int64_t chunk = stop ? STOP_STEPS : Tn;
    for (int64_t s1 = Tn; s1 > 0 && st == DLK_OK; s1 -= chunk) {
        if (DLK_STOPPED(stop)) st = DLK_EINTR;
        else FN(lstm_backward_steps_)(B, Tn, D, H, dhs, cs, c0, UW, bp, gates, lengths, A,
                                      dhg, carry_h, carry_c, dbacc,
                                      s1 - chunk > 0 ? s1 - chunk : 0, s1, nt);
    }
    if (st == DLK_OK) {
        memcpy(dh0, carry_h, (size_t)(B * H) * sizeof(T));
        memcpy(dc0, carry_c, (size_t)(B * H) * sizeof(T));
        /* the products that do not feed the recursion, over all steps at once; dx first,
         * while UW still holds [U | W], then [dU | dW] = δᵀ [x_t | h_{t−1}] into UW */
        st = GEMM(0, 0, BT, D, G, (T)1, A, G, UW, K, (T)0, dx, D, nthreads);
    }
    if (st == DLK_OK) st = GEMM(1, 0, G, K, BT, (T)1, A, G, xh, K, (T)0, UW, K, nthreads);
    if (st == DLK_OK) {
        FN(lstm_rows_)(dU, UW, perm, G, D, K, 1, tu);   /* in U's and W's layout */
        FN(lstm_rows_)(dW, UW + D, perm, G, H, K, 1, tw);
        for (int64_t c = 0; c < G; c++) db[perm[c]] = (T)dbacc[c];
    }
    dlk_scratch_give(perm);
    return st;
}

#undef COLUMNS
