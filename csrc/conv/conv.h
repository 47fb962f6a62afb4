/* conv/conv.h — 2-D convolution (seed section 3): the entry points and the plan.
 *
 * Every pass of a convolution (forward, dX, dW) is run by the first implementation in
 * an ordered table (conv/plan.c) whose fits() accepts the problem: its shape, element
 * type, workspace and thread count.  dlk_conv_plan() says which one that is for each
 * pass and why each one before it declined; the entry points take the same plan, or
 * force an implementation per pass (tests reach every path that way).
 *
 * Arrays are contiguous: x (B, C, H, W), w (O, C, kh, kw), y (B, O, Ho, Wo).  dtype is
 * DLK_F32 or DLK_F64 (dlk.h) and types every pointer. */
#ifndef DLK_CONV_H
#define DLK_CONV_H
#include "dlk.h"

/* ph, pw pad the top and left; the bottom and right are padded as far as Ho and Wo
 * reach (PyTorch's "same" with an even kernel pads one more there).  The kernel's taps
 * are dil_h, dil_w apart; the channels fall into `groups` groups (w is (O, C/groups, kh,
 * kw), output channel o sees input group o / (O/groups)). */
typedef struct {
    int64_t B, C, H, W, O, kh, kw, sh, sw, ph, pw, Ho, Wo, dil_h, dil_w, groups;
} dlk_conv_shape;

enum { DLK_CONV_FORWARD = 0, DLK_CONV_DX = 1, DLK_CONV_DW = 2, DLK_CONV_PASSES = 3 };
#define DLK_CONV_IMPLS_MAX 8

/* How an implementation cuts the work (what its fits() settled on). */
typedef struct {
    int64_t nb, rows;
} dlk_conv_blocking;

/* The plan of the passes asked for: impl[p] indexes the table (-1: pass not asked),
 * why[p][i] is why implementation i declined pass p (NULL where it was not asked). */
typedef struct {
    int impl[DLK_CONV_PASSES];
    dlk_conv_blocking blk[DLK_CONV_PASSES];
    const char *why[DLK_CONV_PASSES][DLK_CONV_IMPLS_MAX];
} dlk_conv_plan;

/* The implementations, in the order the plan tries them. */
int dlk_conv_impl_count(void);
const char *dlk_conv_impl_name(int i);
const char *dlk_conv_impl_isa(int i);   /* "any" or the instruction set it needs */

/* The plan of the passes in `passes` (bits 1 << DLK_CONV_FORWARD ...).  force: NULL,
 * or per pass an implementation's index (-1: choose).  DLK_EINVAL when a forced
 * implementation declines (plan->why says why). */
int dlk_conv_plan_make(const dlk_conv_shape *s, int dtype, int64_t workspace, int nthreads,
                       unsigned passes, const int *force, dlk_conv_plan *plan);

/* cols (C·kh·kw, B·Ho·Wo): rows (c, i, j), columns (b, oh, ow); zero padding; dilation
 * as the shape says (groups play no part). */
int dlk_im2col(const dlk_conv_shape *s, int dtype, const void *x, void *cols, int nthreads);
/* The adjoint: x (B, C, H, W) = Σ of the column entries copied from each pixel. */
int dlk_col2im(const dlk_conv_shape *s, int dtype, const void *cols, void *x, int nthreads);

/* y = conv(x, w) + b (b may be NULL).  Scratch: at most `workspace` bytes in all. */
int dlk_conv2d(const dlk_conv_shape *s, int dtype, const void *x, const void *w,
               const void *b, void *y, int64_t workspace, const int *force,
               const dlk_stop_flag *stop, int nthreads);
/* dx, dw, db from dy; same workspace bound plus the dw partial sums (at most 8 × |w|). */
int dlk_conv2d_backward(const dlk_conv_shape *s, int dtype, const void *dy, const void *x,
                        const void *w, void *dx, void *dw, void *db, int64_t workspace,
                        const int *force, const dlk_stop_flag *stop, int nthreads);
#endif
