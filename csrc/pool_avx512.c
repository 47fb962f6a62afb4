/* pool_avx512.c — max-pool loops in AVX-512 (float32): rows at stride 1 or 2, and whole
 * planes for 2×2 stride-2 windows and stride-2 windows 2 or 3 wide.  Called by
 * pool_impl.h (through pool.c's POOL_FAST_INTERIOR and POOL_PLANES) where
 * dlk_has_avx512(); the same rules as the portable loops: row-major window order, ties
 * keep the first position, the first NaN wins. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "pool.h"

/* Input rows ahead of the window that the whole-plane stride-2 loop prefetches. */
#define POOL_AHEAD 4

#ifdef DLK_HAVE_AVX512_LOOPS
#define DLK_F64 0
#include "simd_avx512.h"

/* One window element v at positions pos against the running best and its positions
 * arg: v wins where it is larger, or NaN while best is not (the first NaN wins). */
DLK_AVX512 static inline __attribute__((always_inline)) void pool_pick_avx512_f32(
    __m512 v, __m512i pos, __m512 *best, __m512i *arg)
{
    __mmask16 beats = _mm512_mask_cmp_ps_mask(_mm512_cmp_ps_mask(*best, *best, _CMP_ORD_Q),
                                              v, *best, _CMP_NLE_UQ);
    *best = _mm512_mask_mov_ps(*best, beats, v);
    *arg = _mm512_mask_mov_epi32(*arg, beats, pos);
}

/* The lanes m of best and of its 32-bit positions, widened to int64, at y + q, idx + q. */
DLK_AVX512 static inline __attribute__((always_inline)) void pool_store_avx512_f32(
    float *DLK_RESTRICT y, int64_t *DLK_RESTRICT idx, int64_t q, __mmask16 m, __m512 best,
    __m512i arg)
{
    _mm512_mask_storeu_ps(y + q, m, best);
    _mm512_mask_storeu_epi64(idx + q, (__mmask8)m,
                             _mm512_cvtepi32_epi64(_mm512_castsi512_si256(arg)));
    _mm512_mask_storeu_epi64(idx + q + 8, (__mmask8)(m >> 8),
                             _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(arg, 1)));
}

/* Interior outputs [lo, hi) of one float row at stride 1 or 2, 16 to a vector: window
 * column j of 16 outputs is one load at stride 1; at stride 2 two loads and one
 * permute that keeps the even elements (the portable loop's strided loads become
 * gathers, about 12 cycles an output).  Past hi the loads are masked off.  Same order
 * and rules as pool_blocks_: row-major window order, the first NaN wins, ties keep the
 * first position.  Indices are kept in 32 bits (planes under 2^31 elements).
 * Each window element's compare-and-select waits for the previous one (about 8 cycles),
 * so U vectors of the row go through the window together. */
DLK_AVX512 static inline __attribute__((always_inline)) void pool_vectors_avx512_f32(
    const int U, const float *DLK_RESTRICT x, int64_t W, int64_t hs, int64_t he, int64_t kw,
    int64_t sw, int64_t pw, int64_t o, int64_t hi, float *DLK_RESTRICT y,
    int64_t *DLK_RESTRICT idx)
{
    const __m512i lane = _mm512_mullo_epi32(
        _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
        _mm512_set1_epi32((int)sw));
    dlk_perm2 P;
    dlk_perm2_init(&P, 16);
    const __m512i even = P.even;
    __mmask16 m[4], m0[4], m1[4];
    __m512 best[4];
    __m512i arg[4];
    for (int u = 0; u < U; u++) {
        int64_t left = hi - o - 16 * u;
        const int n = left <= 0 ? 0 : left < 16 ? (int)left : 16, span = n ? 2 * n - 1 : 0;
        m[u] = (__mmask16)((1u << n) - 1);
        m0[u] = (__mmask16)(span >= 16 ? 0xFFFFu : (1u << span) - 1);
        m1[u] = (__mmask16)(span > 16 ? (1u << (span - 16)) - 1 : 0);
        best[u] = _mm512_set1_ps(-INFINITY);
        arg[u] = _mm512_add_epi32(_mm512_set1_epi32((int)(hs * W + (o + 16 * u) * sw - pw)),
                                  lane);
    }
    for (int64_t h = hs; h < he; h++)
        for (int64_t j = 0; j < kw; j++)
            for (int u = 0; u < U; u++) {
                const int64_t at = h * W + (o + 16 * u) * sw - pw + j;
                __m512 v;
                if (sw == 1)
                    v = _mm512_maskz_loadu_ps(m[u], x + at);
                else
                    v = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(m0[u], x + at), even,
                                               _mm512_maskz_loadu_ps(m1[u], x + at + 16));
                pool_pick_avx512_f32(v, _mm512_add_epi32(_mm512_set1_epi32((int)at), lane),
                                     &best[u], &arg[u]);
            }
    for (int u = 0; u < U; u++)
        pool_store_avx512_f32(y, idx, o + 16 * u, m[u], best[u], arg[u]);
}

DLK_AVX512 void dlk_pool_interior_avx512_f32(const float *DLK_RESTRICT x, int64_t W,
                                                  int64_t hs, int64_t he, int64_t kw,
                                                int64_t sw, int64_t pw, int64_t lo,
                                                int64_t hi, float *DLK_RESTRICT y,
                                                int64_t *DLK_RESTRICT idx)
{
    int64_t o = lo;
    /* the rows after the window's, which the next output row reads */
    for (int64_t h = he; h < he + 2; h++)
        for (int64_t c = lo * sw - pw; c < hi * sw; c += 16)
            _mm_prefetch((const char *)(x + h * W + c), _MM_HINT_T0);
    for (; hi - o > 32; o += 64)
        pool_vectors_avx512_f32(4, x, W, hs, he, kw, sw, pw, o, hi, y, idx);
    if (hi - o > 16)
        pool_vectors_avx512_f32(2, x, W, hs, he, kw, sw, pw, o, hi, y, idx);
    else if (hi > o)
        pool_vectors_avx512_f32(1, x, W, hs, he, kw, sw, pw, o, hi, y, idx);
}

/* The commonest pooling, 2×2 windows at stride 2 without padding, float32, planes
 * [p0, p1) whole: per call rather than per output row, so that narrow planes (14
 * outputs a row for pool_mnist) do not pay a row's set-up for one vector.  16 outputs
 * are two loads of each input row, split into even and odd columns by two permutes;
 * then pool_pick_avx512_f32 in window order (0, 0),
 * (0, 1), (1, 0), (1, 1), starting from (0, 0) (which a start at −inf would pick). */
DLK_AVX512 static void pool2x2_planes_avx512_f32(const float *DLK_RESTRICT x, int64_t H,
                                                 int64_t W, int64_t Ho, int64_t Wo,
                                                 int64_t p0, int64_t p1,
                                                 float *DLK_RESTRICT y,
                                                 int64_t *DLK_RESTRICT idx)
{
    dlk_perm2 P;
    dlk_perm2_init(&P, 16);
    const __m512i even = P.even, odd = P.odd;
    const __m512i one = _mm512_set1_epi32(1), down = _mm512_set1_epi32((int)W);
    for (int64_t p = p0; p < p1; p++) {
        const float *xp = x + p * H * W;
        float *yp = y + p * Ho * Wo;
        int64_t *ip = idx + p * Ho * Wo;
        for (int64_t oh = 0; oh < Ho; oh++)
            for (int64_t o = 0; o < Wo; o += 16) {
                const int n = Wo - o < 16 ? (int)(Wo - o) : 16, span = 2 * n;
                const __mmask16 m = (__mmask16)((1u << n) - 1);
                const __mmask16 m0 = (__mmask16)(span >= 16 ? 0xFFFFu : (1u << span) - 1);
                const __mmask16 m1 = (__mmask16)(span > 16 ? (1u << (span - 16)) - 1 : 0);
                const float *ra = xp + 2 * oh * W + 2 * o, *rb = ra + W;
                __m512 a0 = _mm512_maskz_loadu_ps(m0, ra), a1 = _mm512_maskz_loadu_ps(m1, ra + 16);
                __m512 b0 = _mm512_maskz_loadu_ps(m0, rb), b1 = _mm512_maskz_loadu_ps(m1, rb + 16);
                __m512 v[4] = {_mm512_permutex2var_ps(a0, even, a1),
                               _mm512_permutex2var_ps(a0, odd, a1),
                               _mm512_permutex2var_ps(b0, even, b1),
                               _mm512_permutex2var_ps(b0, odd, b1)};
                __m512i at = _mm512_add_epi32(_mm512_set1_epi32((int)(2 * oh * W + 2 * o)),
                                              even);
                __m512i pos[4] = {at, _mm512_add_epi32(at, one), _mm512_add_epi32(at, down),
                                  _mm512_add_epi32(_mm512_add_epi32(at, down), one)};
                __m512 best = v[0];
                __m512i arg = at;
                for (int k = 1; k < 4; k++) pool_pick_avx512_f32(v[k], pos[k], &best, &arg);
                pool_store_avx512_f32(yp, ip, oh * Wo + o, m, best, arg);
            }
    }
}
/* Windows 2 or 3 wide at stride 2 (any height, stride and padding down the plane),
 * output rows of up to 64, float32, planes [p0, p1) whole: pool_stem's 3×3 stride-2
 * windows with padding 1.  The row-by-row path pays a row's set-up and a scalar
 * border output per row (a third of its time on pool_stem's rows of 56); here the
 * masks are made once and the border outputs are vector lanes too: a column outside
 * the plane loads as −inf, which never beats, and each lane's arg starts at its
 * window's first column inside the plane, as in the scalar path.  The 33 columns under
 * 16 outputs' window row are two loads and one element: window column 0 is their even
 * elements, column 1 the odd ones, column 2 column 0 moved one lane down. */
DLK_AVX512 static inline __attribute__((always_inline)) void pool_planes_s2_u_avx512_f32(
    const int U, const int KW, const dlk_pool_shape *s, const float *DLK_RESTRICT x,
    int64_t p0, int64_t p1, float *DLK_RESTRICT y, int64_t *DLK_RESTRICT idx)
{
    const int64_t H = s->H, W = s->W, Ho = s->Ho, Wo = s->Wo, pw = s->pw;
    dlk_perm2 P;                            /* P.even: 0, 2, …, 30, so 2·lane too */
    dlk_perm2_init(&P, 16);
    const __m512i next = _mm512_set_epi32(31, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2,
                                          1);
    const __m512i one = _mm512_set1_epi32(1), two = _mm512_set1_epi32(2);
    const __m512 low = _mm512_set1_ps(-INFINITY);
    __mmask16 m[4], ma[4], mb[4], mc[4];
    __m512i col[4], first[4];
    for (int u = 0; u < U; u++) {
        const int64_t c0 = 32 * u - pw;     /* column under lane 0, window column 0 */
        const int64_t left = Wo - 16 * u;
        const int n = left < 16 ? (int)left : 16, span = 2 * n - 2 + KW;
        unsigned bits[3] = {0, 0, 0};
        for (int k = 0; k < span; k++)      /* columns of the window rows in the plane */
            if (c0 + k >= 0 && c0 + k < W) bits[k / 16] |= 1u << (k % 16);
        m[u] = (__mmask16)((1u << n) - 1);
        ma[u] = (__mmask16)bits[0];
        mb[u] = (__mmask16)bits[1];
        mc[u] = (__mmask16)(bits[2] & 1u ? 0x8000u : 0);
        col[u] = _mm512_add_epi32(_mm512_set1_epi32((int)c0), P.even);
        first[u] = _mm512_max_epi32(col[u], _mm512_setzero_si512());
    }
    for (int64_t p = p0; p < p1; p++) {
        const float *xp = x + p * H * W;
        for (int64_t oh = 0; oh < Ho; oh++) {
            const int64_t h0 = oh * s->sh - s->ph;
            const int64_t hs = h0 < 0 ? 0 : h0, he = h0 + s->kh > H ? H : h0 + s->kh;
            __m512 best[4];
            __m512i arg[4];
            /* two rows POOL_AHEAD rows past the window: the hardware prefetcher does not
             * keep up with these reads (pool_stem forward at 1 thread: 24-26 ms without,
             * 10.4-10.6 at 0 rows ahead, 9.9-10.6 at 4, 8.5-9.6 at 8; at 2 threads 4
             * was best, within the noise: 5.4-6.1 ms; AMD EPYC, Zen 5) */
            for (int64_t h = he + POOL_AHEAD; h < he + POOL_AHEAD + 2 && h < H; h++)
                for (int64_t c = 0; c < W; c += 16)
                    _mm_prefetch((const char *)(xp + h * W + c), _MM_HINT_T0);
            for (int u = 0; u < U; u++) {
                best[u] = low;
                arg[u] = _mm512_add_epi32(_mm512_set1_epi32((int)(hs * W)), first[u]);
            }
            for (int64_t h = hs; h < he; h++)
                for (int u = 0; u < U; u++) {
                    const float *r = xp + h * W + 32 * u - pw;
                    const __m512 a = _mm512_mask_loadu_ps(low, ma[u], r);
                    const __m512 b = _mm512_mask_loadu_ps(low, mb[u], r + 16);
                    const __m512i pos =
                        _mm512_add_epi32(_mm512_set1_epi32((int)(h * W)), col[u]);
                    const __m512 c0 = _mm512_permutex2var_ps(a, P.even, b);
                    pool_pick_avx512_f32(c0, pos, &best[u], &arg[u]);
                    pool_pick_avx512_f32(_mm512_permutex2var_ps(a, P.odd, b),
                                         _mm512_add_epi32(pos, one), &best[u], &arg[u]);
                    if (KW == 3)
                        pool_pick_avx512_f32(
                            _mm512_permutex2var_ps(c0, next,
                                                   _mm512_mask_loadu_ps(low, mc[u], r + 17)),
                            _mm512_add_epi32(pos, two), &best[u], &arg[u]);
                }
            for (int u = 0; u < U; u++)
                pool_store_avx512_f32(y + p * Ho * Wo, idx + p * Ho * Wo, oh * Wo + 16 * u,
                                      m[u], best[u], arg[u]);
        }
    }
}

DLK_AVX512 static void pool_planes_s2_avx512_f32(const dlk_pool_shape *s,
                                                 const float *DLK_RESTRICT x, int64_t p0,
                                                 int64_t p1, float *DLK_RESTRICT y,
                                                 int64_t *DLK_RESTRICT idx)
{
    const int U = (int)((s->Wo + 15) / 16);
#define POOL_S2_CASE(u)                                                                   \
    case u:                                                                               \
        if (s->kw == 3) pool_planes_s2_u_avx512_f32(u, 3, s, x, p0, p1, y, idx);          \
        else pool_planes_s2_u_avx512_f32(u, 2, s, x, p0, p1, y, idx);                     \
        break;
    switch (U) {
        POOL_S2_CASE(1)
        POOL_S2_CASE(2)
        POOL_S2_CASE(3)
        POOL_S2_CASE(4)
    }
#undef POOL_S2_CASE
}
/* The whole-plane loops over planes [p0, p1). */
DLK_AVX512 void dlk_pool_planes_avx512_f32(const dlk_pool_shape *s,
                                              const float *DLK_RESTRICT x, int64_t p0,
                                              int64_t p1, float *DLK_RESTRICT y,
                                              int64_t *DLK_RESTRICT idx)
{
    if (POOL_2X2(s))
        pool2x2_planes_avx512_f32(x, s->H, s->W, s->Ho, s->Wo, p0, p1, y, idx);
    else
        pool_planes_s2_avx512_f32(s, x, p0, p1, y, idx);
}
#endif
