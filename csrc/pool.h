/* pool.h — 2-D max pooling over NCHW planes with argmax indices. */
#ifndef DLK_POOL_H
#define DLK_POOL_H
#include "dlk.h"

/* Geometry of one pooling: input planes H×W, window kh×kw, stride, padding, output. */
typedef struct {
    int64_t planes, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo;
} dlk_pool_shape;

/* y[p, oh, ow] = max over the window; idx = its flat position h·W + w in the plane.
 * Ties: the first position in row-major window order; NaN wins (the first NaN). */
int dlk_max_pool2d_f32(const dlk_pool_shape *s, const float *x, float *y, int64_t *idx,
                       int nthreads);
int dlk_max_pool2d_f64(const dlk_pool_shape *s, const double *x, double *y, int64_t *idx,
                       int nthreads);
/* dx[p, idx[p, o]] += dy[p, o]; dx is written whole (zeros elsewhere). */
int dlk_max_pool2d_backward_f32(const dlk_pool_shape *s, const float *dy, const int64_t *idx,
                                float *dx, int nthreads);
int dlk_max_pool2d_backward_f64(const dlk_pool_shape *s, const double *dy, const int64_t *idx,
                                double *dx, int nthreads);
#endif
