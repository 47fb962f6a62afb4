/* embedding.c — embedding lookup and its gradient (DESIGN.md, contract additions).
 *
 * The lookup copies one table row per id, ids split over the threads.  The gradient
 * groups the positions of each id (a counting sort, in order) and gives each table row
 * to one thread, which adds its positions' rows in order: no atomics, and the sums do
 * not depend on the thread count.  Rows no id names are zeroed by the same pass. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "embedding.h"

/* Elements copied or added below which a second thread costs more than it brings. */
#define EMB_GRAIN ((int64_t)1 << 15)

#define DLK_BODY "embedding_impl.h"
#include "instantiate.h"

/* The dtype-tagged entries of embedding.h. */
int dlk_embedding(int dtype, int64_t n, int64_t D, int64_t V, const int64_t *ids,
                  const void *table, void *out, int nthreads)
{
    return dtype == DLK_F64 ? dlk_embedding_f64(n, D, V, ids, table, out, nthreads)
                            : dlk_embedding_f32(n, D, V, ids, table, out, nthreads);
}

int dlk_embedding_backward(int dtype, int64_t n, int64_t D, int64_t V, const int64_t *ids,
                           const void *dout, void *dtable, int zeroed, int nthreads)
{
    return dtype == DLK_F64 ? dlk_embedding_backward_f64(n, D, V, ids, dout, dtable, zeroed,
                                                           nthreads)
                            : dlk_embedding_backward_f32(n, D, V, ids, dout, dtable, zeroed,
                                                           nthreads);
}
