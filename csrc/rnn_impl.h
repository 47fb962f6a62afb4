/* rnn_impl.h — RNN and LSTM loops (GEMM_ONE: the one-thread product, GEMM: split over the threads),
 * for one element type (dtype.h); included twice by rnn.c through instantiate.h.
 *
 * Names made, per dtype (f32, f64), all file-local: dlk_rnn_backward_f32, dlk_rnn_forward_f32,
 * dlk_lstm_forward_f32, dlk_lstm_backward_f32 (called by the dtype-tagged entries of
 * rnn.c); activate_f32, add_bias_f32, backward_steps_f32, forward_steps_f32,
 * lstm_backward_steps_f32, lstm_cell_f32, lstm_cell_backward_f32, lstm_forward_steps_f32,
 * lstm_gates_f32, lstm_perm_f32, lstm_rows_f32, lstm_threads_f32; column_sums_f32
 * (colsum_impl.h). */
#include "colsum_impl.h"

/* Columns [n0, n1) of this thread's share of the H state units, cut on 16s. */
#define COLUMNS(H, t, nt, n0, n1)                                             \
    int64_t n0 = ((H) + 15) / 16 * (t) / (nt) * 16;                           \
    int64_t n1 = ((H) + 15) / 16 * ((t) + 1) / (nt) * 16;                     \
    if (n1 > (H)) n1 = (H);                                                   \
    if (n0 > (H)) n0 = (H)

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
                               const T *b, const int64_t *lengths, int relu, T *hs,
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
            GEMM_ONE(0, 1, B, n1 - n0, H, (T)1, prev, lprev, W + n0 * H, H, (T)1, cur + n0, ld);
            for (int64_t i = 0; i < B; i++) {
                T *a = cur + i * ld;
                const T *hp = prev + i * lprev;
                if (s >= lengths[i]) {              /* finished: the state is frozen */
                    for (int64_t j = n0; j < n1; j++) a[j] = hp[j];
                    continue;
                }
                FN(activate_)(a + n0, b ? b + n0 : NULL, n1 - n0, relu);
            }
#pragma omp barrier
        }
    }
}

static int FN(dlk_rnn_forward_)(int64_t B, int64_t Tn, int64_t D, int64_t H, const T *x,
                                const T *h0, const T *W, const T *U, const T *b,
                                const int64_t *lengths, int relu, T *hs,
                                const dlk_stop_flag *stop, int nthreads)
{
    /* the input projection of every step at once: hs = x Uᵀ (+ b below); in blocks of
     * rows when the call may be stopped (the same bits: each row is its own product) */
    const int64_t rows = B * Tn, block = stop ? STOP_ROWS : rows;
    for (int64_t r0 = 0; r0 < rows; r0 += block) {
        if (DLK_STOPPED(stop)) return DLK_EINTR;
        int64_t n = rows - r0 < block ? rows - r0 : block;
        int st = GEMM(0, 1, n, H, D, (T)1, x + r0 * D, D, U, D, (T)0, hs + r0 * H, H,
                          nthreads);
        if (st != DLK_OK) return st;
    }
    int nt = dlk_threads_for(B * H * H, RNN_GRAIN, nthreads);
    if (nt > (H + 15) / 16) nt = (int)((H + 15) / 16);
    /* the whole sequence in one region, or STOP_STEPS at a time when it may be stopped */
    const int64_t chunk = stop ? STOP_STEPS : Tn;
    for (int64_t s0 = 0; s0 < Tn; s0 += chunk) {
        if (DLK_STOPPED(stop)) return DLK_EINTR;
        FN(forward_steps_)(B, Tn, H, h0, W, b, lengths, relu, hs, s0,
                           s0 + chunk < Tn ? s0 + chunk : Tn, nt);
    }
    return DLK_OK;
}

/* Steps s1 − 1 down to s0 of BPTT in one parallel region (columns as forward_steps_):
 * δ_t into delta, the carried gradient into carry (g: scratch). */
static void FN(backward_steps_)(int64_t B, int64_t Tn, int64_t H, const T *dhs, const T *hs,
                                const T *W, const int64_t *lengths, int relu, T *delta,
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
#pragma omp barrier
            /* carry[:, n0:n1] = δ_t W[:, n0:n1] (frozen rows: g) */
            GEMM_ONE(0, 0, B, n1 - n0, H, (T)1, delta + s * H, ld, W + n0, H, (T)0, carry + n0,
                     H);
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
                                 const T *x, const T *hs, const T *h0, const T *W, const T *U,
                                 const int64_t *lengths, int relu, T *dx, T *dh0, T *dW, T *dU,
                                 T *db, const dlk_stop_flag *stop, int nthreads)
{
    const int64_t ld = Tn * H, BT = B * Tn;
    /* delta (B, T, H) for the products after the loop, hprev (B, T, H) = h_{t−1},
     * g and carry (B, H) for the recursion */
    T *delta = dlk_scratch_take((size_t)(2 * BT * H + 2 * B * H) * sizeof(T));
    if (!delta) return DLK_ENOMEM;
    T *hprev = delta + BT * H, *g = hprev + BT * H, *carry = g + B * H;
    memset(carry, 0, (size_t)(B * H) * sizeof(T));
    int nt = dlk_threads_for(B * H * H, RNN_GRAIN, nthreads);
    if (nt > (H + 15) / 16) nt = (int)((H + 15) / 16);
    const int64_t chunk = stop ? STOP_STEPS : Tn;
    for (int64_t s1 = Tn; s1 > 0; s1 -= chunk) {
        if (DLK_STOPPED(stop)) {
            dlk_scratch_give(delta);
            return DLK_EINTR;
        }
        FN(backward_steps_)(B, Tn, H, dhs, hs, W, lengths, relu, delta, g, carry,
                            s1 - chunk > 0 ? s1 - chunk : 0, s1, nt);
    }
    memcpy(dh0, carry, (size_t)(B * H) * sizeof(T));
    /* everything that does not feed the recursion: one product each, over all steps */
    for (int64_t i = 0; i < B; i++) {
        memcpy(hprev + i * ld, h0 + i * H, (size_t)H * sizeof(T));
        memcpy(hprev + i * ld + H, hs + i * ld, (size_t)((Tn - 1) * H) * sizeof(T));
    }
    int st = GEMM(1, 0, H, H, BT, (T)1, delta, H, hprev, H, (T)0, dW, H, nthreads);
    if (st == DLK_OK)
        st = GEMM(1, 0, H, D, BT, (T)1, delta, H, x, D, (T)0, dU, D, nthreads);
    if (st == DLK_OK)
        st = GEMM(0, 0, BT, D, H, (T)1, delta, H, U, D, (T)0, dx, D, nthreads);
    /* db: Σ over samples and steps, per unit, in double and in order */
    if (st == DLK_OK) FN(column_sums_)(delta, BT, H, H, NULL, db, RNN_GRAIN, nthreads);
    dlk_scratch_give(delta);
    return st;
}

/* ---- LSTM ------------------------------------------------------------------------
 * The gates are stacked (i, f, g, o) in W, U, b.  Inside a call their rows are regrouped
 * by thread: thread t owns the units [n0, n1) (COLUMNS), m = n1 − n0 of them, and its
 * 4m gate rows sit together at offset 4·n0 in the order i, f, g, o.  A (B, T, 4H), a
 * step's pre-activations (in the backward pass its gate values and then its δ), has its
 * columns in that order, so a thread's step is one product B × 4m × H instead of four
 * (B32 T168 H128, forward: 13 → 8 ms).  The products over all steps do not care; dW, dU
 * and db are put back in the stacked order at the end. */

/* perm[c] = the stacked row of regrouped row c, for nt threads */
static void FN(lstm_perm_)(int64_t H, int nt, int64_t *perm)
{
    for (int t = 0; t < nt; t++) {
        COLUMNS(H, t, nt, n0, n1);
        for (int64_t k = 0; k < 4; k++)
            for (int64_t j = n0; j < n1; j++) perm[4 * n0 + k * (n1 - n0) + (j - n0)] = k * H + j;
    }
}

/* rows (of n values) regrouped: dst[c] = src[perm[c]], or back: dst[perm[c]] = src[c] */
static void FN(lstm_rows_)(T *dst, const T *src, const int64_t *perm, int64_t G, int64_t n,
                           int back)
{
    for (int64_t c = 0; c < G; c++) {
        if (back) memcpy(dst + perm[c] * n, src + c * n, (size_t)n * sizeof(T));
        else memcpy(dst + c * n, src + perm[c] * n, (size_t)n * sizeof(T));
    }
}

/* rows of A (+)= b, every row */
static void FN(add_bias_)(T *A, int64_t rows, int64_t n, const T *b, int nthreads)
{
    const int nt = dlk_threads_for(rows * n, RNN_GRAIN, nthreads);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < n; j++) A[r * n + j] += b[j];
}

/* One step of the cell over m units, a thread's gate block a = [i | f | g | o]:
 * c = f c_prev + i g, h = o tanh c. */
DLK_CLONES static void FN(lstm_cell_)(int64_t m, const T *DLK_RESTRICT a,
                                      const T *DLK_RESTRICT cp, T *DLK_RESTRICT c,
                                      T *DLK_RESTRICT h)
{
#pragma omp simd
    for (int64_t j = 0; j < m; j++) {
        const T i = (T)1 / ((T)1 + EXP(-a[j])), f = (T)1 / ((T)1 + EXP(-a[m + j]));
        const T g = TANH(a[2 * m + j]), o = (T)1 / ((T)1 + EXP(-a[3 * m + j]));
        const T cn = f * cp[j] + i * g;
        c[j] = cn;
        h[j] = o * TANH(cn);
    }
}

static void FN(lstm_forward_steps_)(int64_t B, int64_t Tn, int64_t H, const T *h0,
                                    const T *c0, const T *Wp, const int64_t *lengths, T *A,
                                    T *hs, T *cs, int64_t s0, int64_t s1, int nt)
{
    const int64_t ld = Tn * H, lda = Tn * 4 * H;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        COLUMNS(H, t, nt, n0, n1);
        const int64_t m = n1 - n0, off = 4 * n0;
        for (int64_t s = s0; s < s1 && m > 0; s++) {
            const T *prev = s == 0 ? h0 : hs + (s - 1) * H;
            const int64_t lprev = s == 0 ? H : ld;
            T *a = A + s * 4 * H + off;
            /* this thread's gates: a_t[:, off:off+4m] += h_{t−1} Wp[off:off+4m]ᵀ */
            GEMM_ONE(0, 1, B, 4 * m, H, (T)1, prev, lprev, Wp + off * H, H, (T)1, a, lda);
            for (int64_t i = 0; i < B; i++) {
                const T *hp = prev + i * lprev;
                const T *cp = s == 0 ? c0 + i * H : cs + i * ld + (s - 1) * H;
                T *c = cs + i * ld + s * H, *h = hs + i * ld + s * H;
                if (s >= lengths[i]) {              /* finished: h and c are frozen */
                    for (int64_t j = n0; j < n1; j++) {
                        h[j] = hp[j];
                        c[j] = cp[j];
                    }
                    continue;
                }
                FN(lstm_cell_)(m, a + i * lda, cp + n0, c + n0, h + n0);
            }
#pragma omp barrier
        }
    }
}

/* Threads of the recursion (the layout of A depends on it). */
static int FN(lstm_threads_)(int64_t B, int64_t H, int nthreads)
{
    int nt = dlk_threads_for(B * 4 * H * H, RNN_GRAIN, nthreads);
    return nt > (H + 15) / 16 ? (int)((H + 15) / 16) : nt;
}

static int FN(dlk_lstm_forward_)(int64_t B, int64_t Tn, int64_t D, int64_t H, const T *x,
                                 const T *h0, const T *c0, const T *W, const T *U, const T *b,
                                 const int64_t *lengths, T *hs, T *cs,
                                 const dlk_stop_flag *stop, int nthreads)
{
    const int64_t BT = B * Tn, G = 4 * H;
    const int nt = FN(lstm_threads_)(B, H, nthreads);
    /* the permutation (first: int64 alignment), A, then W, U, b regrouped */
    int64_t *perm = dlk_scratch_take((size_t)G * sizeof(int64_t) +
                                     (size_t)(BT * G + G * (H + D + 1)) * sizeof(T));
    if (!perm) return DLK_ENOMEM;
    T *A = (T *)(perm + G), *Wp = A + BT * G, *Up = Wp + G * H, *bp = Up + G * D;
    FN(lstm_perm_)(H, nt, perm);
    FN(lstm_rows_)(Wp, W, perm, G, H, 0);
    FN(lstm_rows_)(Up, U, perm, G, D, 0);
    if (b) FN(lstm_rows_)(bp, b, perm, G, 1, 0);
    /* the input projection of every step at once, A = x Upᵀ + bp */
    int st = GEMM(0, 1, BT, G, D, (T)1, x, D, Up, D, (T)0, A, G, nthreads);
    if (st == DLK_OK && b) FN(add_bias_)(A, BT, G, bp, nthreads);
    const int64_t chunk = stop ? STOP_STEPS : Tn;
    for (int64_t s0 = 0; s0 < Tn && st == DLK_OK; s0 += chunk) {
        if (DLK_STOPPED(stop)) st = DLK_EINTR;
        else FN(lstm_forward_steps_)(B, Tn, H, h0, c0, Wp, lengths, A, hs, cs, s0,
                                     s0 + chunk < Tn ? s0 + chunk : Tn, nt);
    }
    dlk_scratch_give(perm);
    return st;
}

/* The gate values from the pre-activations, in place, over one row of A: each thread
 * block [i | f | g | o] of 4m values. */
DLK_CLONES static void FN(lstm_gates_)(T *DLK_RESTRICT a, int64_t m)
{
#pragma omp simd
    for (int64_t j = 0; j < 4 * m; j++) {
        const T v = a[j];
        a[j] = j >= 2 * m && j < 3 * m ? TANH(v) : (T)1 / ((T)1 + EXP(-v));
    }
}

/* One step of BPTT over m units: from the gate block a = [i | f | g | o] (overwritten
 * with δ), the cell states and dh = ∂L/∂h_t + carry_h (into dhg); carry_c becomes
 * dc ⊙ f. */
DLK_CLONES static void FN(lstm_cell_backward_)(int64_t m, T *DLK_RESTRICT a,
                                               const T *DLK_RESTRICT c,
                                               const T *DLK_RESTRICT cp,
                                               const T *DLK_RESTRICT dhs,
                                               const T *DLK_RESTRICT ch, T *DLK_RESTRICT cc,
                                               T *DLK_RESTRICT dhg)
{
#pragma omp simd
    for (int64_t j = 0; j < m; j++) {
        const T i = a[j], f = a[m + j], g = a[2 * m + j], o = a[3 * m + j], tc = TANH(c[j]);
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

static void FN(lstm_backward_steps_)(int64_t B, int64_t Tn, int64_t H, const T *dhs,
                                     const T *cs, const T *c0, const T *Wp,
                                     const int64_t *lengths, T *A, T *dhg, T *carry_h,
                                     T *carry_c, int64_t s0, int64_t s1, int nt)
{
    const int64_t ld = Tn * H, lda = Tn * 4 * H;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        COLUMNS(H, t, nt, n0, n1);
        const int64_t m = n1 - n0, off = 4 * n0;
        for (int64_t s = s1 - 1; s >= s0 && m > 0; s--) {
            for (int64_t i = 0; i < B; i++) {
                T *a = A + i * lda + s * 4 * H + off;
                const T *d = dhs + i * ld + s * H, *c = cs + i * ld + s * H;
                const T *cp = s == 0 ? c0 + i * H : c - H;
                T *ch = carry_h + i * H, *cc = carry_c + i * H, *hg = dhg + i * H;
                if (s >= lengths[i]) {   /* frozen: dh and dc pass on, δ is zero */
                    for (int64_t j = n0; j < n1; j++) hg[j] = d[j] + ch[j];
                    for (int64_t j = 0; j < 4 * m; j++) a[j] = 0;
                    continue;
                }
                FN(lstm_cell_backward_)(m, a, c + n0, cp + n0, d + n0, ch + n0, cc + n0,
                                        hg + n0);
            }
#pragma omp barrier
            /* carry_h[:, n0:n1] = δ_t Wp[:, n0:n1] (δ and Wp's rows in the same order;
             * frozen rows: dh) */
            GEMM_ONE(0, 0, B, m, 4 * H, (T)1, A + s * 4 * H, lda, Wp + n0, H, (T)0,
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
                                  const T *c0, const T *W, const T *U, const T *b,
                                  const int64_t *lengths, const T *dc_last, T *dx, T *dh0,
                                  T *dc0, T *dW, T *dU, T *db, const dlk_stop_flag *stop,
                                  int nthreads)
{
    const int64_t ld = Tn * H, BT = B * Tn, G = 4 * H;
    const int nt = FN(lstm_threads_)(B, H, nthreads);
    /* A (B, T, 4H), hprev (B, T, H) = h_{t−1}; dhg, carry_h, carry_c (B, H); W, U, b
     * regrouped (later their gradients in that order); the permutation before them */
    int64_t *perm = dlk_scratch_take((size_t)G * sizeof(int64_t) +
                                     (size_t)(BT * G + BT * H + 3 * B * H + G * (H + D + 1)) *
                                         sizeof(T));
    if (!perm) return DLK_ENOMEM;
    T *A = (T *)(perm + G), *hprev = A + BT * G, *dhg = hprev + BT * H;
    T *carry_h = dhg + B * H, *carry_c = carry_h + B * H, *Wp = carry_c + B * H;
    T *Up = Wp + G * H, *bp = Up + G * D;
    FN(lstm_perm_)(H, nt, perm);
    FN(lstm_rows_)(Wp, W, perm, G, H, 0);
    FN(lstm_rows_)(Up, U, perm, G, D, 0);
    if (b) FN(lstm_rows_)(bp, b, perm, G, 1, 0);
    for (int64_t i = 0; i < B; i++) {
        memcpy(hprev + i * ld, h0 + i * H, (size_t)H * sizeof(T));
        memcpy(hprev + i * ld + H, hs + i * ld, (size_t)((Tn - 1) * H) * sizeof(T));
    }
    memset(carry_h, 0, (size_t)(B * H) * sizeof(T));
    if (dc_last) memcpy(carry_c, dc_last, (size_t)(B * H) * sizeof(T));
    else memset(carry_c, 0, (size_t)(B * H) * sizeof(T));
    /* the gates again, from every step's inputs at once: A = x Upᵀ + h_{t−1} Wpᵀ + bp */
    int st = GEMM(0, 1, BT, G, D, (T)1, x, D, Up, D, (T)0, A, G, nthreads);
    if (st == DLK_OK)
        st = GEMM(0, 1, BT, G, H, (T)1, hprev, H, Wp, H, (T)1, A, G, nthreads);
    if (st == DLK_OK) {
        if (b) FN(add_bias_)(A, BT, G, bp, nthreads);
        const int ntg = dlk_threads_for(BT * G, RNN_GRAIN, nthreads);
#pragma omp parallel for num_threads(ntg) schedule(static) if (ntg > 1)
        for (int64_t r = 0; r < BT; r++)
            for (int t = 0; t < nt; t++) {
                COLUMNS(H, t, nt, n0, n1);
                FN(lstm_gates_)(A + r * G + 4 * n0, n1 - n0);
            }
    }
    const int64_t chunk = stop ? STOP_STEPS : Tn;
    for (int64_t s1 = Tn; s1 > 0 && st == DLK_OK; s1 -= chunk) {
        if (DLK_STOPPED(stop)) st = DLK_EINTR;
        else FN(lstm_backward_steps_)(B, Tn, H, dhs, cs, c0, Wp, lengths, A, dhg, carry_h,
                                      carry_c, s1 - chunk > 0 ? s1 - chunk : 0, s1, nt);
    }
    if (st == DLK_OK) {
        memcpy(dh0, carry_h, (size_t)(B * H) * sizeof(T));
        memcpy(dc0, carry_c, (size_t)(B * H) * sizeof(T));
        /* the products that do not feed the recursion, over all steps at once; dx first,
         * while Up still holds U regrouped, then dW and dU into Wp, Up (regrouped rows) */
        st = GEMM(0, 0, BT, D, G, (T)1, A, G, Up, D, (T)0, dx, D, nthreads);
    }
    if (st == DLK_OK) st = GEMM(1, 0, G, H, BT, (T)1, A, G, hprev, H, (T)0, Wp, H, nthreads);
    if (st == DLK_OK) st = GEMM(1, 0, G, D, BT, (T)1, A, G, x, D, (T)0, Up, D, nthreads);
    if (st == DLK_OK) {
        FN(lstm_rows_)(dW, Wp, perm, G, H, 1);
        FN(lstm_rows_)(dU, Up, perm, G, D, 1);
        /* db: Σ over samples and steps, per gate unit, back in the stacked order */
        FN(column_sums_)(A, BT, G, G, perm, db, RNN_GRAIN, nthreads);
    }
    dlk_scratch_give(perm);
    return st;
}

#undef COLUMNS
