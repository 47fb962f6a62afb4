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

enum { OP_RELU, OP_RELU_BACKWARD, OP_SIGMOID };

#define T float
#define SFX f32
#define EXP dlk_expf
#define FABS fabsf
#define GEMM dlk_gemm_par_f32
#include "dense_impl.h"
#undef T
#undef SFX
#undef EXP
#undef FABS
#undef GEMM

#define T double
#define SFX f64
#define EXP exp
#define FABS fabs
#define GEMM dlk_gemm_par_f64
#include "dense_impl.h"
#undef T
#undef SFX
#undef EXP
#undef FABS
#undef GEMM
