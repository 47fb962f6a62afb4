/* conv/depthwise.c — depthwise convolutions (groups = C: each input channel has its own
 * m = O/C filters), any kernel, stride, dilation and padding, as direct loops: with one
 * input channel per product, no GEMM has a useful shape (im2col + GEMM ran one 1×9
 * product per channel: 512 channels of 7×7, 0.21× torch).  Loops: depthwise_impl.h.
 * Strided too: B32 3×3 stride 2, forward / forward + backward, against im2col + GEMM on
 * an Intel Xeon (family 6 model 167), 2 threads: C256 28² 3.8 / 16.8 ms against
 * 5.6 / 21.7; C64 112² 11.4 / 61 against 17.9 / 94; C512 14² 2.0 / 8.5 against
 * 4.2 / 14.7. */
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
    blk->nb = blk->rows = 0;
    return 1;
}

/* The geometry of the loops (depthwise_impl.h, dw_geom_): phase planes of Hq × Wq
 * (span elements), P = sh·sw phases, nb samples stacked in each phase's block of PS
 * elements, m filters per channel. */
typedef struct {
    int64_t Hq, Wq, P, span, nb, PS, m;
} dw_geom;

/* Samples stacked per loop: as many as keep one thread's phase planes and its output
 * (or dY) buffer within this many bytes, so that the taps' passes over them run from L1
 * and L2.  Whatever the thread count, so that dW's group sums are the same bits.  B32
 * 3×3 forward at 16 / 64 / 256 KB (Intel Xeon, 2 threads): C256 28² 3.50 / 3.67 /
 * 4.68 ms, C512 7² 0.84 / 0.67 / 0.66 ms; forward + backward, C512 14² stride 2:
 * 12.3 / 7.3 / 7.9 ms. */
#ifndef DW_STACK_BYTES
#define DW_STACK_BYTES 65536
#endif

/* dst[0, n) = src[0, n) for the short rows of small planes, in 32-, 16-, 8- or 4-byte
 * moves, the last one overlapping the one before it instead of a scalar tail (which
 * took a third of the forward pass on 7×7 planes); nothing outside [0, n) is written. */
static inline void dw_copy(void *dst, const void *src, size_t n)
{
    char *d = dst;
    const char *s = src;
#define MOVE_(at, k) memcpy(d + (at), s + (at), k)
    if (n >= 32) {
        for (size_t i = 0; i + 32 < n; i += 32) MOVE_(i, 32);
        MOVE_(n - 32, 32);
    } else if (n >= 16) {
        MOVE_(0, 16), MOVE_(n - 16, 16);
    } else if (n >= 8) {
        MOVE_(0, 8), MOVE_(n - 8, 8);
    } else if (n >= 4) {
        MOVE_(0, 4), MOVE_(n - 4, 4);
    }
#undef MOVE_
}

#define DLK_BODY "conv/depthwise_impl.h"
#include "instantiate.h"
