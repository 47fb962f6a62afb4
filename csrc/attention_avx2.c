/* attention_avx2.c — attention for float in AVX2 + FMA registers: the loops of
 * attention_lanes_impl.h with 8 lanes and blocks of 24 queries (4 × 3 vectors of
 * accumulators, 3 operand vectors and a broadcast: the 16 ymm registers); attention.c
 * takes them on CPUs without AVX-512 where dlk_attention_avx2_fits() and
 * dlk_attention_backward_avx2_fits() say so. */
#include <math.h>
#include <string.h>
#include "attention.h"

#ifdef DLK_HAVE_AVX2_LOOPS
#include <immintrin.h>

#define TARGET DLK_AVX2
#define ISA_FN(pre, post) pre##avx2##post
#define VF __m256
#define NL 8
#define QV 3
#define VLOAD _mm256_load_ps
#define VSTORE _mm256_store_ps
#define VLOADU _mm256_loadu_ps
#define VSTOREU _mm256_storeu_ps
#define VSET1 _mm256_set1_ps
#define VZERO _mm256_setzero_ps
#define VFMA _mm256_fmadd_ps
#define VMUL _mm256_mul_ps
#define VADD _mm256_add_ps
#define VSUB _mm256_sub_ps
#define VMAX _mm256_max_ps
#define VEXP exp8
#define VHIDE_BELOW(x, n)                                                                   \
    _mm256_blendv_ps((x), VSET1(-INFINITY),                                               \
                     _mm256_cmp_ps(_mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7),                 \
                                   VSET1((float)(n)), _CMP_LT_OQ))
#define VZERO_NEGINF(x) _mm256_andnot_ps(_mm256_cmp_ps((x), VSET1(-INFINITY), _CMP_EQ_OQ), (x))

/* The same problems as the AVX-512 loops take (attention_avx512.c says why), on CPUs
 * without them. */
int dlk_attention_avx2_fits(const dlk_attention_shape *s)
{
    return s->mask == NULL && (s->Tq >= 16 || (s->Tq >= 2 && s->dk <= 24)) &&
           !dlk_has_avx512() && dlk_has_avx2();
}

/* e^x for x <= 0 as exp16 of attention_avx512.c: the Taylor series to r^6 on x raised
 * to −80, 2^k built in the exponent bits (k >= −116: a normal float), 0 below −80 and
 * for NaN. */
DLK_AVX2 static inline __attribute__((always_inline)) __m256 exp8(__m256 x)
{
    const __m256 keep = _mm256_cmp_ps(x, _mm256_set1_ps(-80.0f), _CMP_GE_OQ);
    x = _mm256_max_ps(x, _mm256_set1_ps(-80.0f));
    __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693145752f), x);
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(1.42860677e-6f), r);
    __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(1.38888892e-3f), r, _mm256_set1_ps(8.33333377e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.16666679e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.66666672e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(
        _mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e)), keep);
}

#include "attention_lanes_impl.h"

#endif
