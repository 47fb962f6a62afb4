/* exp_row_impl.h — one row's shifted exponentials, for one element type (dtype.h); the
 * bodies of softmax (dense_impl.h) and cross-entropy (losses_impl.h) include it.
 *
 * Names made, per dtype (f32, f64), file-local: exp_row_f32.
 *
 * e_i = e^(x_i − m) with m = max_i x_i, into e; returns Σ e_i, summed in double, and m in
 * *max.  A row that holds a NaN comes out all NaN, as in the reference (max and exp
 * carry it).  Two vector loops: the max and the NaN test as reductions, then the
 * exponentials, a block at a time, each block summed by DLK_SUM while it is in L1 (EXP
 * is a vector function for float, dlk_math.h).  Written as one scalar loop with the sum
 * in order, the row ran at a fifth of NumPy's speed: an ordered sum of doubles keeps the
 * whole loop scalar. */
#ifndef EXP_ROW_BLOCK
#define EXP_ROW_BLOCK 512
#endif
DLK_CLONES static double FN(exp_row_)(const T *DLK_RESTRICT x, T *DLK_RESTRICT e, int64_t L,
                                      T *max)
{
    T m = -(T)INFINITY;
    int nan = 0;
#pragma omp simd reduction(max : m) reduction(| : nan)
    for (int64_t i = 0; i < L; i++) {
        m = x[i] > m ? x[i] : m;
        nan |= x[i] != x[i];
    }
    if (nan) m = (T)NAN;
    /* blocks of exponentials, each summed while it is in L1: a sum reduction in the
     * loop of the exponentials kept GCC from vectorising it for AVX2 */
    double s = 0;
    for (int64_t i0 = 0; i0 < L; i0 += EXP_ROW_BLOCK) {
        const int64_t n = L - i0 < EXP_ROW_BLOCK ? L - i0 : EXP_ROW_BLOCK;
        const T *xb = x + i0;
        T *eb = e + i0;
#pragma omp simd
        for (int64_t i = 0; i < n; i++) eb[i] = EXP(xb[i] - m);
        s += DLK_SUM(eb, n);
    }
    *max = m;
    return s;
}
