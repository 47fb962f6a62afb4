/* conv/im2col_gemm.c — convolution as im2col + GEMM: the last entry of the plan's table,
 * which takes every problem (see im2col_gemm_impl.h for the loops). */
#include "conv/internal.h"

/* Columns a product should have at least when samples are small (group_samples_): a
 * 64×288×196 product runs at half the speed of a 64×288×1568 one. */
#ifndef GROUP_COLS
#define GROUP_COLS 1024
#endif
/* im2col/col2im of small "same"-padded planes at stride 1 as whole-plane shifts, for
 * blocks of up to SHIFT_MAX output positions: at Wo = 8 a row-by-row copy is all
 * remainder loop (im2col and col2im were 40% of a digits-sized backward pass). */
#define SHIFT_MAX 1024
#define SHIFTS_FIT(s, oh0, oh1)                                                       \
    ((s)->sh == 1 && (s)->sw == 1 && (s)->Wo == (s)->W && (s)->W < 64 &&              \
     (s)->dil_h == 1 && (s)->dil_w == 1 && ((oh1) - (oh0)) * (s)->W <= SHIFT_MAX)

int dlk_conv_im2col_gemm_fits(const dlk_conv_problem *p, int pass, dlk_conv_blocking *blk,
                              const char **why)
{
    (void)p, (void)pass, (void)why;
    blk->nb = blk->rows = 0;       /* cut at run time, by the passes it is given */
    return 1;
}

#define DLK_BODY "conv/im2col_gemm_impl.h"
#include "instantiate.h"
