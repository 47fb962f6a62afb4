/* embedding.h — embedding lookup (a gather of table rows) and its gradient (a
 * deterministic scatter-add).
 *
 * Entries are dtype-tagged: dtype is DLK_F32 or DLK_F64 (dlk.h) and types every void
 * pointer; embedding.c routes them to the float and double instantiations of
 * embedding_impl.h.  ids are int64; one outside [0, V) makes the call fail with
 * DLK_EINVAL before anything is written (the binding then says which). */
#ifndef DLK_EMBEDDING_H
#define DLK_EMBEDDING_H
#include "dlk.h"

/* out[i, :] = table[ids[i], :] for the n ids; table (V, D), out (n, D), contiguous. */
int dlk_embedding(int dtype, int64_t n, int64_t D, int64_t V, const int64_t *ids,
                  const void *table, void *out, int nthreads);
/* dtable (V, D) = Σ_{i: ids[i] = v} dout[i, :], each row summed in the order of i from
 * zero (the same bits at any thread count, and as NumPy's np.add.at).  With zeroed,
 * dtable holds zeros already and the rows no id names are not written. */
int dlk_embedding_backward(int dtype, int64_t n, int64_t D, int64_t V, const int64_t *ids,
                           const void *dout, void *dtable, int zeroed, int nthreads);
#endif
