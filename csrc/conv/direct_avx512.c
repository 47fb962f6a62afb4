/* conv/direct_avx512.c — the direct convolution in AVX-512 registers, forward, dW (with
 * db) and dX, for convolutions that read little input per output (few input channels):
 * there the im2col product is skinny (32×75×1024 for conv_stride), runs at about 60% of
 * the FMA peak, and im2col has first copied the input kh·kw times.  Loops:
 * direct_avx512_impl.h.  Compiled for AVX-512 whatever the build's -march; taken only
 * where dlk_has_avx512(). */
#include "conv/internal.h"

#ifdef DLK_HAVE_AVX512_LOOPS
/* The input one register block reads (its rows of every input channel and phase, in
 * cache lines) at most DIRECT_BLOCK_BYTES in the forward pass and DIRECT_BWD_BLOCK_BYTES
 * in dX and dW; with more, im2col + GEMM wins.  The number of taps did not separate
 * winners from losers; this did.  Direct / im2col + GEMM, forward and dX + dW, 2
 * threads, Intel Xeon (family 6 model 167, AVX-512), by that input:
 *   16×8×32² 3×3 → 16 (8 KB) 2.21×, 1.60×;   16×16×32² 5×5 → 32 (21 KB) 1.88×, 1.24×;
 *   32×32×32² 5×5 → 32 (42 KB) 2.09×, 1.16×;  8×32×56² 7×7 → 32 (80 KB) 1.75×, 1.05×;
 *   16×64×16² 5×5 → 64 (80 KB) 1.34×, 1.21×;  16×64×32² 5×5 → 64 (84 KB) 1.44×, 0.90×;
 *   16×32×28² 3×3 s2 → 32 (104 KB) 1.53×, 1.12×; 4×96×27² 5×5 → 128 (126 KB) 1.14×, 0.57×;
 *   16×48×28² 3×3 s2 → 64 (156 KB) 1.17×, 0.70×; 8×64×28² 3×3 s2 → 128 (208 KB) 0.91×, 0.61×.
 * An AMD EPYC (Zen 5) at one thread, forward: 106 KB 1.09×, 160 KB 0.98×, 213 KB 0.84×.
 * (1×1 convolutions with 128+ channels, at 49-98 KB, lost 0.62-0.72×: they are turned
 * away by their stride-free, tap-free shape in direct_plan_.) */
#ifndef DIRECT_BLOCK_BYTES
#define DIRECT_BLOCK_BYTES 131072
#endif
#ifndef DIRECT_BWD_BLOCK_BYTES
#define DIRECT_BWD_BLOCK_BYTES 81920
#endif
/* Rows of at least this many outputs: rows of 8 fill half a vector, and 8×8 planes (the
 * digits CNN's conv1, 64 samples, 1 → 16 channels) ran 27 µs either way at one thread. */
#ifndef DIRECT_MIN_WO
#define DIRECT_MIN_WO 12
#endif
/* A forward register block: DIRECT_J output channels × DIRECT_NV vectors (24 of the 32
 * vector registers as accumulators); dW's: DIRECT_J channels × DIRECT_DW_TAPS taps. */
#define DIRECT_J 4
#define DIRECT_NV 6
#define DIRECT_DW_TAPS 5
/* dW and dX: the phase planes of one block of rows at most this big, so that each pass
 * of a register block over them runs from L2 */
#ifndef DIRECT_DW_BYTES
#define DIRECT_DW_BYTES 131072
#endif

#define DLK_BODY "conv/direct_avx512_impl.h"
#define DLK_BODY_AVX512
#include "instantiate.h"

int dlk_conv_direct_avx512_fits(const dlk_conv_problem *p, int pass, dlk_conv_blocking *blk,
                                const char **why)
{
    const dlk_conv_shape *s = &p->s;
    if (!dlk_has_avx512()) {
        *why = "no AVX-512 here (or DLKERN_PORTABLE_LOOPS set)";
        return 0;
    }
    if (!dlk_conv_plain(s)) {
        *why = "dilation, groups or one-sided padding";
        return 0;
    }
    /* forward: rows for the threads at hand; dW: rows as for 2 threads whatever the
     * count, so that a lone sample makes 2 groups (the bits then do not depend on the
     * threads); dX: whole samples, rows as for 1 thread */
    int64_t slot = dlk_conv_slot(p, 1), nt = p->nthreads;
    if (pass != DLK_CONV_FORWARD) {
        if (slot > DIRECT_DW_BYTES) slot = DIRECT_DW_BYTES;
        nt = pass == DLK_CONV_DW ? 2 : 1;
    }
    blk->nb = 1;
    int64_t most = pass == DLK_CONV_FORWARD ? DIRECT_BLOCK_BYTES : DIRECT_BWD_BLOCK_BYTES;
    int ok = p->dtype == DLK_F64 ? direct_plan_f64(s, slot, nt, most, &blk->rows)
                                 : direct_plan_f32(s, slot, nt, most, &blk->rows);
    if (!ok)
        *why = "rows under 12 outputs, a stride over the kernel, or a register block's "
               "input over 128 KB (forward) or 80 KB (dX, dW)";
    return ok;
}
#else
int dlk_conv_direct_avx512_fits(const dlk_conv_problem *p, int pass, dlk_conv_blocking *blk,
                                const char **why)
{
    (void)p, (void)pass, (void)blk;
    *why = "built without AVX-512 loops";
    return 0;
}
#define DLK_DIRECT_UNBUILT(SFX)                                                         \
    int dlk_conv_direct_avx512_run_##SFX(const dlk_conv_problem *p, unsigned passes,    \
                                         const dlk_conv_blocking *blk,                  \
                                         const dlk_conv_io *io)                         \
    {                                                                                   \
        (void)p, (void)passes, (void)blk, (void)io;                                     \
        return DLK_EINVAL;                                                              \
    }
DLK_DIRECT_UNBUILT(f32)
DLK_DIRECT_UNBUILT(f64)
#endif
