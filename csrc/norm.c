/* norm.c — batch normalisation over NCHW images or (B, C) features, in training mode
 * and with running statistics, and layer normalisation over rows.
 *
 * Parallel over channels: a channel's statistics (B·H·W values, one contiguous plane
 * per sample) are summed by one thread in a fixed order, so results are the same at
 * any thread count (small planes and layer-norm's dγ, dβ: over fixed chunks of rows).  Sums are in double, the variance in two passes (mean first, then
 * squared deviations: no cancellation); the passes after the first find the channel
 * in cache for the layer sizes of the workloads.  No workspace. */
#include <math.h>
#include <stdlib.h>
#include "norm.h"

/* Elements below which a second thread costs more than it brings. */
#define NORM_GRAIN ((int64_t)1 << 15)
/* Planes of fewer values go row by row (norm_impl.h, bn_small_). */
#define NORM_SMALL_PLANE 16
/* Sums down the rows (layer-norm's dγ and dβ, batch-norm's small planes) go per chunk
 * of rows, each chunk into its own partial row, the partials then added in chunk order:
 * the chunks are fixed by the shape alone, so the bits do not depend on the thread
 * count.  64 chunks of at least 8 rows (a few long rows do not pay for a partial each),
 * more when a chunk would exceed 256 rows (partial sums in float stay short), at most
 * 2^21 elements of partials. */
#define NORM_CHUNKS 64
#define NORM_MIN_ROWS 8
#define NORM_CHUNK_ROWS 256
#define NORM_PARTIALS ((int64_t)1 << 21)

/* Batch-norm's small planes take chunks of at least 32 rows: their partials are in
 * double and added in a pass of their own ((256, 512) forward at one thread: 59 µs with
 * one partial, 100 µs with 32 chunks of 8 rows, Intel Xeon). */
#define BN_MIN_ROWS 32

/* chunks of R rows, at least min_rows each, whose partials are `parts` rows of `width`
 * values */
static int64_t row_chunks(int64_t R, int64_t width, int64_t parts, int64_t min_rows)
{
    int64_t nch = R / min_rows;
    if (nch > NORM_CHUNKS) nch = (R + NORM_CHUNK_ROWS - 1) / NORM_CHUNK_ROWS;
    if (nch < NORM_CHUNKS && R / min_rows >= NORM_CHUNKS) nch = NORM_CHUNKS;
    if (nch > NORM_PARTIALS / (parts * width)) nch = NORM_PARTIALS / (parts * width);
    return nch < 1 ? 1 : nch;
}

/* Chunks of a small-plane batch-norm's rows: one when the call is too small to be
 * split over threads at any count (a decision by the shape alone, so the bits still do
 * not depend on the thread count): six chunks cost (200, 100)'s backward 14.8 -> 17.7
 * µs, Intel Xeon. */
static int64_t bn_chunks(int64_t B, int64_t row)
{
    return B * row < 2 * NORM_GRAIN ? 1 : row_chunks(B, row, 2, BN_MIN_ROWS);
}

/* The chunks' partial rows (pairs of rows of n doubles, 2·h and 2·h + 1 for chunk h)
 * added into chunk 0's, in chunk order, a block of columns per iteration. */
static void fold_partials(double *d, int64_t nch, int64_t n)
{
#pragma omp for schedule(static)
    for (int64_t j0 = 0; j0 < n; j0 += 512) {
        const int64_t w = n - j0 < 512 ? n - j0 : 512;
        for (int64_t h = 1; h < nch; h++)
            for (int p = 0; p < 2; p++) {
                double *DLK_RESTRICT a = d + p * n + j0;
                const double *DLK_RESTRICT b = d + (2 * h + p) * n + j0;
#pragma omp simd
                for (int64_t j = 0; j < w; j++) a[j] += b[j];
            }
    }
}

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

int dlk_batch_norm_inference(int dtype, int64_t B, int64_t C, int64_t HW, const void *x,
                             const void *gamma, const void *beta, const void *rmean,
                             const void *rvar, double eps, void *y, int nthreads)
{
    return dtype == DLK_F64
        ? dlk_batch_norm_inference_f64(B, C, HW, x, gamma, beta, rmean, rvar, eps, y, nthreads)
        : dlk_batch_norm_inference_f32(B, C, HW, x, gamma, beta, rmean, rvar, eps, y, nthreads);
}

int dlk_layer_norm(int dtype, int64_t R, int64_t D, const void *x, const void *gamma,
                   const void *beta, double eps, void *y, void *mean, void *invstd,
                   int nthreads)
{
    return dtype == DLK_F64
        ? dlk_layer_norm_f64(R, D, x, gamma, beta, eps, y, mean, invstd, nthreads)
        : dlk_layer_norm_f32(R, D, x, gamma, beta, eps, y, mean, invstd, nthreads);
}

int dlk_layer_norm_backward(int dtype, int64_t R, int64_t D, const void *dy, const void *x,
                            const void *gamma, const void *mean, const void *invstd,
                            void *dx, void *dgamma, void *dbeta, int nthreads)
{
    return dtype == DLK_F64
        ? dlk_layer_norm_backward_f64(R, D, dy, x, gamma, mean, invstd, dx, dgamma, dbeta,
                                      nthreads)
        : dlk_layer_norm_backward_f32(R, D, dy, x, gamma, mean, invstd, dx, dgamma, dbeta,
                                      nthreads);
}
