/* attention_lanes_impl.h — attention for float with the queries across the lanes of a
 * vector and each tile's products and online softmax in registers, forward and
 * backward; included by attention_avx512.c (16 lanes) and attention_avx2.c (8 lanes),
 * each of which first defines the vocabulary:
 *
 *   TARGET              the function attribute of the instruction set (DLK_AVX512, DLK_AVX2)
 *   ISA_FN(pre, post)   pre ## avx512 ## post (the entries' names)
 *   VF, NL, QV          the float vector, its lanes, and the query vectors of a block
 *                       (QV · NL queries; QV · RB accumulators must fit the registers)
 *   VLOAD VSTORE (aligned) VLOADU VSTOREU VSET1 VZERO VFMA VMUL VADD VSUB VMAX
 *   VEXP(x)             e^x for x <= 0: 0 below −80 and for NaN, never a subnormal
 *   VHIDE_BELOW(x, n)   x with its lanes 0 … n−1 set to −∞ (1 <= n <= NL)
 *   VZERO_NEGINF(x)     x with its −∞ lanes set to 0
 *   ISA_FN(dlk_attention_, _fits)   whether the forward takes this problem
 *
 * Names made (ISA avx512 or avx2): dlk_attention_ISA_f32, dlk_attention_backward_ISA_f32,
 * dlk_attention_backward_ISA_fits; file-local: scores, values, item, keyrows_e, keyrows,
 * values_all, scores_all, qblock_load, tile_bwd, write_dq, head_bwd.
 *
 * Queries run across the lanes.  An item (one head's block of up to QV · NL queries)
 * holds its queries transposed and pre-scaled, Qt[p][i] = scale · Q[i][p], so that one
 * key's scores against NL queries are one vector, Σ_p K[c][p] · Qt[p][·]: K and V are read in
 * place, one element broadcast at a time, nothing of them is packed, and the softmax
 * over the keys runs down the lanes without horizontal reductions.  For each tile of 64
 * keys: the scores Sᵀ (RB keys × up to QV query vectors in accumulators at a time)
 * into an L1 buffer with their running column max; the online softmax's rescale by
 * e^(m_old − m_new); P = e^(S − m) in place and its column sums; then
 * Oᵀ[e][·] = α Oᵀ[e][·] + Σ_c V[c][e] · P[c][·], RB output columns × up to QV
 * query vectors at a time.  Oᵀ is turned back and divided by l once per item.
 * The backward pass takes the same tiles: P = e^(S − lse), dP from dO and V as the
 * scores are made, dS = P ∘ (dP − D), then dV and dK rows of the tile's keys by
 * broadcasts of P and dS against dO and Q read in place, and dQᵀ like Oᵀ.
 * Against the GEMM tiles of attention_impl.h (one OpenBLAS call per product, which
 * packs its operands again for every tile, and four passes of the softmax over the
 * tile), Intel Xeon (AVX-512), 2 threads, B8 h8 T512 d64: forward 29.4 → 17.9 ms
 * (one script, both builds), forward + backward 89 ms (bench/ratios.py, before) → 60 ms;
 * docs/BENCHMARKS-attention.md has the sweep against PyTorch.  Boolean masks, float64
 * and few queries (see the fits functions) keep the GEMM tiles, as does a backward
 * pass whose d_k or d_v is not a multiple of NL. */

#define QB (QV * NL)   /* queries per item */
#define KT 64          /* keys per tile */
#define RB 4           /* keys (scores) or output columns (values) per register block */
#define INLINE static inline __attribute__((always_inline))

/* Scores of R keys (rows of K, dk apart) against V query vectors of Qt: St[r][·] and
 * the column max.  causal: key r is visible to the lanes from cut + r − NL j on, where
 * cut is the first key's index less the causal offset and the block's first query. */
TARGET INLINE void scores(const int R, const int V, const float *K, int64_t dk,
                          const float *Qt, float *St, VF *tmax, int causal,
                          int64_t cut)
{
    VF acc[RB][QV];
    for (int r = 0; r < R; r++)
        for (int j = 0; j < V; j++) acc[r][j] = VZERO();
    for (int64_t p = 0; p < dk; p++) {
        VF qv[QV];
        for (int j = 0; j < V; j++) qv[j] = VLOAD(Qt + p * QB + NL * j);
        for (int r = 0; r < R; r++) {
            VF kb = VSET1(K[r * dk + p]);
            for (int j = 0; j < V; j++) acc[r][j] = VFMA(kb, qv[j], acc[r][j]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int j = 0; j < V; j++) {
            if (causal) {
                int64_t from = cut + r - NL * j;          /* first lane that sees the key */
                if (from > 0) acc[r][j] = VHIDE_BELOW(acc[r][j], from >= NL ? NL : (int)from);
            }
            VSTORE(St + r * QB + NL * j, acc[r][j]);
            tmax[j] = VMAX(tmax[j], acc[r][j]);
        }
}

/* Oᵀ rows e … e+E−1 (Ot, QB apart): α · Oᵀ + Σ_c V[c][e…] · P[c][·] over the tile's nk
 * keys (Vm: V's row of the tile's first key, at column e; rows dv apart). */
TARGET INLINE void values(const int E, const int V, const float *Vm, int64_t dv,
                          int64_t nk, const float *St, float *Ot, const VF *alpha)
{
    VF acc[RB][QV];
    for (int e = 0; e < E; e++)
        for (int j = 0; j < V; j++)
            acc[e][j] = VMUL(VLOAD(Ot + e * QB + NL * j), alpha[j]);
    for (int64_t c = 0; c < nk; c++) {
        VF pv[QV];
        for (int j = 0; j < V; j++) pv[j] = VLOAD(St + c * QB + NL * j);
        for (int e = 0; e < E; e++) {
            VF vb = VSET1(Vm[c * dv + e]);
            for (int j = 0; j < V; j++) acc[e][j] = VFMA(vb, pv[j], acc[e][j]);
        }
    }
    for (int e = 0; e < E; e++)
        for (int j = 0; j < V; j++) VSTORE(Ot + e * QB + NL * j, acc[e][j]);
}

/* One item: head h's queries q0 … q0+nq−1 (nq <= NL V) against every visible key. */
TARGET INLINE void item(const int V, const dlk_attention_shape *s, int64_t h, int64_t q0,
                        int64_t nq, const float *q, const float *k, const float *v,
                        float *out, float *lse, float *Qt, float *St, float *Ot)
{
    const int64_t Tq = s->Tq, Tk = s->Tk, dk = s->dk, dv = s->dv;
    const float scale = (float)s->scale;
    const float *Q = q + (h * Tq + q0) * dk, *K = k + h * Tk * dk, *Vh = v + h * Tk * dv;
    for (int64_t i = 0; i < NL * V; i++)
        for (int64_t p = 0; p < dk; p++) Qt[p * QB + i] = i < nq ? scale * Q[i * dk + p] : 0.0f;
    memset(Ot, 0, (size_t)(dv * QB) * sizeof(float));
    VF m[QV], l[QV], alpha[QV], ms[QV];
    for (int j = 0; j < V; j++) {
        m[j] = VSET1(-INFINITY);
        l[j] = VZERO();
    }
    const int64_t last = q0 + nq - 1 + s->causal_offset;   /* causal: no key beyond */
    for (int64_t k0 = 0; k0 < Tk && (!s->causal || k0 <= last); k0 += KT) {
        const int64_t nk = Tk - k0 < KT ? Tk - k0 : KT;
        /* only tiles that reach past the first query's last key need the mask */
        const int causal = s->causal && k0 + nk - 1 > q0 + s->causal_offset;
        const int64_t cut = k0 - s->causal_offset - q0;
        VF tmax[QV];
        for (int j = 0; j < V; j++) tmax[j] = VSET1(-INFINITY);
        int64_t c = 0;
        for (; c + RB <= nk; c += RB)
            scores(RB, V, K + (k0 + c) * dk, dk, Qt, St + c * QB, tmax, causal, cut + c);
        switch (nk - c) {
        case 3: scores(3, V, K + (k0 + c) * dk, dk, Qt, St + c * QB, tmax, causal, cut + c); break;
        case 2: scores(2, V, K + (k0 + c) * dk, dk, Qt, St + c * QB, tmax, causal, cut + c); break;
        case 1: scores(1, V, K + (k0 + c) * dk, dk, Qt, St + c * QB, tmax, causal, cut + c); break;
        }
        /* online softmax: the new max, e^(m_old − m_new) for what was summed so far
         * (0 where nothing was: −∞ − m_new), then this tile's P and its sums; a
         * column still all −∞ subtracts 0, not −∞ */
        VF lsum[QV];
        for (int j = 0; j < V; j++) {
            VF mn = VMAX(m[j], tmax[j]);
            alpha[j] = VEXP(VSUB(m[j], mn));
            ms[j] = VZERO_NEGINF(mn);
            m[j] = mn;
            lsum[j] = VZERO();
        }
        for (int64_t cc = 0; cc < nk; cc++)
            for (int j = 0; j < V; j++) {
                float *sp = St + cc * QB + NL * j;
                VF pr = VEXP(VSUB(VLOAD(sp), ms[j]));
                VSTORE(sp, pr);
                lsum[j] = VADD(lsum[j], pr);
            }
        for (int j = 0; j < V; j++) l[j] = VFMA(l[j], alpha[j], lsum[j]);
        const float *Vt = Vh + k0 * dv;
        int64_t e = 0;
        for (; e + RB <= dv; e += RB) values(RB, V, Vt + e, dv, nk, St, Ot + e * QB, alpha);
        switch (dv - e) {
        case 3: values(3, V, Vt + e, dv, nk, St, Ot + e * QB, alpha); break;
        case 2: values(2, V, Vt + e, dv, nk, St, Ot + e * QB, alpha); break;
        case 1: values(1, V, Vt + e, dv, nk, St, Ot + e * QB, alpha); break;
        }
    }
    float mf[QB], lf[QB];
    for (int j = 0; j < V; j++) {
        VSTOREU(mf + NL * j, m[j]);
        VSTOREU(lf + NL * j, l[j]);
    }
    for (int64_t i = 0; i < nq; i++) {
        float *o = out + (h * Tq + q0 + i) * dv;
        if (lf[i] > 0) {
            float inv = 1.0f / lf[i];
            for (int64_t e = 0; e < dv; e++) o[e] = Ot[e * QB + i] * inv;
            lse[h * Tq + q0 + i] = mf[i] + logf(lf[i]);
        } else {                                      /* sees no key */
            for (int64_t e = 0; e < dv; e++) o[e] = 0.0f;
            lse[h * Tq + q0 + i] = -INFINITY;
        }
    }
}

TARGET int ISA_FN(dlk_attention_, _f32)(const dlk_attention_shape *s, const float *q,
                                        const float *k, const float *v, float *out, float *lse,
                                        const dlk_stop_flag *stop, int nthreads)
{
    const int64_t qblocks = (s->Tq + QB - 1) / QB, items = s->BH * qblocks;
    const int nt = dlk_threads_for(items, 1, nthreads);
    const int64_t per_thread = (s->dk + KT + s->dv) * QB;
    float *ws = dlk_scratch_take((size_t)(nt * per_thread) * sizeof(float));
    if (!ws) return DLK_ENOMEM;
    /* one item = (head, block of queries); its outputs have one writer.  dynamic:
     * causal items differ in length */
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1)
    for (int64_t it = 0; it < items; it++) {
        if (DLK_STOPPED(stop)) continue;
        int t = 0;
        DLK_THREAD_NUM(t);
        float *Qt = ws + t * per_thread, *St = Qt + s->dk * QB, *Ot = St + KT * QB;
        const int64_t h = it / qblocks, q0 = (it % qblocks) * QB;
        const int64_t nq = s->Tq - q0 < QB ? s->Tq - q0 : QB;
        switch ((nq + NL - 1) / NL) {
        case 1: item(1, s, h, q0, nq, q, k, v, out, lse, Qt, St, Ot); break;
        case 2: item(2, s, h, q0, nq, q, k, v, out, lse, Qt, St, Ot); break;
#if QV > 3
        case 3: item(3, s, h, q0, nq, q, k, v, out, lse, Qt, St, Ot); break;
#endif
        default: item(QV, s, h, q0, nq, q, k, v, out, lse, Qt, St, Ot); break;
        }
    }
    dlk_scratch_give(ws);
    return DLK_STOPPED(stop) ? DLK_EINTR : DLK_OK;
}

/* dX rows r < R (keys; ldd apart) += f · Σ_i St[r][i] · X[i][·] over the block's nq
 * queries: X row-major (ldx apart), its w columns (a multiple of NL) QV · NL at a time. */
TARGET INLINE void keyrows_e(const int R, const int E, const float *St, int64_t nq,
                             const float *X, int64_t ldx, float f, float *dX, int64_t ldd)
{
    VF acc[RB][QV];
    for (int r = 0; r < R; r++)
        for (int j = 0; j < E; j++) acc[r][j] = VZERO();
    for (int64_t i = 0; i < nq; i++) {
        VF xv[QV];
        for (int j = 0; j < E; j++) xv[j] = VLOADU(X + i * ldx + NL * j);
        for (int r = 0; r < R; r++) {
            VF b = VSET1(St[r * QB + i]);
            for (int j = 0; j < E; j++) acc[r][j] = VFMA(b, xv[j], acc[r][j]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int j = 0; j < E; j++) {
            float *d = dX + r * ldd + NL * j;
            VSTOREU(d, VFMA(VSET1(f), acc[r][j], VLOADU(d)));
        }
}

TARGET INLINE void keyrows(const int R, const float *St, int64_t nq, const float *X,
                           int64_t w, float f, float *dX)
{
    int64_t e = 0;
    for (; e + QV * NL <= w; e += QV * NL) keyrows_e(R, QV, St, nq, X + e, w, f, dX + e, w);
    switch ((w - e) / NL) {
#if QV > 3
    case 3: keyrows_e(R, 3, St, nq, X + e, w, f, dX + e, w); break;
#endif
    case 2: keyrows_e(R, 2, St, nq, X + e, w, f, dX + e, w); break;
    case 1: keyrows_e(R, 1, St, nq, X + e, w, f, dX + e, w); break;
    }
}

/* Oᵀ rows of width w (Ot: w rows QB apart) += Σ_c Xm[c][·] · P[c][·] over nk keys. */
TARGET INLINE void values_all(const int V, const float *Xm, int64_t w, int64_t nk,
                              const float *St, float *Ot, const VF *alpha)
{
    int64_t e = 0;
    for (; e + RB <= w; e += RB) values(RB, V, Xm + e, w, nk, St, Ot + e * QB, alpha);
    switch (w - e) {
    case 3: values(3, V, Xm + e, w, nk, St, Ot + e * QB, alpha); break;
    case 2: values(2, V, Xm + e, w, nk, St, Ot + e * QB, alpha); break;
    case 1: values(1, V, Xm + e, w, nk, St, Ot + e * QB, alpha); break;
    }
}

/* Scores Sᵀ of the nk keys of X (rows w apart) against the query vectors of Qt (w rows)
 * into St, causal-masked if asked; returns nothing of the max. */
TARGET INLINE void scores_all(const int V, const float *X, int64_t w, int64_t nk,
                              const float *Qt, float *St, int causal, int64_t cut)
{
    VF tmax[QV];
    for (int j = 0; j < V; j++) tmax[j] = VSET1(-INFINITY);
    int64_t c = 0;
    for (; c + RB <= nk; c += RB) scores(RB, V, X + c * w, w, Qt, St + c * QB, tmax, causal, cut + c);
    switch (nk - c) {
    case 3: scores(3, V, X + c * w, w, Qt, St + c * QB, tmax, causal, cut + c); break;
    case 2: scores(2, V, X + c * w, w, Qt, St + c * QB, tmax, causal, cut + c); break;
    case 1: scores(1, V, X + c * w, w, Qt, St + c * QB, tmax, causal, cut + c); break;
    }
}

/* A query block's operands for the backward tiles: Qt = scale · Qᵀ, dOt = dOᵀ (lanes past
 * nq zero), lse (+∞ past nq, so that P is 0 there) and D as vectors. */
typedef struct {
    int64_t q0, nq;
    const float *Q, *dO;          /* the block's rows of q and dout */
    float *Qt, *dOt;
    VF lse[QV], D[QV];
} qblock;

TARGET INLINE void qblock_load(const int V, qblock *b, const dlk_attention_shape *s,
                               int64_t h, int64_t q0, const float *q, const float *dout,
                               const float *lse, const float *D)
{
    const int64_t Tq = s->Tq, dk = s->dk, dv = s->dv;
    const float scale = (float)s->scale;
    b->q0 = q0;
    b->nq = Tq - q0 < QB ? Tq - q0 : QB;
    b->Q = q + (h * Tq + q0) * dk;
    b->dO = dout + (h * Tq + q0) * dv;
    for (int64_t i = 0; i < NL * V; i++) {
        for (int64_t p = 0; p < dk; p++)
            b->Qt[p * QB + i] = i < b->nq ? scale * b->Q[i * dk + p] : 0.0f;
        for (int64_t e = 0; e < dv; e++) b->dOt[e * QB + i] = i < b->nq ? b->dO[i * dv + e] : 0.0f;
    }
    float lb[QB], db[QB];
    for (int64_t i = 0; i < NL * V; i++) {
        lb[i] = i < b->nq ? lse[h * Tq + q0 + i] : INFINITY;
        db[i] = i < b->nq ? D[h * Tq + q0 + i] : 0.0f;
    }
    for (int j = 0; j < V; j++) {
        b->lse[j] = VLOADU(lb + NL * j);
        b->D[j] = VLOADU(db + NL * j);
    }
}

/* One (query block, key tile) of the backward pass: P = e^(S − lse) and
 * dS = P ∘ (dO Vᵀ − D), then dV += Pᵀ dO, dK += scale dSᵀ Q (rows of the tile's keys)
 * and dQt += Kᵀ dS (the block's lanes), for each accumulator given. */
TARGET INLINE void tile_bwd(const int V, const dlk_attention_shape *s, const qblock *b,
                            int64_t k0, int64_t nk, const float *K, const float *Vm,
                            float *St, float *dSt, float *dV, float *dK, float *dQt)
{
    const int64_t dk = s->dk, dv = s->dv;
    const int causal = s->causal && k0 + nk - 1 > b->q0 + s->causal_offset;
    scores_all(V, K, dk, nk, b->Qt, St, causal, k0 - s->causal_offset - b->q0);
    scores_all(V, Vm, dv, nk, b->dOt, dSt, 0, 0);
    for (int64_t c = 0; c < nk; c++)
        for (int j = 0; j < V; j++) {
            float *sp = St + c * QB + NL * j, *gp = dSt + c * QB + NL * j;
            VF pr = VEXP(VSUB(VLOAD(sp), b->lse[j]));
            VSTORE(sp, pr);
            VSTORE(gp, VMUL(pr, VSUB(VLOAD(gp), b->D[j])));
        }
    int64_t c = 0;
    for (; c + RB <= nk; c += RB) {
        if (dV) keyrows(RB, St + c * QB, b->nq, b->dO, dv, 1.0f, dV + c * dv);
        if (dK) keyrows(RB, dSt + c * QB, b->nq, b->Q, dk, (float)s->scale, dK + c * dk);
    }
    switch (nk - c) {
#define KEYROWS_TAIL(R)                                                                    \
    case R:                                                                                \
        if (dV) keyrows(R, St + c * QB, b->nq, b->dO, dv, 1.0f, dV + c * dv);              \
        if (dK) keyrows(R, dSt + c * QB, b->nq, b->Q, dk, (float)s->scale, dK + c * dk);   \
        break;
    KEYROWS_TAIL(3)
    KEYROWS_TAIL(2)
    KEYROWS_TAIL(1)
#undef KEYROWS_TAIL
    }
    if (dQt) {
        VF one[QV];
        for (int j = 0; j < QV; j++) one[j] = VSET1(1.0f);
        values_all(V, K, dk, nk, dSt, dQt, one);
    }
}

/* dQ rows of the block = scale · dQtᵀ. */
TARGET INLINE void write_dq(const dlk_attention_shape *s, const qblock *b, int64_t h,
                            const float *dQt, float *dq)
{
    const float scale = (float)s->scale;
    for (int64_t i = 0; i < b->nq; i++)
        for (int64_t p = 0; p < s->dk; p++)
            dq[(h * s->Tq + b->q0 + i) * s->dk + p] = scale * dQt[p * QB + i];
}

int ISA_FN(dlk_attention_backward_, _fits)(const dlk_attention_shape *s)
{
    return ISA_FN(dlk_attention_, _fits)(s) && s->dk % NL == 0 && s->dv % NL == 0;
}

/* Whether key tile k0 has a key some query of [q0, q0+nq) sees. */
#define TILE_VISIBLE(s, q0, nq, k0) (!(s)->causal || (k0) <= (q0) + (nq) - 1 + (s)->causal_offset)

/* One owner per head walks the head's tiles once (dQ, dK, dV in place). */
TARGET INLINE void head_bwd(const int V, const dlk_attention_shape *s, int64_t h,
                            const float *dout, const float *q, const float *k,
                            const float *v, const float *lse, const float *D, float *dq,
                            float *dk_out, float *dv_out, float *Qt, float *dOt, float *St,
                            float *dSt, float *dQt, const dlk_stop_flag *stop)
{
    const int64_t Tq = s->Tq, Tk = s->Tk, dk = s->dk, dv = s->dv;
    const float *K = k + h * Tk * dk, *Vh = v + h * Tk * dv;
    float *dKh = dk_out + h * Tk * dk, *dVh = dv_out + h * Tk * dv;
    qblock b;
    b.Qt = Qt;
    b.dOt = dOt;
    for (int64_t q0 = 0; q0 < Tq && !DLK_STOPPED(stop); q0 += QB) {
        qblock_load(V, &b, s, h, q0, q, dout, lse, D);
        memset(dQt, 0, (size_t)(dk * QB) * sizeof(float));
        for (int64_t k0 = 0; k0 < Tk && TILE_VISIBLE(s, q0, b.nq, k0); k0 += KT) {
            int64_t nk = Tk - k0 < KT ? Tk - k0 : KT;
            tile_bwd(V, s, &b, k0, nk, K + k0 * dk, Vh + k0 * dv, St, dSt, dVh + k0 * dv,
                     dKh + k0 * dk, dQt);
        }
        write_dq(s, &b, h, dQt, dq);
    }
}

TARGET int ISA_FN(dlk_attention_backward_, _f32)(const dlk_attention_shape *s,
                                                 const float *dout, const float *q,
                                                 const float *k, const float *v,
                                                 const float *lse, const float *D, float *dq,
                                                 float *dk_out, float *dv_out,
                                                 const dlk_stop_flag *stop, int nthreads)
{
    const int64_t Tq = s->Tq, Tk = s->Tk, dk = s->dk, dv = s->dv, BH = s->BH;
    const int64_t qblocks = (Tq + QB - 1) / QB, kblocks = (Tk + KT - 1) / KT;
    const int V = Tq >= QB ? QV : (int)((Tq + NL - 1) / NL);   /* every block but the last */
    const int64_t per_thread = (2 * dk + dv + 2 * KT) * QB + KT * (dk + dv);
    const int nt = dlk_threads_for(BH * Tq * Tk * (dk + dv), ATTN_BWD_GRAIN, nthreads);
    float *ws = dlk_scratch_take((size_t)(nt * per_thread) * sizeof(float));
    if (!ws) return DLK_ENOMEM;
#define THREAD_BUFFERS                                                                     \
    int t = 0;                                                                             \
    DLK_THREAD_NUM(t);                                                                     \
    float *Qt = ws + t * per_thread, *dOt = Qt + dk * QB, *St = dOt + dv * QB;             \
    float *dSt = St + KT * QB, *dQt = dSt + KT * QB, *acc = dQt + dk * QB;                 \
    (void)acc;
    /* every block is taken with QV query vectors (the last one's extra lanes are zero):
     * V only sets how many vectors the first blocks have, the same on every path */
    if (BH >= nt) {
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1)
        for (int64_t h = 0; h < BH; h++) {
            THREAD_BUFFERS
            memset(dk_out + h * Tk * dk, 0, (size_t)(Tk * dk) * sizeof(float));
            memset(dv_out + h * Tk * dv, 0, (size_t)(Tk * dv) * sizeof(float));
            switch (V) {
            case 1: head_bwd(1, s, h, dout, q, k, v, lse, D, dq, dk_out, dv_out, Qt, dOt, St, dSt, dQt, stop); break;
            case 2: head_bwd(2, s, h, dout, q, k, v, lse, D, dq, dk_out, dv_out, Qt, dOt, St, dSt, dQt, stop); break;
#if QV > 3
            case 3: head_bwd(3, s, h, dout, q, k, v, lse, D, dq, dk_out, dv_out, Qt, dOt, St, dSt, dQt, stop); break;
#endif
            default: head_bwd(QV, s, h, dout, q, k, v, lse, D, dq, dk_out, dv_out, Qt, dOt, St, dSt, dQt, stop); break;
            }
        }
        dlk_scratch_give(ws);
        return DLK_STOPPED(stop) ? DLK_EINTR : DLK_OK;
    }
    /* few heads: pass 1 gives each (head, key tile) to one thread for dV and dK, pass 2
     * each (head, query block) for dQ; the same sums in the same order as above */
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        THREAD_BUFFERS
        qblock b;
        b.Qt = Qt;
        b.dOt = dOt;
#pragma omp for schedule(dynamic, 1)
        for (int64_t it = 0; it < BH * kblocks; it++) {
            if (DLK_STOPPED(stop)) continue;
            const int64_t h = it / kblocks, k0 = (it % kblocks) * KT;
            const int64_t nk = Tk - k0 < KT ? Tk - k0 : KT;
            float *dK = acc, *dV = acc + KT * dk;
            memset(acc, 0, (size_t)(KT * (dk + dv)) * sizeof(float));
            const float *K = k + (h * Tk + k0) * dk, *Vm = v + (h * Tk + k0) * dv;
            for (int64_t q0 = 0; q0 < Tq; q0 += QB) {
                if (!TILE_VISIBLE(s, q0, (Tq - q0 < QB ? Tq - q0 : QB), k0)) continue;
                switch (V) {
#define PASS1(VV)                                                                          \
                case VV:                                                                   \
                    qblock_load(VV, &b, s, h, q0, q, dout, lse, D);                        \
                    tile_bwd(VV, s, &b, k0, nk, K, Vm, St, dSt, dV, dK, NULL);             \
                    break;
                PASS1(1) PASS1(2)
#if QV > 3
                PASS1(3)
#endif
                default: qblock_load(QV, &b, s, h, q0, q, dout, lse, D);
                         tile_bwd(QV, s, &b, k0, nk, K, Vm, St, dSt, dV, dK, NULL);
                         break;
#undef PASS1
                }
            }
            memcpy(dk_out + (h * Tk + k0) * dk, dK, (size_t)(nk * dk) * sizeof(float));
            memcpy(dv_out + (h * Tk + k0) * dv, dV, (size_t)(nk * dv) * sizeof(float));
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t it = 0; it < BH * qblocks; it++) {
            if (DLK_STOPPED(stop)) continue;
            const int64_t h = it / qblocks, q0 = (it % qblocks) * QB;
            const float *K = k + h * Tk * dk, *Vh = v + h * Tk * dv;
            switch (V) {
#define PASS2(VV)                                                                          \
            case VV:                                                                       \
                qblock_load(VV, &b, s, h, q0, q, dout, lse, D);                            \
                memset(dQt, 0, (size_t)(dk * QB) * sizeof(float));                         \
                for (int64_t k0 = 0; k0 < Tk && TILE_VISIBLE(s, q0, b.nq, k0); k0 += KT) { \
                    int64_t nk = Tk - k0 < KT ? Tk - k0 : KT;                              \
                    tile_bwd(VV, s, &b, k0, nk, K + k0 * dk, Vh + k0 * dv, St, dSt, NULL,   \
                             NULL, dQt);                                                   \
                }                                                                          \
                write_dq(s, &b, h, dQt, dq);                                               \
                break;
            PASS2(1) PASS2(2)
#if QV > 3
            PASS2(3)
#endif
            default: PASS2(QV)
#undef PASS2
            }
        }
    }
#undef THREAD_BUFFERS
    dlk_scratch_give(ws);
    return DLK_STOPPED(stop) ? DLK_EINTR : DLK_OK;
}
