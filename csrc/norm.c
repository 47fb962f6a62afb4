/* norm.c — batch normalisation over NCHW images, training mode.
 *
 * Parallel over channels: a channel's statistics (B·H·W values, one contiguous plane
 * per sample) are summed by one thread in a fixed order, so results are the same at
 * any thread count.  Sums are in double, the variance in two passes (mean first, then
 * squared deviations: no cancellation); the passes after the first find the channel
 * in cache for the layer sizes of the workloads.  No workspace. */
#include <math.h>
#include <stdlib.h>
#include "norm.h"

/* Elements below which a second thread costs more than it brings. */
#define NORM_GRAIN ((int64_t)1 << 15)
/* Planes of fewer values go row by row (norm_impl.h, bn_small_). */
#define NORM_SMALL_PLANE 16

#define DLK_BODY "norm_impl.h"
#include "instantiate.h"

/* The dtype-tagged entries of norm.h. */
int dlk_batch_norm2d(int dtype, int64_t B, int64_t C, int64_t HW, const void *x,
                     const void *gamma, const void *beta, double eps, void *y, void *mean,
                     void *invstd, int nthreads)
{
    return dtype == DLK_F64 ? dlk_batch_norm2d_f64(B, C, HW, x, gamma, beta, eps, y, mean,
                                                   invstd, nthreads)
                            : dlk_batch_norm2d_f32(B, C, HW, x, gamma, beta, eps, y, mean,
                                                   invstd, nthreads);
}

int dlk_batch_norm2d_backward(int dtype, int64_t B, int64_t C, int64_t HW, const void *dy,
                              const void *x, const void *gamma, const void *mean,
                              const void *invstd, void *dx, void *dgamma, void *dbeta,
                              int nthreads)
{
    return dtype == DLK_F64 ? dlk_batch_norm2d_backward_f64(B, C, HW, dy, x, gamma, mean,
                                                            invstd, dx, dgamma, dbeta, nthreads)
                            : dlk_batch_norm2d_backward_f32(B, C, HW, dy, x, gamma, mean,
                                                            invstd, dx, dgamma, dbeta,
                                                            nthreads);
}
