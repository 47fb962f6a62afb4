/* losses.c — mini-batch losses with their gradients in one pass (seed sections 1, 9,
 * 13, 14).  Parallel over fixed chunks (element-wise losses) or rows (cross-entropy,
 * sequence MSE); the loss is summed in double, chunk by chunk or row by row in order,
 * so it is the same at any thread count.  Transcendentals in double: these kernels
 * are small next to the layers, and the reference's accuracy is kept. */
#include <math.h>
#include <stdlib.h>
#include "losses.h"

#define LOSS_CHUNK ((int64_t)1 << 14)
#define LOSS_GRAIN ((int64_t)1 << 16)

#define T float
#define SFX f32
#include "losses_impl.h"
#undef T
#undef SFX

#define T double
#define SFX f64
#include "losses_impl.h"
#undef T
#undef SFX
