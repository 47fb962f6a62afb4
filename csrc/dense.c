/* dense.c — activations, softmax and the dense layer (seed sections 1 and 11).
 *
 * Element-wise kernels split the flat array into one contiguous slice per thread.
 * softmax is parallel over rows, one row per iteration.  linear is one GEMM through
 * dlk_gemm_par (csrc/gemm.h), split over the threads with the engine at one thread.  The bias gradient
 * sums rows in order, in double: the same bits at any thread count.  No workspace. */
#include <math.h>
#include "dense.h"
#include "gemm.h"
#include "dlk_math.h"

/* Elements below which a second thread costs more than it brings. */
#define DENSE_GRAIN ((int64_t)1 << 16)

/* cheap ones first: elementwise_ gives the others smaller slices */
enum { OP_RELU, OP_RELU_BACKWARD, OP_SIGMOID, OP_TANH, OP_GELU, OP_GELU_BACKWARD, OP_GELU_TANH,
       OP_GELU_TANH_BACKWARD };

#define DLK_BODY "dense_impl.h"
#include "instantiate.h"

/* The dtype-tagged entries of dense.h. */
int dlk_relu(int dtype, int64_t n, const void *x, void *y, int nthreads)
{
    return dtype == DLK_F64 ? dlk_relu_f64(n, x, y, nthreads)
                            : dlk_relu_f32(n, x, y, nthreads);
}

int dlk_relu_backward(int dtype, int64_t n, const void *dy, const void *x, void *dx,
                      int nthreads)
{
    return dtype == DLK_F64 ? dlk_relu_backward_f64(n, dy, x, dx, nthreads)
                            : dlk_relu_backward_f32(n, dy, x, dx, nthreads);
}

int dlk_sigmoid(int dtype, int64_t n, const void *x, void *y, int nthreads)
{
    return dtype == DLK_F64 ? dlk_sigmoid_f64(n, x, y, nthreads)
                            : dlk_sigmoid_f32(n, x, y, nthreads);
}

int dlk_tanh(int dtype, int64_t n, const void *x, void *y, int nthreads)
{
    return dtype == DLK_F64 ? dlk_elementwise_f64(OP_TANH, n, x, NULL, y, nthreads)
                            : dlk_elementwise_f32(OP_TANH, n, x, NULL, y, nthreads);
}

int dlk_gelu(int dtype, int approximate, int64_t n, const void *x, void *y, int nthreads)
{
    const int op = approximate ? OP_GELU_TANH : OP_GELU;
    return dtype == DLK_F64 ? dlk_elementwise_f64(op, n, x, NULL, y, nthreads)
                            : dlk_elementwise_f32(op, n, x, NULL, y, nthreads);
}

int dlk_gelu_backward(int dtype, int approximate, int64_t n, const void *dy, const void *x,
                      void *dx, int nthreads)
{
    const int op = approximate ? OP_GELU_TANH_BACKWARD : OP_GELU_BACKWARD;
    return dtype == DLK_F64 ? dlk_elementwise_f64(op, n, dy, x, dx, nthreads)
                            : dlk_elementwise_f32(op, n, dy, x, dx, nthreads);
}

int dlk_softmax(int dtype, int64_t rows, int64_t L, const void *x, void *y, int nthreads)
{
    return dtype == DLK_F64 ? dlk_softmax_f64(rows, L, x, y, nthreads)
                            : dlk_softmax_f32(rows, L, x, y, nthreads);
}

int dlk_linear(int dtype, int64_t B, int64_t Din, int64_t Dout, const void *x, int64_t ldx,
               int tx, const void *w, int64_t ldw, int tw, const void *b, void *y,
               int nthreads)
{
    return dtype == DLK_F64
               ? dlk_linear_f64(B, Din, Dout, x, ldx, tx, w, ldw, tw, b, y, nthreads)
               : dlk_linear_f32(B, Din, Dout, x, ldx, tx, w, ldw, tw, b, y, nthreads);
}

int dlk_linear_backward(int dtype, int64_t B, int64_t Din, int64_t Dout, const void *dy,
                        int64_t lddy, const void *x, int64_t ldx, int tx, const void *w,
                        int64_t ldw, int tw, void *dx, void *dw, int tdw, void *db,
                        int nthreads)
{
    return dtype == DLK_F64
               ? dlk_linear_backward_f64(B, Din, Dout, dy, lddy, x, ldx, tx, w, ldw, tw, dx,
                                         dw, tdw, db, nthreads)
               : dlk_linear_backward_f32(B, Din, Dout, dy, lddy, x, ldx, tx, w, ldw, tw, dx,
                                         dw, tdw, db, nthreads);
}
