/* rnn_impl.h — RNN loops (GEMM_ONE: the one-thread product, GEMM: split over the threads),
 * for one element type (dtype.h); included twice by rnn.c through instantiate.h.
 *
 * Names made, per dtype (f32, f64), all file-local: dlk_rnn_backward_f32, dlk_rnn_forward_f32
 * (called by the dtype-tagged entries of rnn.c); activate_f32, backward_steps_f32,
 * forward_steps_f32. */

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
    int ntb = dlk_threads_for(BT * H, RNN_GRAIN, nthreads);
#pragma omp parallel num_threads(ntb) if (ntb > 1)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        COLUMNS(H, t, ntb, n0, n1);
        double acc[16];
        for (int64_t j0 = n0; j0 < n1; j0 += 16) {
            int64_t j1 = j0 + 16 < n1 ? j0 + 16 : n1;
            for (int64_t j = j0; j < j1; j++) acc[j - j0] = 0;
            for (int64_t r = 0; r < BT; r++)
                for (int64_t j = j0; j < j1; j++) acc[j - j0] += (double)delta[r * H + j];
            for (int64_t j = j0; j < j1; j++) db[j] = (T)acc[j - j0];
        }
    }
    dlk_scratch_give(delta);
    return st;
}

#undef COLUMNS
