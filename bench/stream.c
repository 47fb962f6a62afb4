/* stream.c — the machine's streaming bandwidth, the roof for memory-bound kernels.
 *
 *   triad:     a = b + s·c              (3 streams: 2 reads, 1 write, 12 bytes/element)
 *   seven:     p, m, v updated from g   (4 reads, 3 writes, 28 bytes/element — Adam's
 *              traffic with trivial arithmetic: the ceiling for an Adam step)
 *   pool_fwd / pool_bwd: a max-pool's compulsory traffic with trivial arithmetic
 *              (forward: x read, y and int64 indices written; backward: dy and the
 *              indices read, dx written), into outputs the caller allocates as every
 *              contender does, so that fresh pages cost the roof what they cost them
 *
 * As a program it prints the best of 20 repetitions in GB/s (10^9 bytes/s) over
 * 64-byte-aligned arrays far larger than the last-level cache:
 *     gcc -O3 -march=native -fopenmp bench/stream.c -o /tmp/stream && /tmp/stream
 * bench/ratios.py builds it as a shared library (-DSTREAM_LIB) and times `seven` on the
 * very arrays of the benchmark, interleaved with the contenders: this machine's
 * bandwidth drifts by 2x over minutes, so only a roof measured in the same run counts. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

void seven(float *restrict p, const float *restrict g, float *restrict m,
           float *restrict v, long n)
{
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) {
        float gi = g[i];
        float mi = 0.9f * m[i] + 0.1f * gi;
        float vi = 0.99f * v[i] + 0.01f * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= 1e-3f * mi * vi;
    }
}

/* y[j] = the max of x[j + k·m], k < n / m (so every x read, in contiguous streams that
 * vectorise), idx[j] = j */
void pool_fwd(const float *restrict x, long n, float *restrict y, long *restrict idx, long m)
{
    const long r = n / m, blk = 2048;   /* a block of y stays in L1 over the r streams */
#pragma omp parallel for schedule(static)
    for (long j0 = 0; j0 < m; j0 += blk) {
        const long j1 = j0 + blk < m ? j0 + blk : m;
        for (long j = j0; j < j1; j++) {
            y[j] = x[j];
            idx[j] = j;
        }
        for (long k = 1; k < r; k++)
            for (long j = j0; j < j1; j++) y[j] = x[j + k * m] > y[j] ? x[j + k * m] : y[j];
    }
}

/* dx[j] = dy[j] where idx[j] says j, every other element of dx 0 */
void pool_bwd(const float *restrict dy, const long *restrict idx, long m, float *restrict dx,
              long n)
{
#pragma omp parallel for schedule(static)
    for (long j = 0; j < m; j++) dx[j] = idx[j] == j ? dy[j] : 0.0f;
#pragma omp parallel for schedule(static)
    for (long i = m; i < n; i++) dx[i] = 0.0f;
}

/* The compulsory traffic of the elementwise kernels, trivial arithmetic, into outputs
 * the caller allocates: scale (batch-norm inference: x read, y written), scale_mask
 * (dropout: x read, y and a byte mask written), masked_scale (dropout's backward: dy
 * and the mask read, dx written). */
void scale(const float *restrict x, long n, float s, float *restrict y)
{
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) y[i] = s * x[i];
}

void scale_mask(const float *restrict x, long n, float s, float *restrict y,
                unsigned char *restrict mask)
{
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) {
        y[i] = s * x[i];
        mask[i] = 1;
    }
}

void masked_scale(const float *restrict dy, const unsigned char *restrict mask, long n,
                  float s, float *restrict dx)
{
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) dx[i] = mask[i] ? s * dy[i] : 0.0f;
}

#ifndef STREAM_LIB
#define N 40000000L

int main(void)
{
    /* 64-byte aligned: a vector access that straddles two lines costs bandwidth */
    float *a = aligned_alloc(64, N * sizeof(float)), *b = aligned_alloc(64, N * sizeof(float));
    float *c = aligned_alloc(64, N * sizeof(float)), *d = aligned_alloc(64, N * sizeof(float));
    if (!a || !b || !c || !d) return 1;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < N; i++) { a[i] = 1; b[i] = 2; c[i] = 3; d[i] = 4; }
    double best3 = 1e30, best7 = 1e30;
    for (int r = 0; r < 20; r++) {
        double t = omp_get_wtime();
#pragma omp parallel for schedule(static)
        for (long i = 0; i < N; i++) a[i] = b[i] + 0.5f * c[i];
        t = omp_get_wtime() - t;
        if (t < best3) best3 = t;
        t = omp_get_wtime();
        seven(a, d, b, c, N);
        t = omp_get_wtime() - t;
        if (t < best7) best7 = t;
    }
    printf("threads %d  triad %.1f GB/s  7-stream %.1f GB/s  (checksum %g)\n",
           omp_get_max_threads(), 12.0 * N / best3 / 1e9, 28.0 * N / best7 / 1e9,
           (double)a[N / 2] + b[N / 3] + c[N / 5]);
    return 0;
}
#endif
