/* conv/depthwise.c — depthwise convolutions (groups = C: each input channel has its own
 * m = O/C filters) at stride 1, any kernel, dilation and padding, as direct loops: with one
 * input channel per product, no GEMM has a useful shape (im2col + GEMM ran one 1×9
 * product per channel: 512 channels of 7×7, 0.21× torch).  Loops: depthwise_impl.h. */
#include "conv/internal.h"

int dlk_conv_depthwise_fits(const dlk_conv_problem *p, int pass, dlk_conv_blocking *blk,
                            const char **why)
{
    const dlk_conv_shape *s = &p->s;
    (void)pass;
    if (s->groups != s->C || s->groups == 1) {
        *why = "not depthwise (groups = input channels > 1)";
        return 0;
    }
    /* strided, im2col + GEMM is faster (AMD EPYC Zen 4, 2 threads, B32 C256 28×28 3×3
     * stride 2: forward 5.8 ms against 9.6, forward + backward 21 against 30) */
    if (s->sh != 1 || s->sw != 1) {
        *why = "strided: im2col + GEMM is faster there";
        return 0;
    }
    blk->nb = blk->rows = 0;
    return 1;
}

/* A plane's geometry in the loops (depthwise_impl.h, dw_geom_): the padded plane, the
 * positions a flat tap loop covers, the filters per channel. */
typedef struct {
    int64_t Hp, Wp, L, m;
} dw_geom;

#define DLK_BODY "conv/depthwise_impl.h"
#include "instantiate.h"
