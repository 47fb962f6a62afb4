/* pool.h — 2-D max pooling over NCHW planes with argmax indices, and average pooling.
 *
 * Entries are dtype-tagged: dtype is DLK_F32 or DLK_F64 (dlk.h) and types every void
 * pointer; pool.c routes them to the float and double instantiations of
 * pool_impl.h. */
#ifndef DLK_POOL_H
#define DLK_POOL_H
#include "dlk.h"

/* Geometry of one pooling: input planes H×W, window kh×kw, stride, padding, output. */
typedef struct {
    int64_t planes, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo;
} dlk_pool_shape;

/* y[p, oh, ow] = max over the window; idx = its flat position h·W + w in the plane.
 * Ties: the first position in row-major window order; NaN wins (the first NaN). */
int dlk_max_pool2d(int dtype, const dlk_pool_shape *s, const void *x, void *y, int64_t *idx,
                   int nthreads);
/* dx[p, idx[p, o]] += dy[p, o]; dx is written whole (zeros elsewhere). */
int dlk_max_pool2d_backward(int dtype, const dlk_pool_shape *s, const void *dy,
                            const int64_t *idx, void *dx, int nthreads);

/* y = window sums / N, padding as zeros; N = kh·kw with count_include_pad, else the
 * window's positions inside the plane (as PyTorch).  The backward pass writes dx whole
 * (planes of H×W, dy of Ho×Wo in s). */
int dlk_avg_pool2d(int dtype, const dlk_pool_shape *s, const void *x, void *y,
                   int count_include_pad, int nthreads);
int dlk_avg_pool2d_backward(int dtype, const dlk_pool_shape *s, const void *dy, void *dx,
                            int count_include_pad, int nthreads);

#ifdef DLK_HAVE_AVX512_LOOPS
/* The AVX-512 loops (pool_avx512.c), float32, planes under 2^31 elements: the interior
 * outputs [lo, hi) of one row at stride 1 or 2, and planes [p0, p1) whole for the
 * shapes below. */
void dlk_pool_interior_avx512_f32(const float *x, int64_t W, int64_t hs, int64_t he,
                                  int64_t kw, int64_t sw, int64_t pw, int64_t lo, int64_t hi,
                                  float *y, int64_t *idx);
void dlk_pool_planes_avx512_f32(const dlk_pool_shape *s, const float *x, int64_t p0,
                                int64_t p1, float *y, int64_t *idx);
#define POOL_2X2(s)                                                                   \
    ((s)->kh == 2 && (s)->kw == 2 && (s)->sh == 2 && (s)->sw == 2 && (s)->ph == 0 &&   \
     (s)->pw == 0)
/* stride-2 windows 2 or 3 wide, rows of up to 64, planes enough to go round the threads */
#define POOL_S2(s, nt)                                                                  \
    ((s)->sw == 2 && ((s)->kw == 2 || (s)->kw == 3) && (s)->Wo <= 64 &&                  \
     (s)->planes >= 4 * (nt))

#endif
#endif
