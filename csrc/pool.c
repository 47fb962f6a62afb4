/* pool.c — 2-D max pooling, forward with argmax and backward by scatter; average
 * pooling, parallel over planes (pool_impl.h).
 *
 * Forward: parallel over (plane, output row), each row written by one thread, or, for
 * the 2×2 stride-2 and the stride-2 windows 2 or 3 wide that have AVX-512 loops of their
 * own, over chunks of whole planes.  The window is clamped to the plane (the AVX-512
 * loops load columns outside it as −inf) instead of materialising padding, the running max
 * starts at −inf (so padding never wins), ties keep the first position in row-major
 * window order and the first NaN wins — the reference's rules, dlkern/reference/pool.py.
 * Backward: parallel over planes, so the additions of overlapping windows (K > S) into
 * one dx element all happen in one thread, in output order: no races, no atomics, the
 * same sums at any thread count.  No workspace.  Indices are flat h·W + w per plane.
 * The AVX-512 loops are in pool_avx512.c. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pool.h"

/* Window elements below which a second thread costs more than it brings. */
#define POOL_GRAIN ((int64_t)1 << 15)
/* Outputs of one row computed together as one vector block. */
#define POOL_BLOCK 8

#ifdef DLK_HAVE_AVX512_LOOPS
/* The AVX-512 loops of pool_avx512.c, for pool_impl.h's float instantiation: rows of
 * up to stride 2 through dlk_pool_interior_avx512_f32, and whole planes through
 * dlk_pool_planes_avx512_f32 for 2×2 windows at stride 2 without padding and for
 * stride-2 windows 2 or 3 wide with rows
 * of up to 64 (planes enough to go round the threads). */
#define POOL_FAST_ROWS(s) ((s)->sw <= 2 && (s)->H * (s)->W < INT32_MAX && dlk_has_avx512())
#define POOL_FAST_INTERIOR dlk_pool_interior_avx512_f32
#define POOL_PLANES_FIT(s, nt)                                                        \
    ((POOL_2X2(s) || POOL_S2(s, nt)) && (s)->H * (s)->W < INT32_MAX && dlk_has_avx512())
#define POOL_PLANES dlk_pool_planes_avx512_f32
#endif

#define DLK_BODY "pool_impl.h"
#include "instantiate.h"

/* The dtype-tagged entries of pool.h. */
int dlk_max_pool2d(int dtype, const dlk_pool_shape *s, const void *x, void *y, int64_t *idx,
                   int nthreads)
{
    return dtype == DLK_F64 ? dlk_max_pool2d_f64(s, x, y, idx, nthreads)
                            : dlk_max_pool2d_f32(s, x, y, idx, nthreads);
}

int dlk_max_pool2d_backward(int dtype, const dlk_pool_shape *s, const void *dy,
                            const int64_t *idx, void *dx, int nthreads)
{
    return dtype == DLK_F64 ? dlk_max_pool2d_backward_f64(s, dy, idx, dx, nthreads)
                            : dlk_max_pool2d_backward_f32(s, dy, idx, dx, nthreads);
}

int dlk_avg_pool2d(int dtype, const dlk_pool_shape *s, const void *x, void *y,
                   int count_include_pad, int nthreads)
{
    return dtype == DLK_F64 ? dlk_avg_pool2d_f64(s, x, y, count_include_pad, 0, nthreads)
                            : dlk_avg_pool2d_f32(s, x, y, count_include_pad, 0, nthreads);
}

int dlk_avg_pool2d_backward(int dtype, const dlk_pool_shape *s, const void *dy, void *dx,
                            int count_include_pad, int nthreads)
{
    return dtype == DLK_F64 ? dlk_avg_pool2d_f64(s, dy, dx, count_include_pad, 1, nthreads)
                            : dlk_avg_pool2d_f32(s, dy, dx, count_include_pad, 1, nthreads);
}
