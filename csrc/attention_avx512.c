/* attention_avx512.c — attention for float with its tiles in AVX-512 registers, forward
 * and backward; attention.c takes them where dlk_attention_avx512_fits() and
 * dlk_attention_backward_avx512_fits() say so.
 *
 * Queries run across the lanes.  An item (one head's block of up to 64 queries) holds
 * its queries transposed and pre-scaled, Qt[p][i] = scale · Q[i][p], so that one key's
 * scores against 16 queries are one vector, Σ_p K[c][p] · Qt[p][·]: K and V are read in
 * place, one element broadcast at a time, nothing of them is packed, and the softmax
 * over the keys runs down the lanes without horizontal reductions.  For each tile of 64
 * keys: the scores Sᵀ (4 keys × up to 4 query vectors in 16 accumulators at a time)
 * into an L1 buffer with their running column max; the online softmax's rescale by
 * e^(m_old − m_new); P = e^(S − m) in place and its column sums; then
 * Oᵀ[e][·] = α Oᵀ[e][·] + Σ_c V[c][e] · P[c][·], 4 output columns × up to 4 query
 * vectors at a time.  Oᵀ is turned back and divided by l once per item.
 * The backward pass takes the same tiles: P = e^(S − lse), dP from dO and V as the
 * scores are made, dS = P ∘ (dP − D), then dV and dK rows of the tile's keys by
 * broadcasts of P and dS against dO and Q read in place, and dQᵀ like Oᵀ.
 * Against the GEMM tiles of attention_impl.h (one OpenBLAS call per product, which
 * packs its operands again for every tile, and four passes of the softmax over the
 * tile), Intel Xeon (AVX-512), 2 threads, B8 h8 T512 d64: forward 29.4 → 18.6 ms,
 * forward + backward 89 → 56 ms; docs/BENCHMARKS-attention.md has the sweep against
 * PyTorch.  Boolean masks, float64 and few queries (see dlk_attention_avx512_fits) keep
 * the GEMM tiles, as does a backward pass whose d_k or d_v is not a multiple of 16. */
#include <math.h>
#include <string.h>
#include "attention.h"

#ifdef DLK_HAVE_AVX512_LOOPS
#include <immintrin.h>

#define QB 64   /* queries per item: up to 4 vectors of 16 */
#define KT 64   /* keys per tile */
#define INLINE static inline __attribute__((always_inline))

/* T_q >= 16, or T_q >= 2 with d_k <= 24.  With fewer queries most lanes idle, and
 * from d_k 32 on the GEMM tiles are faster there (Intel Xeon, AVX-512, 2 threads,
 * causal, forward / backward: 64 heads T 12 d 64 54 / 123 µs against 72 / 163 in the
 * lanes, d 32 44 / 93 against 47 / 86; 12 heads T_q 1 against 1024 keys d 64 164 µs
 * against 344).  At d_k 16 each small GEMM's fixed cost dominates the tiles and the
 * lanes win from T_q 2 on (64 heads T 12 d 16: 65 / 127 µs against 31 / 59; T 2: 57 / 76
 * against 21 / 29; T_q 1: 18 against 22 µs, which stays with the tiles). */
int dlk_attention_avx512_fits(const dlk_attention_shape *s)
{
    return s->mask == NULL && (s->Tq >= 16 || (s->Tq >= 2 && s->dk <= 24)) &&
           dlk_has_avx512();
}

/* e^x for x <= 0 (the scores less their max): 2^k · e^r with k = round(x / ln 2), e^r
 * by its Taylor series to r^6 as dlk_expf (dlk_math.h), 2^k by scalef.  Below −80, and
 * for the NaN of −∞ − (−∞), the result is 0: the series runs on x raised to −80, so no
 * result is ever subnormal — on Intel cores an underflowing scalef takes a microcode
 * assist (Intel Xeon, AVX-512: causal T 64, d 16, 64 heads took 0.50 ms against 0.14
 * without the mask, from the masked scores' e^−∞; e^−80 is 2e−35 of the row's largest
 * term, which is 1). */
DLK_AVX512 INLINE __m512 exp16(__m512 x)
{
    const __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-80.0f), _CMP_GE_OQ);
    x = _mm512_max_ps(x, _mm512_set1_ps(-80.0f));
    __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693145752f), x);
    r = _mm512_fnmadd_ps(k, _mm512_set1_ps(1.42860677e-6f), r);
    __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(1.38888892e-3f), r, _mm512_set1_ps(8.33333377e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.16666679e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.66666672e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_maskz_mov_ps(keep, _mm512_scalef_ps(p, k));
}

/* Scores of R keys (rows of K, dk apart) against V query vectors of Qt: St[r][·] and
 * the column max.  causal: key r is visible to the lanes from cut + r − 16 j on, where
 * cut is the first key's index less the causal offset and the block's first query. */
DLK_AVX512 INLINE void scores(const int R, const int V, const float *K, int64_t dk,
                              const float *Qt, float *St, __m512 *tmax, int causal,
                              int64_t cut)
{
    __m512 acc[4][4];
    for (int r = 0; r < R; r++)
        for (int j = 0; j < V; j++) acc[r][j] = _mm512_setzero_ps();
    for (int64_t p = 0; p < dk; p++) {
        __m512 qv[4];
        for (int j = 0; j < V; j++) qv[j] = _mm512_load_ps(Qt + p * QB + 16 * j);
        for (int r = 0; r < R; r++) {
            __m512 kb = _mm512_set1_ps(K[r * dk + p]);
            for (int j = 0; j < V; j++) acc[r][j] = _mm512_fmadd_ps(kb, qv[j], acc[r][j]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int j = 0; j < V; j++) {
            if (causal) {
                int64_t from = cut + r - 16 * j;          /* first lane that sees the key */
                if (from > 0)
                    acc[r][j] = _mm512_mask_mov_ps(
                        _mm512_set1_ps(-INFINITY),
                        from >= 16 ? (__mmask16)0 : (__mmask16)(0xFFFFu << from), acc[r][j]);
            }
            _mm512_store_ps(St + r * QB + 16 * j, acc[r][j]);
            tmax[j] = _mm512_max_ps(tmax[j], acc[r][j]);
        }
}

/* Oᵀ rows e … e+E−1 (Ot, QB apart): α · Oᵀ + Σ_c V[c][e…] · P[c][·] over the tile's nk
 * keys (Vm: V's row of the tile's first key, at column e; rows dv apart). */
DLK_AVX512 INLINE void values(const int E, const int V, const float *Vm, int64_t dv,
                              int64_t nk, const float *St, float *Ot, const __m512 *alpha)
{
    __m512 acc[4][4];
    for (int e = 0; e < E; e++)
        for (int j = 0; j < V; j++)
            acc[e][j] = _mm512_mul_ps(_mm512_load_ps(Ot + e * QB + 16 * j), alpha[j]);
    for (int64_t c = 0; c < nk; c++) {
        __m512 pv[4];
        for (int j = 0; j < V; j++) pv[j] = _mm512_load_ps(St + c * QB + 16 * j);
        for (int e = 0; e < E; e++) {
            __m512 vb = _mm512_set1_ps(Vm[c * dv + e]);
            for (int j = 0; j < V; j++) acc[e][j] = _mm512_fmadd_ps(vb, pv[j], acc[e][j]);
        }
    }
    for (int e = 0; e < E; e++)
        for (int j = 0; j < V; j++) _mm512_store_ps(Ot + e * QB + 16 * j, acc[e][j]);
}

/* One item: head h's queries q0 … q0+nq−1 (nq <= 16 V) against every visible key. */
DLK_AVX512 INLINE void item(const int V, const dlk_attention_shape *s, int64_t h, int64_t q0,
                            int64_t nq, const float *q, const float *k, const float *v,
                            float *out, float *lse, float *Qt, float *St, float *Ot)
{
    const int64_t Tq = s->Tq, Tk = s->Tk, dk = s->dk, dv = s->dv;
    const float scale = (float)s->scale;
    const float *Q = q + (h * Tq + q0) * dk, *K = k + h * Tk * dk, *Vh = v + h * Tk * dv;
    for (int64_t i = 0; i < 16 * V; i++)
        for (int64_t p = 0; p < dk; p++) Qt[p * QB + i] = i < nq ? scale * Q[i * dk + p] : 0.0f;
    memset(Ot, 0, (size_t)(dv * QB) * sizeof(float));
    __m512 m[4], l[4], alpha[4], ms[4];
    for (int j = 0; j < V; j++) {
        m[j] = _mm512_set1_ps(-INFINITY);
        l[j] = _mm512_setzero_ps();
    }
    const int64_t last = q0 + nq - 1 + s->causal_offset;   /* causal: no key beyond */
    for (int64_t k0 = 0; k0 < Tk && (!s->causal || k0 <= last); k0 += KT) {
        const int64_t nk = Tk - k0 < KT ? Tk - k0 : KT;
        /* only tiles that reach past the first query's last key need the mask */
        const int causal = s->causal && k0 + nk - 1 > q0 + s->causal_offset;
        const int64_t cut = k0 - s->causal_offset - q0;
        __m512 tmax[4];
        for (int j = 0; j < V; j++) tmax[j] = _mm512_set1_ps(-INFINITY);
        int64_t c = 0;
        for (; c + 4 <= nk; c += 4)
            scores(4, V, K + (k0 + c) * dk, dk, Qt, St + c * QB, tmax, causal, cut + c);
        switch (nk - c) {
        case 3: scores(3, V, K + (k0 + c) * dk, dk, Qt, St + c * QB, tmax, causal, cut + c); break;
        case 2: scores(2, V, K + (k0 + c) * dk, dk, Qt, St + c * QB, tmax, causal, cut + c); break;
        case 1: scores(1, V, K + (k0 + c) * dk, dk, Qt, St + c * QB, tmax, causal, cut + c); break;
        }
        /* online softmax: the new max, e^(m_old − m_new) for what was summed so far
         * (0 where nothing was: −∞ − m_new), then this tile's P and its sums; a
         * column still all −∞ subtracts 0, not −∞ */
        __m512 lsum[4];
        for (int j = 0; j < V; j++) {
            __m512 mn = _mm512_max_ps(m[j], tmax[j]);
            alpha[j] = exp16(_mm512_sub_ps(m[j], mn));
            ms[j] = _mm512_mask_mov_ps(
                mn, _mm512_cmp_ps_mask(mn, _mm512_set1_ps(-INFINITY), _CMP_EQ_OQ),
                _mm512_setzero_ps());
            m[j] = mn;
            lsum[j] = _mm512_setzero_ps();
        }
        for (int64_t cc = 0; cc < nk; cc++)
            for (int j = 0; j < V; j++) {
                float *sp = St + cc * QB + 16 * j;
                __m512 pr = exp16(_mm512_sub_ps(_mm512_load_ps(sp), ms[j]));
                _mm512_store_ps(sp, pr);
                lsum[j] = _mm512_add_ps(lsum[j], pr);
            }
        for (int j = 0; j < V; j++) l[j] = _mm512_fmadd_ps(l[j], alpha[j], lsum[j]);
        const float *Vt = Vh + k0 * dv;
        int64_t e = 0;
        for (; e + 4 <= dv; e += 4) values(4, V, Vt + e, dv, nk, St, Ot + e * QB, alpha);
        switch (dv - e) {
        case 3: values(3, V, Vt + e, dv, nk, St, Ot + e * QB, alpha); break;
        case 2: values(2, V, Vt + e, dv, nk, St, Ot + e * QB, alpha); break;
        case 1: values(1, V, Vt + e, dv, nk, St, Ot + e * QB, alpha); break;
        }
    }
    float mf[QB], lf[QB];
    for (int j = 0; j < V; j++) {
        _mm512_storeu_ps(mf + 16 * j, m[j]);
        _mm512_storeu_ps(lf + 16 * j, l[j]);
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

DLK_AVX512 int dlk_attention_avx512_f32(const dlk_attention_shape *s, const float *q,
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
        switch ((nq + 15) / 16) {
        case 1: item(1, s, h, q0, nq, q, k, v, out, lse, Qt, St, Ot); break;
        case 2: item(2, s, h, q0, nq, q, k, v, out, lse, Qt, St, Ot); break;
        case 3: item(3, s, h, q0, nq, q, k, v, out, lse, Qt, St, Ot); break;
        default: item(4, s, h, q0, nq, q, k, v, out, lse, Qt, St, Ot); break;
        }
    }
    dlk_scratch_give(ws);
    return DLK_STOPPED(stop) ? DLK_EINTR : DLK_OK;
}

/* dX rows r < R (keys; ldd apart) += f · Σ_i St[r][i] · X[i][·] over the block's nq
 * queries: X row-major (ldx apart), its w columns (a multiple of 16) 64 at a time. */
DLK_AVX512 INLINE void keyrows_e(const int R, const int E, const float *St, int64_t nq,
                                 const float *X, int64_t ldx, float f, float *dX, int64_t ldd)
{
    __m512 acc[4][4];
    for (int r = 0; r < R; r++)
        for (int j = 0; j < E; j++) acc[r][j] = _mm512_setzero_ps();
    for (int64_t i = 0; i < nq; i++) {
        __m512 xv[4];
        for (int j = 0; j < E; j++) xv[j] = _mm512_loadu_ps(X + i * ldx + 16 * j);
        for (int r = 0; r < R; r++) {
            __m512 b = _mm512_set1_ps(St[r * QB + i]);
            for (int j = 0; j < E; j++) acc[r][j] = _mm512_fmadd_ps(b, xv[j], acc[r][j]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int j = 0; j < E; j++) {
            float *d = dX + r * ldd + 16 * j;
            _mm512_storeu_ps(d, _mm512_fmadd_ps(_mm512_set1_ps(f), acc[r][j], _mm512_loadu_ps(d)));
        }
}

DLK_AVX512 INLINE void keyrows(const int R, const float *St, int64_t nq, const float *X,
                               int64_t w, float f, float *dX)
{
    int64_t e = 0;
    for (; e + 64 <= w; e += 64) keyrows_e(R, 4, St, nq, X + e, w, f, dX + e, w);
    switch ((w - e) / 16) {
    case 3: keyrows_e(R, 3, St, nq, X + e, w, f, dX + e, w); break;
    case 2: keyrows_e(R, 2, St, nq, X + e, w, f, dX + e, w); break;
    case 1: keyrows_e(R, 1, St, nq, X + e, w, f, dX + e, w); break;
    }
}

/* Oᵀ rows of width w (Ot: w rows QB apart) += Σ_c Xm[c][·] · P[c][·] over nk keys. */
DLK_AVX512 INLINE void values_all(const int V, const float *Xm, int64_t w, int64_t nk,
                                  const float *St, float *Ot, const __m512 *alpha)
{
    int64_t e = 0;
    for (; e + 4 <= w; e += 4) values(4, V, Xm + e, w, nk, St, Ot + e * QB, alpha);
    switch (w - e) {
    case 3: values(3, V, Xm + e, w, nk, St, Ot + e * QB, alpha); break;
    case 2: values(2, V, Xm + e, w, nk, St, Ot + e * QB, alpha); break;
    case 1: values(1, V, Xm + e, w, nk, St, Ot + e * QB, alpha); break;
    }
}

/* Scores Sᵀ of the nk keys of X (rows w apart) against the query vectors of Qt (w rows)
 * into St, causal-masked if asked; returns nothing of the max. */
DLK_AVX512 INLINE void scores_all(const int V, const float *X, int64_t w, int64_t nk,
                                  const float *Qt, float *St, int causal, int64_t cut)
{
    __m512 tmax[4];
    for (int j = 0; j < V; j++) tmax[j] = _mm512_set1_ps(-INFINITY);
    int64_t c = 0;
    for (; c + 4 <= nk; c += 4) scores(4, V, X + c * w, w, Qt, St + c * QB, tmax, causal, cut + c);
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
    __m512 lse[4], D[4];
} qblock;

DLK_AVX512 INLINE void qblock_load(const int V, qblock *b, const dlk_attention_shape *s,
                                   int64_t h, int64_t q0, const float *q, const float *dout,
                                   const float *lse, const float *D)
{
    const int64_t Tq = s->Tq, dk = s->dk, dv = s->dv;
    const float scale = (float)s->scale;
    b->q0 = q0;
    b->nq = Tq - q0 < QB ? Tq - q0 : QB;
    b->Q = q + (h * Tq + q0) * dk;
    b->dO = dout + (h * Tq + q0) * dv;
    for (int64_t i = 0; i < 16 * V; i++) {
        for (int64_t p = 0; p < dk; p++)
            b->Qt[p * QB + i] = i < b->nq ? scale * b->Q[i * dk + p] : 0.0f;
        for (int64_t e = 0; e < dv; e++) b->dOt[e * QB + i] = i < b->nq ? b->dO[i * dv + e] : 0.0f;
    }
    for (int j = 0; j < V; j++) {
        int64_t left = b->nq - 16 * j;
        __mmask16 in = left >= 16 ? (__mmask16)0xFFFF : left > 0 ? (__mmask16)((1u << left) - 1) : 0;
        b->lse[j] = _mm512_mask_loadu_ps(_mm512_set1_ps(INFINITY), in, lse + h * Tq + q0 + 16 * j);
        b->D[j] = _mm512_maskz_loadu_ps(in, D + h * Tq + q0 + 16 * j);
    }
}

/* One (query block, key tile) of the backward pass: P = e^(S − lse) and
 * dS = P ∘ (dO Vᵀ − D), then dV += Pᵀ dO, dK += scale dSᵀ Q (rows of the tile's keys)
 * and dQt += Kᵀ dS (the block's lanes), for each accumulator given. */
DLK_AVX512 INLINE void tile_bwd(const int V, const dlk_attention_shape *s, const qblock *b,
                                int64_t k0, int64_t nk, const float *K, const float *Vm,
                                float *St, float *dSt, float *dV, float *dK, float *dQt)
{
    const int64_t dk = s->dk, dv = s->dv;
    const int causal = s->causal && k0 + nk - 1 > b->q0 + s->causal_offset;
    scores_all(V, K, dk, nk, b->Qt, St, causal, k0 - s->causal_offset - b->q0);
    scores_all(V, Vm, dv, nk, b->dOt, dSt, 0, 0);
    for (int64_t c = 0; c < nk; c++)
        for (int j = 0; j < V; j++) {
            float *sp = St + c * QB + 16 * j, *gp = dSt + c * QB + 16 * j;
            __m512 pr = exp16(_mm512_sub_ps(_mm512_load_ps(sp), b->lse[j]));
            _mm512_store_ps(sp, pr);
            _mm512_store_ps(gp, _mm512_mul_ps(pr, _mm512_sub_ps(_mm512_load_ps(gp), b->D[j])));
        }
    int64_t c = 0;
    for (; c + 4 <= nk; c += 4) {
        if (dV) keyrows(4, St + c * QB, b->nq, b->dO, dv, 1.0f, dV + c * dv);
        if (dK) keyrows(4, dSt + c * QB, b->nq, b->Q, dk, (float)s->scale, dK + c * dk);
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
        const __m512 one[4] = {_mm512_set1_ps(1.0f), _mm512_set1_ps(1.0f),
                               _mm512_set1_ps(1.0f), _mm512_set1_ps(1.0f)};
        values_all(V, K, dk, nk, dSt, dQt, one);
    }
}

/* dQ rows of the block = scale · dQtᵀ. */
DLK_AVX512 INLINE void write_dq(const dlk_attention_shape *s, const qblock *b, int64_t h,
                                const float *dQt, float *dq)
{
    const float scale = (float)s->scale;
    for (int64_t i = 0; i < b->nq; i++)
        for (int64_t p = 0; p < s->dk; p++)
            dq[(h * s->Tq + b->q0 + i) * s->dk + p] = scale * dQt[p * QB + i];
}

int dlk_attention_backward_avx512_fits(const dlk_attention_shape *s)
{
    return dlk_attention_avx512_fits(s) && s->dk % 16 == 0 && s->dv % 16 == 0;
}

/* Whether key tile k0 has a key some query of [q0, q0+nq) sees. */
#define TILE_VISIBLE(s, q0, nq, k0) (!(s)->causal || (k0) <= (q0) + (nq) - 1 + (s)->causal_offset)

/* One owner per head walks the head's tiles once (dQ, dK, dV in place). */
DLK_AVX512 INLINE void head_bwd(const int V, const dlk_attention_shape *s, int64_t h,
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

DLK_AVX512 int dlk_attention_backward_avx512_f32(const dlk_attention_shape *s,
                                                 const float *dout, const float *q,
                                                 const float *k, const float *v,
                                                 const float *lse, const float *D, float *dq,
                                                 float *dk_out, float *dv_out,
                                                 const dlk_stop_flag *stop, int nthreads)
{
    const int64_t Tq = s->Tq, Tk = s->Tk, dk = s->dk, dv = s->dv, BH = s->BH;
    const int64_t qblocks = (Tq + QB - 1) / QB, kblocks = (Tk + KT - 1) / KT;
    const int V = Tq >= QB ? 4 : (int)((Tq + 15) / 16);   /* every block but the last */
    const int64_t per_thread = (2 * dk + dv + 2 * KT) * QB + KT * (dk + dv);
    int nt = nthreads < 1 ? 1 : nthreads;
    float *ws = dlk_scratch_take((size_t)(nt * per_thread) * sizeof(float));
    if (!ws) return DLK_ENOMEM;
#define THREAD_BUFFERS                                                                     \
    int t = 0;                                                                             \
    DLK_THREAD_NUM(t);                                                                     \
    float *Qt = ws + t * per_thread, *dOt = Qt + dk * QB, *St = dOt + dv * QB;             \
    float *dSt = St + KT * QB, *dQt = dSt + KT * QB, *acc = dQt + dk * QB;                 \
    (void)acc;
    /* every block is taken with 4 query vectors (the last one's extra lanes are zero):
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
            case 3: head_bwd(3, s, h, dout, q, k, v, lse, D, dq, dk_out, dv_out, Qt, dOt, St, dSt, dQt, stop); break;
            default: head_bwd(4, s, h, dout, q, k, v, lse, D, dq, dk_out, dv_out, Qt, dOt, St, dSt, dQt, stop); break;
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
                PASS1(1) PASS1(2) PASS1(3)
                default: qblock_load(4, &b, s, h, q0, q, dout, lse, D);
                         tile_bwd(4, s, &b, k0, nk, K, Vm, St, dSt, dV, dK, NULL);
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
            PASS2(1) PASS2(2) PASS2(3)
            default: PASS2(4)
#undef PASS2
            }
        }
    }
#undef THREAD_BUFFERS
    dlk_scratch_give(ws);
    return DLK_STOPPED(stop) ? DLK_EINTR : DLK_OK;
}

#else
int dlk_attention_avx512_fits(const dlk_attention_shape *s) { (void)s; return 0; }
int dlk_attention_avx512_f32(const dlk_attention_shape *s, const float *q, const float *k,
                             const float *v, float *out, float *lse, const dlk_stop_flag *stop,
                             int nthreads)
{
    (void)s; (void)q; (void)k; (void)v; (void)out; (void)lse; (void)stop; (void)nthreads;
    return DLK_EINVAL;
}
int dlk_attention_backward_avx512_fits(const dlk_attention_shape *s) { (void)s; return 0; }
int dlk_attention_backward_avx512_f32(const dlk_attention_shape *s, const float *dout,
                                      const float *q, const float *k, const float *v,
                                      const float *lse, const float *D, float *dq,
                                      float *dk_out, float *dv_out, const dlk_stop_flag *stop,
                                      int nthreads)
{
    (void)s; (void)dout; (void)q; (void)k; (void)v; (void)lse; (void)D; (void)dq;
    (void)dk_out; (void)dv_out; (void)stop; (void)nthreads;
    return DLK_EINVAL;
}
#endif
