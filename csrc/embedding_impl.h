/* embedding_impl.h — embedding loops, for one element type (dtype.h); included twice by
 * embedding.c through instantiate.h.
 *
 * Names made, per dtype (f32, f64), all file-local: dlk_embedding_f32,
 * dlk_embedding_backward_f32 (called by the dtype-tagged entries of embedding.c);
 * add_row_f32, ids_outside_f32. */

DLK_CLONES static void FN(add_row_)(T *DLK_RESTRICT d, const T *DLK_RESTRICT s, int64_t D)
{
#pragma omp simd
    for (int64_t j = 0; j < D; j++) d[j] += s[j];
}

/* 1 when an id lies outside [0, V) (unsigned: negative ones too). */
static int FN(ids_outside_)(const int64_t *ids, int64_t n, int64_t V)
{
    uint64_t top = 0;
    for (int64_t i = 0; i < n; i++) top = (uint64_t)ids[i] > top ? (uint64_t)ids[i] : top;
    return n > 0 && top >= (uint64_t)V;
}

static int FN(dlk_embedding_)(int64_t n, int64_t D, int64_t V, const int64_t *ids,
                              const T *table, T *out, int nthreads)
{
    if (FN(ids_outside_)(ids, n, V)) return DLK_EINVAL;
    const int nt = dlk_threads_for(n * D, EMB_GRAIN, nthreads);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t i = 0; i < n; i++)
        memcpy(out + i * D, table + ids[i] * D, (size_t)D * sizeof(T));
    return DLK_OK;
}

/* The positions of each id, by a counting sort (stable: in the order of i), then each
 * table row summed from its list by the one thread that owns it; rows no id names are
 * zeroed.  Work O(n + V) besides the n·D additions; scratch n + V + 1 int64. */
static int FN(dlk_embedding_backward_)(int64_t n, int64_t D, int64_t V, const int64_t *ids,
                                       const T *dout, T *dtable, int zeroed, int nthreads)
{
    if (FN(ids_outside_)(ids, n, V)) return DLK_EINVAL;
    int64_t *start = calloc((size_t)(V + 1), sizeof(int64_t));
    int64_t *pos = malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
    if (!start || !pos) {
        free(start);
        free(pos);
        return DLK_ENOMEM;
    }
    for (int64_t i = 0; i < n; i++) start[ids[i] + 1]++;
    for (int64_t v = 0; v < V; v++) start[v + 1] += start[v];
    {
        int64_t *fill = malloc((size_t)(V > 0 ? V : 1) * sizeof(int64_t));
        if (!fill) {
            free(start);
            free(pos);
            return DLK_ENOMEM;
        }
        memcpy(fill, start, (size_t)V * sizeof(int64_t));
        for (int64_t i = 0; i < n; i++) pos[fill[ids[i]]++] = i;
        free(fill);
    }
    const int nt = dlk_threads_for((V + n) * D, EMB_GRAIN, nthreads);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t v = 0; v < V; v++) {
        T *row = dtable + v * D;
        if (zeroed && start[v] == start[v + 1]) continue;
        memset(row, 0, (size_t)D * sizeof(T));
        for (int64_t k = start[v]; k < start[v + 1]; k++)
            FN(add_row_)(row, dout + pos[k] * D, D);
    }
    free(start);
    free(pos);
    return DLK_OK;
}
