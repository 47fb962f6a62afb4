/* norm.h — batch normalisation over NCHW, training mode. */
#ifndef DLK_NORM_H
#define DLK_NORM_H
#include "dlk.h"

/* x is (B, C, HW) contiguous.  Per channel: mean, biased variance (two passes, in
 * double), invstd = 1/sqrt(var + eps), y = gamma (x − mean) invstd + beta. */
int dlk_batch_norm2d_f32(int64_t B, int64_t C, int64_t HW, const float *x, const float *gamma,
                         const float *beta, double eps, float *y, float *mean, float *invstd,
                         int nthreads);
int dlk_batch_norm2d_f64(int64_t B, int64_t C, int64_t HW, const double *x,
                         const double *gamma, const double *beta, double eps, double *y,
                         double *mean, double *invstd, int nthreads);
/* dbeta = Σ dy, dgamma = Σ dy x̂, dx = gamma invstd / N (N dy − dbeta − x̂ dgamma). */
int dlk_batch_norm2d_backward_f32(int64_t B, int64_t C, int64_t HW, const float *dy,
                                  const float *x, const float *gamma, const float *mean,
                                  const float *invstd, float *dx, float *dgamma, float *dbeta,
                                  int nthreads);
int dlk_batch_norm2d_backward_f64(int64_t B, int64_t C, int64_t HW, const double *dy,
                                  const double *x, const double *gamma, const double *mean,
                                  const double *invstd, double *dx, double *dgamma,
                                  double *dbeta, int nthreads);
#endif
