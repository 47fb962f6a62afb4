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

#define T float
#define SFX f32
#define SQRT sqrtf
#include "optim_impl.h"
#undef T
#undef SFX
#undef SQRT

#define T double
#define SFX f64
#define SQRT sqrt
#include "optim_impl.h"
#undef T
#undef SFX
#undef SQRT
