/* dense.h — activations, softmax and the dense (linear) layer.
 *
 * Entries are dtype-tagged: dtype is DLK_F32 or DLK_F64 (dlk.h) and types every void
 * pointer; dense.c routes them to the float and double instantiations of
 * dense_impl.h. */
#ifndef DLK_DENSE_H
#define DLK_DENSE_H
#include "dlk.h"

/* Element-wise over n values: relu y = max(x, 0) (NaN stays NaN); relu_backward
 * dx = dy · 1(x > 0); sigmoid y = 1/(1 + e^−x) without overflow. */
int dlk_relu(int dtype, int64_t n, const void *x, void *y, int nthreads);
int dlk_relu_backward(int dtype, int64_t n, const void *dy, const void *x, void *dx,
                      int nthreads);
int dlk_sigmoid(int dtype, int64_t n, const void *x, void *y, int nthreads);
/* tanh; GELU exact (approximate 0: x Φ(x), through erf) or in its tanh form
 * (approximate 1), and its backward dx = dy · GELU'(x). */
int dlk_tanh(int dtype, int64_t n, const void *x, void *y, int nthreads);
int dlk_gelu(int dtype, int approximate, int64_t n, const void *x, void *y, int nthreads);
int dlk_gelu_backward(int dtype, int approximate, int64_t n, const void *dy, const void *x,
                      void *dx, int nthreads);
/* softmax over each of `rows` contiguous rows of length L (sums in double). */
int dlk_softmax(int dtype, int64_t rows, int64_t L, const void *x, void *y, int nthreads);
/* y (B, O) = x (B, I) · wᵀ (w is O × I) + b (b may be NULL).  x and w are read in
 * place: ldx, ldw are their leading dimensions (in elements), tx, tw 1 when the array is
 * stored column-major (a transposed view of a row-major one), else 0.  y is contiguous. */
int dlk_linear(int dtype, int64_t B, int64_t Din, int64_t Dout, const void *x, int64_t ldx,
               int tx, const void *w, int64_t ldw, int tw, const void *b, void *y,
               int nthreads);
/* dx = dy · w, dw = dyᵀ · x, db = Σ_rows dy; x, w as in dlk_linear, dy row-major with
 * leading dimension lddy; dx, dw, db contiguous, dw (Dout, Din), or with tdw its
 * transpose (Din, Dout) = xᵀ · dy, for a weight kept as (D_in, D_out). */
int dlk_linear_backward(int dtype, int64_t B, int64_t Din, int64_t Dout, const void *dy,
                        int64_t lddy, const void *x, int64_t ldx, int tx, const void *w,
                        int64_t ldw, int tw, void *dx, void *dw, int tdw, void *db,
                        int nthreads);
#endif
