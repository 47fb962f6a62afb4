/* dropout_impl.h — dropout loops, for one element type (dtype.h); included twice by
 * dropout.c through instantiate.h.
 *
 * Names made, per dtype (f32, f64), all file-local: dlk_dropout_f32,
 * dlk_dropout_backward_f32 (called by the dtype-tagged entries of dropout.c);
 * drop_range_f32, drop_bwd_range_f32. */

/* Elements [lo, hi) of the flat index space, lo even, in blocks of DROP_BLOCK: the
 * block's hashes first (one per pair, a vector loop over 64-bit lanes), read back as
 * the 32-bit draws (little-endian: the low half first, as the reference takes it),
 * then the mask and y (a vector loop over elements).  The two in one loop, with the
 * pair's two stores, did not vectorise: 1.1 ns an element at 2 threads. */
DLK_CLONES static void FN(drop_range_)(const T *DLK_RESTRICT x, uint64_t key, uint64_t thr,
                                       T scale, T *DLK_RESTRICT y, uint8_t *DLK_RESTRICT mask,
                                       int64_t lo, int64_t hi)
{
    union { uint64_t h[DROP_BLOCK / 2]; uint32_t d[DROP_BLOCK]; } draws;
    for (int64_t b0 = lo; b0 < hi; b0 += DROP_BLOCK) {
        const int64_t n = hi - b0 < DROP_BLOCK ? hi - b0 : DROP_BLOCK;
        const uint64_t first = (uint64_t)(b0 >> 1);
#pragma omp simd
        for (int64_t k = 0; k < (n + 1) / 2; k++)
            draws.h[k] = dlk_mix64(key + (first + (uint64_t)k) * DLK_GAMMA);
#pragma omp simd
        for (int64_t i = 0; i < n; i++) {
            const int keep = (uint64_t)draws.d[i] >= thr;
            mask[b0 + i] = (uint8_t)keep;
            y[b0 + i] = keep ? x[b0 + i] * scale : (T)0;
        }
    }
}

DLK_CLONES static void FN(drop_bwd_range_)(const T *DLK_RESTRICT dy,
                                           const uint8_t *DLK_RESTRICT mask, T scale,
                                           T *DLK_RESTRICT dx, int64_t n)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++) dx[i] = mask[i] ? dy[i] * scale : (T)0;
}

static int FN(dlk_dropout_)(int64_t n, const T *x, uint64_t seed, uint64_t thr, double scale,
                            T *y, uint8_t *mask, int nthreads)
{
    const uint64_t key = dlk_mix64(seed);
    const int nt = dlk_threads_for(n, DROP_GRAIN, nthreads);
    if (nt == 1) {
        FN(drop_range_)(x, key, thr, (T)scale, y, mask, 0, n);
        return DLK_OK;
    }
#pragma omp parallel num_threads(nt)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        int64_t lo, hi;
        dlk_slice(n, t, nt, &lo, &hi);     /* lo is a multiple of 16: even */
        FN(drop_range_)(x, key, thr, (T)scale, y, mask, lo, hi);
    }
    return DLK_OK;
}

static int FN(dlk_dropout_backward_)(int64_t n, const T *dy, const uint8_t *mask, double scale,
                                     T *dx, int nthreads)
{
    const int nt = dlk_threads_for(n, DROP_GRAIN * 4, nthreads);
    if (nt == 1) {
        FN(drop_bwd_range_)(dy, mask, (T)scale, dx, n);
        return DLK_OK;
    }
#pragma omp parallel num_threads(nt)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        int64_t lo, hi;
        dlk_slice(n, t, nt, &lo, &hi);
        FN(drop_bwd_range_)(dy + lo, mask + lo, (T)scale, dx + lo, hi - lo);
    }
    return DLK_OK;
}
