/* exp_row_impl.h — one row's shifted exponentials, for one element type (dtype.h); the
 * bodies of softmax (dense_impl.h) and cross-entropy (losses_impl.h) include it.
 *
 * Names made, per dtype (f32, f64), file-local: exp_row_f32.
 *
 * e_i = e^(x_i − m) with m = max_i x_i, into e; returns Σ e_i, summed in double, and m in
 * *max.  A row that holds a NaN sums to NaN (the max passes it over, EXP_NONPOS carries
 * it into its e_i), so softmax and cross-entropy give NaN there, as the reference does.
 * Two vector loops: the max, then the exponentials, a block at a time, each block summed
 * by DLK_SUM while it is in L1.  Written as one scalar loop with the sum in order, the
 * row ran at a fifth of NumPy's speed: an ordered sum of doubles keeps the whole loop
 * scalar. */
#ifndef EXP_ROW_BLOCK
#define EXP_ROW_BLOCK 512
#endif
DLK_CLONES static double FN(exp_row_)(const T *DLK_RESTRICT x, T *DLK_RESTRICT e, int64_t L,
                                      T *max)
{
    T m = -(T)INFINITY;
#pragma omp simd reduction(max : m)
    for (int64_t i = 0; i < L; i++) m = x[i] > m ? x[i] : m;
    /* blocks of exponentials, each summed while it is in L1: a sum reduction in the
     * loop of the exponentials kept GCC from vectorising it for AVX2 */
    double s = 0;
    for (int64_t i0 = 0; i0 < L; i0 += EXP_ROW_BLOCK) {
        const int64_t n = L - i0 < EXP_ROW_BLOCK ? L - i0 : EXP_ROW_BLOCK;
        const T *xb = x + i0;
        T *eb = e + i0;
#pragma omp simd
        for (int64_t i = 0; i < n; i++) eb[i] = EXP_NONPOS(xb[i] - m);
        s += DLK_SUM(eb, n);
    }
    *max = m;
    return s;
}
