/* losses.c — mini-batch losses with their gradients in one pass (seed sections 1, 9,
 * 13, 14).  Parallel over fixed chunks (element-wise losses) or rows (cross-entropy,
 * sequence MSE); the loss is summed in double, chunk by chunk or row by row in order,
 * so it is the same at any thread count.  float's element-wise losses use the vector
 * log and exp of dlk_math.h (a few ulp per element); double keeps libm. */
#include <math.h>
#include <stdlib.h>
#include "losses.h"

#define LOSS_CHUNK ((int64_t)1 << 14)
#define LOSS_GRAIN ((int64_t)1 << 16)

#define DLK_BODY "losses_impl.h"
#include "instantiate.h"

/* The dtype-tagged entries of losses.h. */
int dlk_loss(int dtype, int kind, int64_t B, int64_t n, const void *a, const void *y,
             void *grad, double *loss, int nthreads)
{
    return dtype == DLK_F64 ? dlk_loss_f64(kind, B, n, a, y, grad, loss, nthreads)
                            : dlk_loss_f32(kind, B, n, a, y, grad, loss, nthreads);
}

int dlk_cross_entropy(int dtype, int64_t B, int64_t C, const void *z, const int64_t *labels,
                      int has_ignore, int64_t ignore, void *grad, double *loss, int nthreads)
{
    return dtype == DLK_F64
        ? dlk_cross_entropy_f64(B, C, z, labels, has_ignore, ignore, grad, loss, nthreads)
        : dlk_cross_entropy_f32(B, C, z, labels, has_ignore, ignore, grad, loss, nthreads);
}

int dlk_sequence_mse(int dtype, int64_t N, int64_t Tn, int64_t D, const void *a, const void *y,
                     const int64_t *lengths, void *grad, double *loss, int nthreads)
{
    return dtype == DLK_F64 ? dlk_sequence_mse_f64(N, Tn, D, a, y, lengths, grad, loss,
                                                   nthreads)
                            : dlk_sequence_mse_f32(N, Tn, D, a, y, lengths, grad, loss,
                                                   nthreads);
}
