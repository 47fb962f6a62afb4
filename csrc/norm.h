/* norm.h — batch normalisation (training and evaluation mode) and layer normalisation.
 *
 * Entries are dtype-tagged: dtype is DLK_F32 or DLK_F64 (dlk.h) and types every void
 * pointer; norm.c routes them to the float and double instantiations of
 * norm_impl.h. */
#ifndef DLK_NORM_H
#define DLK_NORM_H
#include "dlk.h"

/* x is (B, C, HW) contiguous (HW = 1 for (B, C) features).  Per channel: mean, biased variance (two passes, in
 * double), invstd = 1/sqrt(var + eps), y = gamma (x − mean) invstd + beta. */
int dlk_batch_norm2d(int dtype, int64_t B, int64_t C, int64_t HW, const void *x,
                     const void *gamma, const void *beta, double eps, void *y, void *mean,
                     void *invstd, int nthreads);
/* dbeta = Σ dy, dgamma = Σ dy x̂, dx = gamma invstd / N (N dy − dbeta − x̂ dgamma). */
int dlk_batch_norm2d_backward(int dtype, int64_t B, int64_t C, int64_t HW, const void *dy,
                              const void *x, const void *gamma, const void *mean,
                              const void *invstd, void *dx, void *dgamma, void *dbeta,
                              int nthreads);
/* Evaluation mode: y = gamma (x − rmean) / sqrt(rvar + eps) + beta per channel. */
int dlk_batch_norm_inference(int dtype, int64_t B, int64_t C, int64_t HW, const void *x,
                             const void *gamma, const void *beta, const void *rmean,
                             const void *rvar, double eps, void *y, int nthreads);
/* x is (R, D) contiguous, normalised along D; mean and invstd are (R,). */
int dlk_layer_norm(int dtype, int64_t R, int64_t D, const void *x, const void *gamma,
                   const void *beta, double eps, void *y, void *mean, void *invstd,
                   int nthreads);
/* dx = invstd (g − mean g − x̂ mean(g x̂)) per row with g = gamma dy; dgamma = Σ dy x̂,
 * dbeta = Σ dy over the rows, the same bits at any thread count. */
int dlk_layer_norm_backward(int dtype, int64_t R, int64_t D, const void *dy, const void *x,
                            const void *gamma, const void *mean, const void *invstd,
                            void *dx, void *dgamma, void *dbeta, int nthreads);
#endif
