/* dropout.h — inverted dropout with a counter-based generator.
 *
 * Entries are dtype-tagged: dtype is DLK_F32 or DLK_F64 (dlk.h) and types every void
 * pointer; dropout.c routes them to the float and double instantiations of
 * dropout_impl.h.  The generator is dlkern/reference/dropout.py's: element i is kept
 * when its 32-bit draw (a half of splitmix64's finaliser on key + ⌊i/2⌋·γ) is at or
 * above threshold = ⌈p·2³²⌉, so the mask depends on (seed, i) alone. */
#ifndef DLK_DROPOUT_H
#define DLK_DROPOUT_H
#include "dlk.h"

/* y = keep ? x · scale : 0 and mask = keep over n contiguous elements. */
int dlk_dropout(int dtype, int64_t n, const void *x, uint64_t seed, uint64_t threshold,
                double scale, void *y, uint8_t *mask, int nthreads);
/* dx = mask ? dy · scale : 0. */
int dlk_dropout_backward(int dtype, int64_t n, const void *dy, const uint8_t *mask,
                         double scale, void *dx, int nthreads);
#endif
