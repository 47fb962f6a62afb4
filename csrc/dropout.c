/* dropout.c — inverted dropout (DESIGN.md, contract additions).
 *
 * Each element's keep/drop draw is a pure function of (seed, its flat index), so the
 * flat array splits into one contiguous slice per thread with no generator state to
 * hand over, and the mask is the same at any thread count and on either backend.  One
 * 64-bit hash gives the draws of two neighbouring elements.  No workspace. */
#include <stdint.h>
#include "dropout.h"

/* Elements below which a second thread costs more than it brings. */
#define DROP_GRAIN ((int64_t)1 << 14)
/* Elements whose draws are made together (an even count, 4 KB of them). */
#define DROP_BLOCK 1024

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "dropout_impl.h reads a hash's 32-bit halves in little-endian order"
#endif

/* splitmix64's increment and finaliser (Steele, Lea and Flood, 2014). */
#define DLK_GAMMA 0x9E3779B97F4A7C15ull
#pragma omp declare simd notinbranch
static inline uint64_t dlk_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

#define DLK_BODY "dropout_impl.h"
#include "instantiate.h"

/* The dtype-tagged entries of dropout.h. */
int dlk_dropout(int dtype, int64_t n, const void *x, uint64_t seed, uint64_t threshold,
                double scale, void *y, uint8_t *mask, int nthreads)
{
    return dtype == DLK_F64 ? dlk_dropout_f64(n, x, seed, threshold, scale, y, mask, nthreads)
                            : dlk_dropout_f32(n, x, seed, threshold, scale, y, mask, nthreads);
}

int dlk_dropout_backward(int dtype, int64_t n, const void *dy, const uint8_t *mask,
                         double scale, void *dx, int nthreads)
{
    return dtype == DLK_F64 ? dlk_dropout_backward_f64(n, dy, mask, scale, dx, nthreads)
                            : dlk_dropout_backward_f32(n, dy, mask, scale, dx, nthreads);
}
