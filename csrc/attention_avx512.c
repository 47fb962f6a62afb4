/* attention_avx512.c — attention for float in AVX-512 registers: the loops of
 * attention_lanes_impl.h with 16 lanes and blocks of 64 queries (4 × 4 vectors of
 * accumulators); attention.c takes them where dlk_attention_avx512_fits() and
 * dlk_attention_backward_avx512_fits() say so. */
#include <math.h>
#include <string.h>
#include "attention.h"

#ifdef DLK_HAVE_AVX512_LOOPS
#include <immintrin.h>

#define TARGET DLK_AVX512
#define ISA_FN(pre, post) pre##avx512##post
#define VF __m512
#define NL 16
#define QV 4
#define VLOAD _mm512_load_ps
#define VSTORE _mm512_store_ps
#define VLOADU _mm512_loadu_ps
#define VSTOREU _mm512_storeu_ps
#define VSET1 _mm512_set1_ps
#define VZERO _mm512_setzero_ps
#define VFMA _mm512_fmadd_ps
#define VMUL _mm512_mul_ps
#define VADD _mm512_add_ps
#define VSUB _mm512_sub_ps
#define VMAX _mm512_max_ps
#define VEXP exp16
#define VHIDE_BELOW(x, n) _mm512_mask_mov_ps((x), (__mmask16)((1u << (n)) - 1), VSET1(-INFINITY))
#define VZERO_NEGINF(x)                                                                     \
    _mm512_mask_mov_ps((x), _mm512_cmp_ps_mask((x), VSET1(-INFINITY), _CMP_EQ_OQ), VZERO())

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
DLK_AVX512 static inline __attribute__((always_inline)) __m512 exp16(__m512 x)
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

#include "attention_lanes_impl.h"

#endif
