/* instantiate.h — compiles a type-generic body for float and then for double:
 *
 *     #define DLK_BODY "conv/winograd_f2x2_impl.h"
 *     #include "instantiate.h"
 *
 * With DLK_BODY_AVX512 defined, simd_avx512.h's vocabulary is set for each type too. */
#include "dlk_math.h"
#define DLK_F64 0
#include "dtype.h"
#ifdef DLK_BODY_AVX512
#include "simd_avx512.h"
#endif
#include DLK_BODY
#undef DLK_F64
#define DLK_F64 1
#include "dtype.h"
#ifdef DLK_BODY_AVX512
#include "simd_avx512.h"
#endif
#include DLK_BODY
#undef DLK_F64
#undef DLK_BODY
#undef DLK_BODY_AVX512
