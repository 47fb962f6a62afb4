/* simd_avx512.h — the AVX-512 vocabulary of the type-generic loops, for the element type
 * dtype.h has just set (DLK_F64 0 or 1): include it after dtype.h, again for each type.
 * Only files named *_avx512.* include it; they compile their functions with DLK_AVX512
 * and call them only where dlk_has_avx512() (dlk.c) says the CPU has it.
 *
 *   VEC, VMASK, VLANES   vector, lane mask and lanes of T (16 floats or 8 doubles)
 *   VIDX                 the integer lane type of a permute index (int32 or int64)
 *   VSET1 VLOADU VSTOREU VMASKZ_LOADU VSTOREM VFMA VADD VREDUCE VPERM2
 *                        _mm512_*_ps or _mm512_*_pd
 * Also, once: dlk_perm2, the index vectors of a stride-2 split and its inverse. */
#include <immintrin.h>
#include "dlk.h"

#undef VEC
#undef VMASK
#undef VLANES
#undef VIDX
#undef VSET1
#undef VLOADU
#undef VSTOREU
#undef VMASKZ_LOADU
#undef VSTOREM
#undef VFMA
#undef VADD
#undef VREDUCE
#undef VPERM2
#if DLK_F64
#define VEC __m512d
#define VMASK __mmask8
#define VLANES 8
#define VIDX int64_t
#define VSET1 _mm512_set1_pd
#define VLOADU _mm512_loadu_pd
#define VSTOREU _mm512_storeu_pd
#define VMASKZ_LOADU _mm512_maskz_loadu_pd
#define VSTOREM _mm512_mask_storeu_pd
#define VFMA _mm512_fmadd_pd
#define VADD _mm512_add_pd
#define VREDUCE _mm512_reduce_add_pd
#define VPERM2 _mm512_permutex2var_pd
#else
#define VEC __m512
#define VMASK __mmask16
#define VLANES 16
#define VIDX int32_t
#define VSET1 _mm512_set1_ps
#define VLOADU _mm512_loadu_ps
#define VSTOREU _mm512_storeu_ps
#define VMASKZ_LOADU _mm512_maskz_loadu_ps
#define VSTOREM _mm512_mask_storeu_ps
#define VFMA _mm512_fmadd_ps
#define VADD _mm512_add_ps
#define VREDUCE _mm512_reduce_add_ps
#define VPERM2 _mm512_permutex2var_ps
#endif

#ifndef DLK_SIMD_AVX512_ONCE
#define DLK_SIMD_AVX512_ONCE
/* Index vectors for _mm512_permutex2var_ps/_pd(a, idx, b) over `lanes` lanes (16 floats
 * or 8 doubles): even and odd take the even and odd lanes of a:b (a stride-2 split), lo
 * and hi interleave the low and the high halves of a and b (its inverse). */
typedef struct {
    __m512i even, odd, lo, hi;
} dlk_perm2;

DLK_AVX512 static inline void dlk_perm2_init(dlk_perm2 *P, int lanes)
{
    int32_t w[4][16];
    int64_t d[4][8];
    for (int l = 0; l < lanes; l++) {
        const int v[4] = {2 * l, 2 * l + 1, (l & 1 ? lanes : 0) + l / 2,
                          (l & 1 ? lanes : 0) + lanes / 2 + l / 2};
        for (int q = 0; q < 4; q++) {
            if (lanes == 16) w[q][l] = v[q];
            else d[q][l] = v[q];
        }
    }
    const void *src[4];
    for (int q = 0; q < 4; q++) src[q] = lanes == 16 ? (const void *)w[q] : (const void *)d[q];
    P->even = _mm512_loadu_si512(src[0]);
    P->odd = _mm512_loadu_si512(src[1]);
    P->lo = _mm512_loadu_si512(src[2]);
    P->hi = _mm512_loadu_si512(src[3]);
}
#endif
