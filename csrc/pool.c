/* pool.c — 2-D max pooling, forward with argmax and backward by scatter.
 *
 * Forward: parallel over (plane, output row); each row is written by one thread.  The
 * window is clamped to the plane instead of materialising padding, the running max
 * starts at −inf (so padding never wins), ties keep the first position in row-major
 * window order and the first NaN wins — the reference's rules, dlkern/reference/pool.py.
 * Backward: parallel over planes, so the additions of overlapping windows (K > S) into
 * one dx element all happen in one thread, in output order: no races, no atomics, the
 * same sums at any thread count.  No workspace.  Indices are flat h·W + w per plane. */
#include <math.h>
#include <string.h>
#include "pool.h"

/* Window elements below which a second thread costs more than it brings. */
#define POOL_GRAIN ((int64_t)1 << 15)
/* Outputs of one row computed together as one vector block. */
#define POOL_BLOCK 8

#define T float
#define SFX f32
#include "pool_impl.h"
#undef T
#undef SFX

#define T double
#define SFX f64
#include "pool_impl.h"
#undef T
#undef SFX
