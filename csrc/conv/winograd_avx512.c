/* conv/winograd_avx512.c — AVX-512 Winograd F(2×2, 3×3) transforms of small float
 * planes, called by winograd_f2x2_impl.h where dlk_has_avx512(). */
#include "conv/internal.h"
#ifdef DLK_HAVE_AVX512_LOOPS
#define DLK_F64 0
#include "simd_avx512.h"

/* Winograd input transform of 8×8 float planes with padding 1 (4×4 tiles: one tile to
 * a lane), used by wino_input_small_f32: the 16 patch elements of every tile are each
 * two permutes of the plane's four vectors, then Bᵀ d B is 32 vector adds and the 16
 * V_ξ rows are one store each.  The portable loop goes tile by tile through tables
 * (about 340 cycles a plane), and 8×8 planes are too narrow for its spare-tile form. */
DLK_AVX512 void dlk_conv_wino_input_8x8_avx512_f32(const float *DLK_RESTRICT x, int64_t C,
                                                   int64_t b0, int64_t nb,
                                                   float *DLK_RESTRICT V, int64_t st)
{
    __m512i idx[16];
    __mmask16 klo[16], khi[16];
    for (int e = 0; e < 16; e++) {     /* patch element e = (r, c) of tile q = (th, tw) */
        int32_t ix[16];
        unsigned lo = 0, hi = 0;
        for (int q = 0; q < 16; q++) {
            int row = 2 * (q / 4) + e / 4 - 1, col = 2 * (q % 4) + e % 4 - 1;
            int src = row * 8 + col, inside = row >= 0 && row < 8 && col >= 0 && col < 8;
            ix[q] = inside ? src & 31 : 0;
            if (inside) {
                if (src < 32) lo |= 1u << q;
                else hi |= 1u << q;
            }
        }
        idx[e] = _mm512_loadu_si512(ix);
        klo[e] = (__mmask16)lo;
        khi[e] = (__mmask16)hi;
    }
    const int64_t n = nb * 16;
    for (int64_t j = 0; j < nb; j++)
        for (int64_t c = 0; c < C; c++) {
            const float *p = x + ((b0 + j) * C + c) * 64;
            __m512 z0 = _mm512_loadu_ps(p), z1 = _mm512_loadu_ps(p + 16);
            __m512 z2 = _mm512_loadu_ps(p + 32), z3 = _mm512_loadu_ps(p + 48);
            __m512 d[16], m[16];
            for (int e = 0; e < 16; e++)
                d[e] = _mm512_mask_mov_ps(_mm512_maskz_permutex2var_ps(klo[e], z0, idx[e], z1),
                                          khi[e], _mm512_permutex2var_ps(z2, idx[e], z3));
            for (int k = 0; k < 4; k++) {                              /* Bᵀ d */
                m[k] = _mm512_sub_ps(d[k], d[8 + k]);
                m[4 + k] = _mm512_add_ps(d[4 + k], d[8 + k]);
                m[8 + k] = _mm512_sub_ps(d[8 + k], d[4 + k]);
                m[12 + k] = _mm512_sub_ps(d[4 + k], d[12 + k]);
            }
            float *v = V + c * n + j * 16;
            for (int i = 0; i < 4; i++) {                              /* (Bᵀ d) B */
                _mm512_storeu_ps(v + (4 * i) * st, _mm512_sub_ps(m[4 * i], m[4 * i + 2]));
                _mm512_storeu_ps(v + (4 * i + 1) * st, _mm512_add_ps(m[4 * i + 1], m[4 * i + 2]));
                _mm512_storeu_ps(v + (4 * i + 2) * st, _mm512_sub_ps(m[4 * i + 2], m[4 * i + 1]));
                _mm512_storeu_ps(v + (4 * i + 3) * st, _mm512_sub_ps(m[4 * i + 1], m[4 * i + 3]));
            }
        }
}
/* Winograd output transform of small float planes in the spare-tile layout (tile rows
 * of tw_q ≤ 16 tiles): one tile row a vector, Aᵀ m A + bias down the lanes, then
 * each output row is the two corners' vectors interleaved by two permutes and stored
 * with a mask (Wo values).  wino_output_small_f32's tables store each output through a
 * scatter (vscatterdps): 14% of the samples of conv_mnist2's forward and backward on
 * this Zen 5. */
DLK_AVX512 void dlk_conv_wino_output_rows_avx512_f32(const dlk_conv_shape *s,
                                                     const float *DLK_RESTRICT M,
                                                     const float *b, int64_t b0, int64_t nb,
                                                     int64_t th0, int64_t th1,
                                                     float *DLK_RESTRICT y, int64_t st)
{
    const int64_t O = s->O, Ho = s->Ho, Wo = s->Wo, tw_n = (Wo + 1) / 2, tw_q = tw_n + 1;
    const int64_t tps = (th1 - th0) * tw_q, n = nb * tps;
    dlk_perm2 P;
    dlk_perm2_init(&P, 16);
    const __mmask16 mq = (__mmask16)((1u << tw_n) - 1);
    const __mmask16 m0 = (__mmask16)(Wo >= 16 ? 0xFFFFu : (1u << Wo) - 1);
    const __mmask16 m1 = (__mmask16)(Wo > 16 ? (1u << (Wo - 16)) - 1 : 0);
    for (int64_t j = 0; j < nb; j++)
        for (int64_t o = 0; o < O; o++) {
            const float *mo = M + o * n + j * tps;
            const __m512 bo = _mm512_set1_ps(b ? b[o] : 0.0f);
            float *yo = y + ((b0 + j) * O + o) * Ho * Wo;
            for (int64_t th = th0; th < th1; th++) {
                const float *mt = mo + (th - th0) * tw_q;
                __m512 m[16], u0[4], u1[4], r[4];
                for (int xi = 0; xi < 16; xi++)
                    m[xi] = _mm512_maskz_loadu_ps(mq, mt + xi * st);
                for (int k = 0; k < 4; k++) {
                    u0[k] = _mm512_add_ps(_mm512_add_ps(m[k], m[4 + k]), m[8 + k]);
                    u1[k] = _mm512_sub_ps(_mm512_sub_ps(m[4 + k], m[8 + k]), m[12 + k]);
                }
                r[0] = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(u0[0], u0[1]), u0[2]), bo);
                r[1] = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(u0[1], u0[2]), u0[3]), bo);
                r[2] = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(u1[0], u1[1]), u1[2]), bo);
                r[3] = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(u1[1], u1[2]), u1[3]), bo);
                for (int a = 0; a < 2 && 2 * th + a < Ho; a++) {
                    float *row = yo + (2 * th + a) * Wo;
                    const __m512 e = r[2 * a], o = r[2 * a + 1];
                    _mm512_mask_storeu_ps(row, m0, _mm512_permutex2var_ps(e, P.lo, o));
                    if (m1)
                        _mm512_mask_storeu_ps(row + 16, m1, _mm512_permutex2var_ps(e, P.hi, o));
                }
            }
        }
}
#endif
