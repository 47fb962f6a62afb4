/* stream.c — the machine's streaming bandwidth, for docs/BENCHMARKS.md.
 *
 * Two kernels over float arrays far larger than the last-level cache, at the thread
 * count OpenMP is given, first touch in parallel so each thread's pages are its own:
 *   triad:   a = b + s·c                (3 streams: 2 reads, 1 write, 12 bytes/element)
 *   7-stream: p, m, v updated from g    (4 reads, 3 writes, 28 bytes/element — Adam's
 *            traffic with trivial arithmetic, the ceiling for an Adam step)
 * Prints the best of 20 repetitions in GB/s (10^9 bytes/s).
 * Build: gcc -O3 -march=native -fopenmp bench/stream.c -o /tmp/stream */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#define N 40000000L

static double now(void) { return omp_get_wtime(); }

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
        double t = now();
#pragma omp parallel for schedule(static)
        for (long i = 0; i < N; i++) a[i] = b[i] + 0.5f * c[i];
        t = now() - t;
        if (t < best3) best3 = t;
        t = now();
#pragma omp parallel for schedule(static)
        for (long i = 0; i < N; i++) {
            float g = d[i];
            float m = 0.9f * b[i] + 0.1f * g;
            float v = 0.99f * c[i] + 0.01f * g * g;
            b[i] = m; c[i] = v; a[i] -= 1e-3f * m * v;
        }
        t = now() - t;
        if (t < best7) best7 = t;
    }
    printf("threads %d  triad %.1f GB/s  7-stream %.1f GB/s  (checksum %g)\n",
           omp_get_max_threads(), 12.0 * N / best3 / 1e9, 28.0 * N / best7 / 1e9,
           (double)a[N / 2] + b[N / 3] + c[N / 5]);
    return 0;
}
