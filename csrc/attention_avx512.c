/* attention_avx512.c — the attention forward for float with its tiles in AVX-512
 * registers; attention.c takes it where dlk_attention_avx512_fits() says so.
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
 * Against the GEMM tiles of attention_impl.h (one OpenBLAS call per product, which
 * packs Q and K again for every tile, and four passes of the softmax over the tile):
 * see docs/BENCHMARKS-transformer.md.  Boolean masks, float64 and fewer than 16
 * queries (a lane per query would mostly idle) keep the GEMM tiles. */
#include <math.h>
#include <string.h>
#include "attention.h"

#ifdef DLK_HAVE_AVX512_LOOPS
#include <immintrin.h>

#define QB 64   /* queries per item: up to 4 vectors of 16 */
#define KT 64   /* keys per tile */
#define INLINE static inline __attribute__((always_inline))

int dlk_attention_avx512_fits(const dlk_attention_shape *s)
{
    return s->mask == NULL && s->Tq >= 16 && dlk_has_avx512();
}

/* e^x for x <= 0 (the scores less their max): 2^k · e^r with k = round(x / ln 2), e^r
 * by its Taylor series to r^6 as dlk_expf (dlk_math.h), 2^k by scalef.  x is first
 * raised to −150, where the result is exactly 0: masked scores (−∞) and the NaN of
 * −∞ − (−∞) (vmaxps returns its second operand for a NaN) give 0. */
DLK_AVX512 INLINE __m512 exp16(__m512 x)
{
    x = _mm512_max_ps(x, _mm512_set1_ps(-150.0f));
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
    return _mm512_scalef_ps(p, k);
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

#else
int dlk_attention_avx512_fits(const dlk_attention_shape *s) { (void)s; return 0; }
int dlk_attention_avx512_f32(const dlk_attention_shape *s, const float *q, const float *k,
                             const float *v, float *out, float *lse, const dlk_stop_flag *stop,
                             int nthreads)
{
    (void)s; (void)q; (void)k; (void)v; (void)out; (void)lse; (void)stop; (void)nthreads;
    return DLK_EINVAL;
}
#endif
