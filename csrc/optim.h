/* optim.h — fused optimizer steps (seed section 2).
 *
 * Entries are dtype-tagged: dtype is DLK_F32 or DLK_F64 (dlk.h) and types every void
 * pointer; optim.c routes them to the float and double instantiations of
 * optim_impl.h. */
#ifndef DLK_OPTIM_H
#define DLK_OPTIM_H
#include "dlk.h"

typedef enum {
    DLK_SGD = 0, DLK_MOMENTUM = 1, DLK_ADAGRAD = 2, DLK_RMSPROP = 3, DLK_ADAM = 4
} dlk_optim_kind;

/* Hyper-parameters of one step; fields a kind does not use are ignored.
 * beta1 is momentum's and RMSProp's beta; step is Adam's k >= 1. */
typedef struct {
    dlk_optim_kind kind;
    double lr, beta1, beta2, eps, weight_decay;
    int64_t step;
    int decoupled;          /* Adam only: 1 = AdamW, 0 = L2 added to the gradient */
} dlk_optim_hparams;

/* One step over `count` arrays at once: array a has n[a] elements at p[a], g[a] and
 * the state arrays s1[a] (momentum v, AdaGrad/RMSProp G, Adam m) and s2[a] (Adam v);
 * s1/s2 may be NULL where the kind has no such state.  Updates p, s1, s2 in place. */
int dlk_optim_step(int dtype, const dlk_optim_hparams *h, int64_t count, const int64_t *n,
                   void *const *p, const void *const *g, void *const *s1, void *const *s2,
                   int nthreads);
/* Σ x² over `count` arrays in double, summed in fixed chunks of OPTIM_CHUNK elements
 * added in order (the same bits at any thread count); returns DLK_ENOMEM or DLK_OK. */
int dlk_sumsq(int dtype, int64_t count, const int64_t *n, const void *const *x, double *out,
              int nthreads);
/* x *= factor over `count` arrays. */
int dlk_scale(int dtype, int64_t count, const int64_t *n, void *const *x, double factor,
              int nthreads);
#endif
