/* dense.h — activations, softmax and the dense (linear) layer. */
#ifndef DLK_DENSE_H
#define DLK_DENSE_H
#include "dlk.h"

/* Element-wise over n values: relu y = max(x, 0) (NaN stays NaN); relu_backward
 * dx = dy · 1(x > 0); sigmoid y = 1/(1 + e^−x) without overflow. */
int dlk_relu_f32(int64_t n, const float *x, float *y, int nthreads);
int dlk_relu_f64(int64_t n, const double *x, double *y, int nthreads);
int dlk_relu_backward_f32(int64_t n, const float *dy, const float *x, float *dx, int nthreads);
int dlk_relu_backward_f64(int64_t n, const double *dy, const double *x, double *dx,
                          int nthreads);
int dlk_sigmoid_f32(int64_t n, const float *x, float *y, int nthreads);
int dlk_sigmoid_f64(int64_t n, const double *x, double *y, int nthreads);
/* softmax over each of `rows` contiguous rows of length L (sums in double). */
int dlk_softmax_f32(int64_t rows, int64_t L, const float *x, float *y, int nthreads);
int dlk_softmax_f64(int64_t rows, int64_t L, const double *x, double *y, int nthreads);
/* y (B, O) = x (B, I) · wᵀ (w is O × I) + b (b may be NULL). */
int dlk_linear_f32(int64_t B, int64_t Din, int64_t Dout, const float *x, const float *w,
                   const float *b, float *y, int nthreads);
int dlk_linear_f64(int64_t B, int64_t Din, int64_t Dout, const double *x, const double *w,
                   const double *b, double *y, int nthreads);
/* dx = dy · w, dw = dyᵀ · x, db = Σ_rows dy. */
int dlk_linear_backward_f32(int64_t B, int64_t Din, int64_t Dout, const float *dy,
                            const float *x,
                            const float *w, float *dx, float *dw, float *db, int nthreads);
int dlk_linear_backward_f64(int64_t B, int64_t Din, int64_t Dout, const double *dy,
                            const double *x, const double *w, double *dx, double *dw,
                            double *db, int nthreads);
#endif
