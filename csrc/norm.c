/* norm.c — batch normalisation over NCHW images, training mode.
 *
 * Parallel over channels: a channel's statistics (B·H·W values, one contiguous plane
 * per sample) are summed by one thread in a fixed order, so results are the same at
 * any thread count.  Sums are in double, the variance in two passes (mean first, then
 * squared deviations: no cancellation); the passes after the first find the channel
 * in cache for the layer sizes of the workloads.  No workspace. */
#include <math.h>
#include "norm.h"

/* Elements below which a second thread costs more than it brings. */
#define NORM_GRAIN ((int64_t)1 << 15)

#define T float
#define SFX f32
#include "norm_impl.h"
#undef T
#undef SFX

#define T double
#define SFX f64
#include "norm_impl.h"
#undef T
#undef SFX
