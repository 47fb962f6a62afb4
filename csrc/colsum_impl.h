/* colsum_impl.h — the column sums of a row-major block, for one element type (dtype.h):
 * the bias gradients of linear (dense_impl.h), the RNN and the LSTM (rnn_impl.h).
 *
 * Names made, per dtype (f32, f64), file-local: column_sums_f32.
 *
 * out[j] = Σ_r a[r·ld + j] over `rows` rows, each column summed in double and in row
 * order by one thread (the same bits at any thread count), columns split over the
 * threads in blocks of 16; with perm, the sum of column j goes to out[perm[j]]. */
static void FN(column_sums_)(const T *a, int64_t rows, int64_t n, int64_t ld,
                             const int64_t *perm, T *out, int64_t grain, int nthreads)
{
    const int64_t blocks = (n + 15) / 16;
    int nt = dlk_threads_for(rows * n, grain, nthreads);
    if (nt > blocks) nt = (int)blocks;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t k = 0; k < blocks; k++) {
        const int64_t j0 = k * 16, j1 = j0 + 16 < n ? j0 + 16 : n;
        double acc[16] = {0};
        for (int64_t r = 0; r < rows; r++)
            for (int64_t j = j0; j < j1; j++) acc[j - j0] += (double)a[r * ld + j];
        for (int64_t j = j0; j < j1; j++) out[perm ? perm[j] : j] = (T)acc[j - j0];
    }
}
