/* attention_impl.h — attention loops (GEMM_ONE: the one-thread product), for one element
 * type (dtype.h); included twice by attention.c through instantiate.h.
 *
 * Names made, per dtype (f32, f64), all file-local: dlk_attention_f32,
 * dlk_attention_backward_f32 (called by the dtype-tagged entries of attention.c);
 * rowsum_dout_out_f32, apply_mask_f32, block_visible_f32, exp_rows_f32, tile_backward_f32. */

/* S[r, c] = −inf where query q0 + r may not see key k0 + c. */
static void FN(apply_mask_)(const dlk_attention_shape *s, int64_t h, int64_t q0, int64_t nq,
                            int64_t k0, int64_t nk, T *S)
{
    const uint8_t *m = s->mask ? s->mask + h * s->mask_stride : NULL;
    for (int64_t r = 0; r < nq; r++) {
        T *row = S + r * BK;
        int64_t qi = q0 + r, last = qi + s->causal_offset;   /* causal: keys <= last */
        if (s->causal)
            for (int64_t c = last - k0 + 1 > 0 ? last - k0 + 1 : 0; c < nk; c++)
                row[c] = -(T)INFINITY;
        if (m) {
            const uint8_t *mr = m + qi * s->Tk + k0;
            for (int64_t c = 0; c < nk; c++)
                if (!mr[c]) row[c] = -(T)INFINITY;
        }
    }
}

/* Does any query of [q0, q0+nq) see any key of [k0, ...)?  (causal: k0 <= the last
 * query's last key) */
static inline int FN(block_visible_)(const dlk_attention_shape *s, int64_t q0, int64_t nq,
                                     int64_t k0)
{
    return !s->causal || k0 <= q0 + nq - 1 + s->causal_offset;
}

/* P[r, c] = exp(S[r, c] − ref[r]); 0 for masked entries and for rows whose ref is −inf. */
DLK_CLONES static void FN(exp_rows_)(T *DLK_RESTRICT S, int64_t nq, int64_t nk,
                                     const T *DLK_RESTRICT ref)
{
    for (int64_t r = 0; r < nq; r++) {
        T *row = S + r * BK;
        T m = ref[r];
        if (m == -(T)INFINITY) {
            for (int64_t c = 0; c < nk; c++) row[c] = 0;
            continue;
        }
#pragma omp simd
        for (int64_t c = 0; c < nk; c++)
            row[c] = row[c] == -(T)INFINITY ? (T)0 : EXP(row[c] - m);   /* masked: 0 */
    }
}

static int FN(dlk_attention_)(const dlk_attention_shape *s, const T *q, const T *k, const T *v,
                              T *out, T *lse, const dlk_stop_flag *stop, int nthreads)
{
    const int64_t Tq = s->Tq, Tk = s->Tk, dk = s->dk, dv = s->dv;
    const int64_t qblocks = (Tq + BQ - 1) / BQ, items = s->BH * qblocks;
    int nt = dlk_threads_for(items, 1, nthreads);
    const int64_t per_thread = BQ * BK + BQ * dv + 3 * BQ;
    T *ws = dlk_scratch_take((size_t)(nt * per_thread) * sizeof(T));
    if (!ws) return DLK_ENOMEM;
    int status = DLK_OK;
    /* one item = (head, block of queries); its outputs have one writer.  dynamic:
     * causal items differ in length */
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        T *S = ws + t * per_thread, *acc = S + BQ * BK, *m = acc + BQ * dv;
        T *l = m + BQ, *mt = l + BQ;
#pragma omp for schedule(dynamic, 1)
        for (int64_t it = 0; it < items; it++) {
            if (DLK_STOPPED(stop)) continue;
            int64_t h = it / qblocks, q0 = (it % qblocks) * BQ;
            int64_t nq = Tq - q0 < BQ ? Tq - q0 : BQ;
            const T *Q = q + (h * Tq + q0) * dk, *K = k + h * Tk * dk, *V = v + h * Tk * dv;
            for (int64_t r = 0; r < nq; r++) { m[r] = -(T)INFINITY; l[r] = 0; }
            memset(acc, 0, (size_t)(nq * dv) * sizeof(T));
            for (int64_t k0 = 0; k0 < Tk && FN(block_visible_)(s, q0, nq, k0); k0 += BK) {
                int64_t nk = Tk - k0 < BK ? Tk - k0 : BK;
                /* S = scale · Q Kᵀ for this tile */
                int st = GEMM_ONE(0, 1, nq, nk, dk, (T)s->scale, Q, dk, K + k0 * dk, dk, (T)0,
                              S, BK);
                if (st != DLK_OK) status = st;
                FN(apply_mask_)(s, h, q0, nq, k0, nk, S);
                /* online softmax: new running max, rescale what was summed so far
                 * by e^(m_old − m_new), add this tile's e^(S − m_new) */
                for (int64_t r = 0; r < nq; r++) {
                    const T *row = S + r * BK;
                    T tm = -(T)INFINITY;
#pragma omp simd reduction(max:tm)
                    for (int64_t c = 0; c < nk; c++) tm = row[c] > tm ? row[c] : tm;
                    T mn = tm > m[r] ? tm : m[r];
                    T alpha = m[r] == -(T)INFINITY ? (T)0 : EXP(m[r] - mn);
                    mt[r] = mn;
                    if (mn != -(T)INFINITY && alpha != (T)1) {
                        l[r] *= alpha;
#pragma omp simd
                        for (int64_t c = 0; c < dv; c++) acc[r * dv + c] *= alpha;
                    }
                    m[r] = mn;
                }
                FN(exp_rows_)(S, nq, nk, mt);
                for (int64_t r = 0; r < nq; r++) {
                    T sum = 0;
#pragma omp simd reduction(+:sum)
                    for (int64_t c = 0; c < nk; c++) sum += S[r * BK + c];
                    l[r] += sum;
                }
                /* acc += P V */
                st = GEMM_ONE(0, 0, nq, dv, nk, (T)1, S, BK, V + k0 * dv, dv, (T)1, acc, dv);
                if (st != DLK_OK) status = st;
            }
            for (int64_t r = 0; r < nq; r++) {
                T *o = out + (h * Tq + q0 + r) * dv;
                if (l[r] > 0) {
                    T inv = (T)1 / l[r];
                    for (int64_t c = 0; c < dv; c++) o[c] = acc[r * dv + c] * inv;
                    lse[h * Tq + q0 + r] = m[r] + LOG(l[r]);
                } else {                          /* sees no key */
                    for (int64_t c = 0; c < dv; c++) o[c] = 0;
                    lse[h * Tq + q0 + r] = -(T)INFINITY;
                }
            }
        }
    }
    dlk_scratch_give(ws);
    return DLK_STOPPED(stop) ? DLK_EINTR : status;
}

/* One tile's share of the backward pass: P = exp(scale · Q Kᵀ − lse) on the visible
 * entries (into S), dP = dO Vᵀ and dS = P ∘ (dP − D) (into dP); then, for each
 * accumulator given (NULL: skipped), dV += Pᵀ dO, dK += scale dSᵀ Q, dQ += scale dS K.
 * Accumulators are row-major with rows d_v, d_k, d_k apart. */
static int FN(tile_backward_)(const dlk_attention_shape *s, int64_t h, int64_t q0,
                              int64_t nq, int64_t k0, int64_t nk, const T *Q, const T *K,
                              const T *V, const T *dO, const T *lse_q, const T *D_q, T *S,
                              T *dP, T *dV, T *dK, T *dQ)
{
    const int64_t dk = s->dk, dv = s->dv;
    const T scale = (T)s->scale;
    int st = GEMM_ONE(0, 1, nq, nk, dk, scale, Q, dk, K, dk, (T)0, S, BK);
    FN(apply_mask_)(s, h, q0, nq, k0, nk, S);
    FN(exp_rows_)(S, nq, nk, lse_q);
    if (st == DLK_OK) st = GEMM_ONE(0, 1, nq, nk, dv, (T)1, dO, dv, V, dv, (T)0, dP, BK);
    for (int64_t r = 0; r < nq; r++) {
        T d = D_q[r];
        T *pr = S + r * BK, *gr = dP + r * BK;
#pragma omp simd
        for (int64_t c = 0; c < nk; c++) gr[c] = pr[c] * (gr[c] - d);
    }
    if (st == DLK_OK && dV) st = GEMM_ONE(1, 0, nk, dv, nq, (T)1, S, BK, dO, dv, (T)1, dV, dv);
    if (st == DLK_OK && dK) st = GEMM_ONE(1, 0, nk, dk, nq, scale, dP, BK, Q, dk, (T)1, dK, dk);
    if (st == DLK_OK && dQ) st = GEMM_ONE(0, 0, nq, dk, nk, scale, dP, BK, K, dk, (T)1, dQ, dk);
    return st;
}

/* D = rowsum(dO ∘ O), one value per query, in scratch memory (NULL: out of memory). */
static T *FN(rowsum_dout_out_)(const dlk_attention_shape *s, const T *dout, const T *out,
                               int nthreads)
{
    const int64_t n = s->BH * s->Tq, dv = s->dv;
    T *D = dlk_scratch_take((size_t)n * sizeof(T));
    if (!D) return NULL;
    int nt = dlk_threads_for(n * dv, 1 << 15, nthreads);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t i = 0; i < n; i++) {
        T acc = 0;
        for (int64_t c = 0; c < dv; c++) acc += dout[i * dv + c] * out[i * dv + c];
        D[i] = acc;
    }
    return D;
}

static int FN(dlk_attention_backward_)(const dlk_attention_shape *s, const T *dout, const T *q,
                                       const T *k, const T *v, const T *out, const T *lse,
                                       T *dq, T *dk_out, T *dv_out, const dlk_stop_flag *stop,
                                       int nthreads)
{
    const int64_t Tq = s->Tq, Tk = s->Tk, dk = s->dk, dv = s->dv, BH = s->BH;
    T *D = FN(rowsum_dout_out_)(s, dout, out, nthreads);
    if (!D) return DLK_ENOMEM;
    const int64_t qblocks = (Tq + BQ - 1) / BQ, kblocks = (Tk + BK - 1) / BK;
    const int64_t per_thread = 2 * BQ * BK + BK * (dk + dv);
    const int nt = dlk_threads_for(BH * Tq * Tk * (dk + dv), ATTN_BWD_GRAIN, nthreads);
    T *ws = dlk_scratch_take((size_t)(nt * per_thread) * sizeof(T));
    if (!ws) { dlk_scratch_give(D); return DLK_ENOMEM; }
    int status = DLK_OK;
    if (BH >= nt) {
        /* enough heads: one owner per head, which walks every tile once and adds to
         * the head's dQ, dK and dV directly (5 products per tile instead of 7) */
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1)
        for (int64_t h = 0; h < BH; h++) {
            int t = 0;
            DLK_THREAD_NUM(t);
            T *S = ws + t * per_thread, *dP = S + BQ * BK;
            T *dQh = dq + h * Tq * dk, *dKh = dk_out + h * Tk * dk, *dVh = dv_out + h * Tk * dv;
            memset(dQh, 0, (size_t)(Tq * dk) * sizeof(T));
            memset(dKh, 0, (size_t)(Tk * dk) * sizeof(T));
            memset(dVh, 0, (size_t)(Tk * dv) * sizeof(T));
            for (int64_t q0 = 0; q0 < Tq && !DLK_STOPPED(stop); q0 += BQ) {
                int64_t nq = Tq - q0 < BQ ? Tq - q0 : BQ;
                const T *Q = q + (h * Tq + q0) * dk, *dO = dout + (h * Tq + q0) * dv;
                for (int64_t k0 = 0; k0 < Tk && FN(block_visible_)(s, q0, nq, k0); k0 += BK) {
                    int64_t nk = Tk - k0 < BK ? Tk - k0 : BK;
                    const T *K = k + (h * Tk + k0) * dk, *V = v + (h * Tk + k0) * dv;
                    int st = FN(tile_backward_)(s, h, q0, nq, k0, nk, Q, K, V, dO,
                                                lse + h * Tq + q0, D + h * Tq + q0, S, dP,
                                                dVh + k0 * dv, dKh + k0 * dk, dQh + q0 * dk);
                    if (st != DLK_OK) status = st;
                }
            }
        }
        dlk_scratch_give(ws);
        dlk_scratch_give(D);
        return DLK_STOPPED(stop) ? DLK_EINTR : status;
    }
    /* few heads: split each head's work over the threads in two passes */
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        T *S = ws + t * per_thread, *dP = S + BQ * BK, *acc = dP + BQ * BK;
        /* pass 1, one owner per (head, key block): dV = Σ Pᵀ dO, dK = scale Σ dSᵀ Q */
#pragma omp for schedule(dynamic, 1)
        for (int64_t it = 0; it < BH * kblocks; it++) {
            if (DLK_STOPPED(stop)) continue;
            int64_t h = it / kblocks, k0 = (it % kblocks) * BK;
            int64_t nk = Tk - k0 < BK ? Tk - k0 : BK;
            T *dK = acc, *dV = acc + BK * dk;
            memset(acc, 0, (size_t)(BK * (dk + dv)) * sizeof(T));
            const T *K = k + (h * Tk + k0) * dk, *V = v + (h * Tk + k0) * dv;
            for (int64_t q0 = 0; q0 < Tq; q0 += BQ) {
                int64_t nq = Tq - q0 < BQ ? Tq - q0 : BQ;
                if (!FN(block_visible_)(s, q0, nq, k0)) continue;
                const T *Q = q + (h * Tq + q0) * dk, *dO = dout + (h * Tq + q0) * dv;
                int st = FN(tile_backward_)(s, h, q0, nq, k0, nk, Q, K, V, dO,
                                            lse + h * Tq + q0, D + h * Tq + q0, S, dP, dV, dK,
                                            NULL);
                if (st != DLK_OK) status = st;
            }
            memcpy(dk_out + (h * Tk + k0) * dk, dK, (size_t)(nk * dk) * sizeof(T));
            memcpy(dv_out + (h * Tk + k0) * dv, dV, (size_t)(nk * dv) * sizeof(T));
        }
        /* pass 2, one owner per (head, query block): dQ = scale Σ dS K */
#pragma omp for schedule(dynamic, 1)
        for (int64_t it = 0; it < BH * qblocks; it++) {
            if (DLK_STOPPED(stop)) continue;
            int64_t h = it / qblocks, q0 = (it % qblocks) * BQ;
            int64_t nq = Tq - q0 < BQ ? Tq - q0 : BQ;
            T *dQ = acc;
            memset(dQ, 0, (size_t)(nq * dk) * sizeof(T));
            const T *Q = q + (h * Tq + q0) * dk, *dO = dout + (h * Tq + q0) * dv;
            for (int64_t k0 = 0; k0 < Tk && FN(block_visible_)(s, q0, nq, k0); k0 += BK) {
                int64_t nk = Tk - k0 < BK ? Tk - k0 : BK;
                const T *K = k + (h * Tk + k0) * dk, *V = v + (h * Tk + k0) * dv;
                int st = FN(tile_backward_)(s, h, q0, nq, k0, nk, Q, K, V, dO,
                                            lse + h * Tq + q0, D + h * Tq + q0, S, dP, NULL,
                                            NULL, dQ);
                if (st != DLK_OK) status = st;
            }
            memcpy(dq + (h * Tq + q0) * dk, dQ, (size_t)(nq * dk) * sizeof(T));
        }
    }
    dlk_scratch_give(ws);
    dlk_scratch_give(D);
    return DLK_STOPPED(stop) ? DLK_EINTR : status;
}

