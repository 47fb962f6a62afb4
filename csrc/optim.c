/* optim.c — fused optimizer steps (seed section 2): SGD, momentum, AdaGrad, RMSProp
 * and Adam/AdamW over one array or a whole list of arrays in one call.
 *
 * Memory-bound: each element's p, g and state are read once and written once
 * (Adam: 4 reads + 3 writes).  Parallel over one flat index that spans every array,
 * so 200 small arrays cost no more per element than one large one.  No workspace.
 * Per-step scalars (Adam's bias corrections) are computed once, in double.  The loops
 * are written once, in optim_impl.h, and instantiated for float and double.
 * clip_grad_norm's two passes (Σ g², then g *= factor) walk the same index space. */
#include <math.h>
#include <stdlib.h>
#include "optim.h"

/* Elements below which a second thread costs more than it brings. */
#define OPTIM_GRAIN ((int64_t)1 << 15)
/* Elements per partial sum of clip_grad_norm's norm (fixed: reproducible sums). */
#define OPTIM_CHUNK ((int64_t)1 << 16)

#define DLK_BODY "optim_impl.h"
#include "instantiate.h"

/* The dtype-tagged entries of optim.h. */
int dlk_optim_step(int dtype, const dlk_optim_hparams *h, int64_t count, const int64_t *n,
                   void *const *p, const void *const *g, void *const *s1, void *const *s2,
                   int nthreads)
{
    return dtype == DLK_F64 ? dlk_optim_step_f64(h, count, n, (double *const *)p,
                                                 (const double *const *)g, (double *const *)s1,
                                                 (double *const *)s2, nthreads)
                            : dlk_optim_step_f32(h, count, n, (float *const *)p,
                                                 (const float *const *)g, (float *const *)s1,
                                                 (float *const *)s2, nthreads);
}

int dlk_sumsq(int dtype, int64_t count, const int64_t *n, const void *const *x, double *out,
              int nthreads)
{
    return dtype == DLK_F64 ? dlk_sumsq_f64(count, n, (const double *const *)x, out, nthreads)
                            : dlk_sumsq_f32(count, n, (const float *const *)x, out, nthreads);
}

int dlk_scale(int dtype, int64_t count, const int64_t *n, void *const *x, double factor,
              int nthreads)
{
    return dtype == DLK_F64 ? dlk_scale_f64(count, n, (double *const *)x, factor, nthreads)
                            : dlk_scale_f32(count, n, (float *const *)x, factor, nthreads);
}
