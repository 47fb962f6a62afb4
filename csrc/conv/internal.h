/* conv/internal.h — what the convolution's implementations share: the problem and I/O
 * records the plan hands them, their table entry, and the few geometry helpers more
 * than one of them uses.  Not part of the family's interface (that is conv.h).
 *
 * An implementation is one file, conv/<name>.c (with a type-generic <name>_impl.h
 * where its loops exist for both element types), exporting
 *   int dlk_conv_<name>_fits(problem, pass, blocking, why)  - 1: it takes this pass
 *   int dlk_conv_<name>_run_f32/_f64(problem, passes, blockings, io)
 * and is listed, in order, in plan.c's table. */
#ifndef DLK_CONV_INTERNAL_H
#define DLK_CONV_INTERNAL_H
#include <stdlib.h>
#include <string.h>
#include "conv/conv.h"
#include "gemm.h"

/* A call as the plan step sees it. */
typedef struct {
    dlk_conv_shape s;
    int dtype;            /* DLK_F32 or DLK_F64 */
    int64_t elsize;       /* 4 or 8 */
    int64_t workspace;    /* bytes of scratch in all */
    int nthreads;         /* at least 1 */
} dlk_conv_problem;

/* The arrays of a call (typed by problem.dtype); a pass reads and writes its own. */
typedef struct {
    const void *x, *w, *b, *dy;
    void *y, *dx, *dw, *db;
    const dlk_stop_flag *stop;
} dlk_conv_io;

typedef struct {
    const char *name;
    const char *isa;      /* "any", or the instruction set its loops are written in */
    int fused_db;         /* its dW pass writes db too */
    /* 1 when it takes `pass` of problem p (*blk: how it would cut the work); else 0 and
     * *why a short reason */
    int (*fits)(const dlk_conv_problem *p, int pass, dlk_conv_blocking *blk,
                const char **why);
    /* runs the passes in the bit set `passes` that the plan gave it, blk[pass] each */
    int (*run[2])(const dlk_conv_problem *p, unsigned passes, const dlk_conv_blocking *blk,
                  const dlk_conv_io *io);
} dlk_conv_impl;

#define DLK_CONV_DECLARE(name)                                                          \
    int dlk_conv_##name##_fits(const dlk_conv_problem *p, int pass, dlk_conv_blocking *blk, \
                               const char **why);                                       \
    int dlk_conv_##name##_run_f32(const dlk_conv_problem *p, unsigned passes,           \
                                  const dlk_conv_blocking *blk, const dlk_conv_io *io); \
    int dlk_conv_##name##_run_f64(const dlk_conv_problem *p, unsigned passes,           \
                                  const dlk_conv_blocking *blk, const dlk_conv_io *io);
/* declares dlk_conv_winograd_f4x4_fits, dlk_conv_winograd_f4x4_run_f32, ..._f64, and
 * the same for winograd_f2x2, direct_avx512 and im2col_gemm */
DLK_CONV_DECLARE(winograd_f4x4)
DLK_CONV_DECLARE(winograd_f2x2)
DLK_CONV_DECLARE(direct_avx512)
DLK_CONV_DECLARE(depthwise)
DLK_CONV_DECLARE(im2col_gemm)

/* db = Σ over samples and pixels of dY, per channel, in double (im2col_gemm.c), for the
 * plans whose dW pass does not write it */
void dlk_conv_bias_grad_f32(const dlk_conv_shape *s, const float *dy, float *db, int nt);
void dlk_conv_bias_grad_f64(const dlk_conv_shape *s, const double *dy, double *db, int nt);

/* The typed im2col and col2im of the whole batch (im2col_gemm_impl.h). */
int dlk_im2col_f32(const dlk_conv_shape *s, const float *x, float *cols, int nthreads);
int dlk_im2col_f64(const dlk_conv_shape *s, const double *x, double *cols, int nthreads);
int dlk_col2im_f32(const dlk_conv_shape *s, const float *cols, float *x, int nthreads);
int dlk_col2im_f64(const dlk_conv_shape *s, const double *cols, double *x, int nthreads);

/* dW partial sums: a fixed count, independent of the threads, so that results are the
 * same bits at any thread count. */
#define DW_GROUPS 8
/* The workspace is cut into this many equal slots, one per buffer in use (more when more
 * buffers run at once): block sizes, and with them the order of every sum, then do not
 * change between 1 and 4 threads. */
#define WS_SLOTS(buffers) ((buffers) > 8 ? (buffers) : 8)

static inline int64_t dlk_conv_slot(const dlk_conv_problem *p, int64_t buffers)
{
    return p->workspace / WS_SLOTS(buffers * p->nthreads);
}

/* A leading dimension ≥ m for arrays whose rows (or matrices) are read many at a time:
 * an odd number of 64-byte lines, so that successive rows fall into different L1 sets.
 * At a multiple of 4 KB they all fell into one: the 16 Winograd matrices (measured
 * 1.8× slower), and conv_stride's 75 column rows of 1,024 floats (its forward product
 * 7% slower). */
static inline int64_t dlk_conv_spread(int64_t m, int64_t elsize)
{
    const int64_t per_line = 64 / elsize;
    int64_t lines = (m + per_line - 1) / per_line;
    return (lines | 1) * per_line;
}

/* dX of a 3×3 stride-1 convolution is one itself: dY convolved with the flipped,
 * transposed filters (dlk_conv_flip3x3_*) and padding 2 − p.  Its shape; valid where
 * s->ph ≤ 2 and s->pw ≤ 2. */
static inline dlk_conv_shape dlk_conv_dx_shape(const dlk_conv_shape *s)
{
    dlk_conv_shape t = {s->B, s->O, s->Ho, s->Wo, s->C, 3, 3, 1, 1, 2 - s->ph, 2 - s->pw,
                        s->H, s->W, 1, 1, 1};
    return t;
}

/* No dilation, one group and the padding the same on both sides: the problems the
 * Winograd and direct loops are written for (im2col + GEMM takes the others). */
static inline int dlk_conv_plain(const dlk_conv_shape *s)
{
    return s->dil_h == 1 && s->dil_w == 1 && s->groups == 1 &&
           s->Ho == (s->H + 2 * s->ph - s->kh) / s->sh + 1 &&
           s->Wo == (s->W + 2 * s->pw - s->kw) / s->sw + 1;
}
void *dlk_conv_flip3x3_f32(const dlk_conv_shape *s, const float *w);   /* malloc'd */
void *dlk_conv_flip3x3_f64(const dlk_conv_shape *s, const double *w);

/* Winograd's F(2×2, 3×3) and F(4×4, 3×3) take 3×3 stride-1 convolutions with at least
 * this many input and output channels: with fewer, the transforms (which grow with
 * C + O) cost more than the 2.25× / 4× fewer multiplications (which grow with C·O) save. */
#ifndef WINO_MIN_CHANNELS
#define WINO_MIN_CHANNELS 16
#endif
#define WINOGRAD_FITS(s)                                                              \
    ((s)->kh == 3 && (s)->kw == 3 && (s)->sh == 1 && (s)->sw == 1 &&                  \
     (s)->C >= WINO_MIN_CHANNELS && (s)->O >= WINO_MIN_CHANNELS)
/* Whether a Winograd transform can take `pass` at all, and the shape it then runs as a
 * forward pass (*t: dlk_conv_dx_shape for dX); else 0 and *why. */
static inline int dlk_conv_winograd_shape(const dlk_conv_problem *p, int pass,
                                          dlk_conv_shape *t, const char **why)
{
    const dlk_conv_shape *s = &p->s;
    if (!dlk_conv_plain(s)) {
        *why = "dilation, groups or one-sided padding";
        return 0;
    }
    if (!WINOGRAD_FITS(s)) {
        *why = "not 3x3 stride 1 with 16+ channels each way";
        return 0;
    }
    if (pass == DLK_CONV_DX && (s->ph > 2 || s->pw > 2)) {
        *why = "dX as a convolution needs padding <= 2";
        return 0;
    }
    *t = pass == DLK_CONV_DX ? dlk_conv_dx_shape(s) : *s;
    return 1;
}
/* Tiles per chunk of a Winograd pass (its GEMMs' columns). */
#define WINO_TILES 1024

/* The AVX-512 Winograd transforms of small float planes (winograd_avx512.c), called by
 * the F(2×2) loops where dlk_has_avx512(). */
void dlk_conv_wino_input_8x8_avx512_f32(const float *x, int64_t C, int64_t b0, int64_t nb,
                                        float *V, int64_t st);
void dlk_conv_wino_output_rows_avx512_f32(const dlk_conv_shape *s, const float *M,
                                          const float *b, int64_t b0, int64_t nb,
                                          int64_t th0, int64_t th1, float *y, int64_t st);
#endif
