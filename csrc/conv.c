/* conv.c — 2-D convolution as im2col + GEMM (seed section 3), forward and backward;
 * 3×3 stride-1 convolutions with 16+ channels by Winograd F(2×2, 3×3) instead: the
 * forward pass, dX and dW (see conv_impl.h).
 *
 * Forward: the work is a list of items (sample b, block of output rows).  An item's
 * columns (C·kh·kw × rows·Wo) are built in a per-thread buffer and multiplied by
 * W (O × C·kh·kw) straight into y[b] (rows of length Ho·Wo), bias added while the
 * block is in cache.  With at least as many items as threads, an OpenMP loop runs
 * the items; otherwise items run one after the other and each product is split
 * over the threads (dlk_gemm_par).  The engine itself always runs on one thread.
 * Workspace: threads × one block, with blocks sized so that the total stays within
 * the caller's `workspace` bytes (at least one output row per block, so a single
 * row wider than the budget is the one case that exceeds it): memory does not grow
 * with the batch.
 * Backward: items are groups of consecutive samples (at most DW_GROUPS groups); a
 * group's thread owns its samples' dx (col2im adds overlapping windows with no race)
 * and its own dW partial sum; partials are added in group order afterwards, so the
 * result does not depend on the thread count.  Small images go nb samples to a
 * product, as in the forward pass (their dY gathered into one buffer).  db is a
 * per-channel sum in double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "conv.h"
#include "gemm.h"

/* dW partial sums: fixed count, independent of threads, so results are reproducible. */
#define DW_GROUPS 8
/* The workspace is cut into this many equal slots, one per column buffer in use (more
 * when more buffers run at once): block sizes, and with them the order of every sum,
 * then do not change between 1 and 4 threads. */
#define WS_SLOTS(buffers) ((buffers) > 8 ? (buffers) : 8)
/* Columns a product should have at least when samples are small (see group_samples_). */
#ifndef GROUP_COLS
#define GROUP_COLS 1024
#endif

/* 3×3 stride-1 convolutions with enough channels go through Winograd F(2×2, 3×3)
 * (conv_impl.h): 2.25× fewer multiplications, forward, dX and dW; with few channels
 * the transforms cost more than they save.  WINO_TILES: tiles per chunk (GEMM rows). */
#ifndef WINO_MIN_CHANNELS
#define WINO_MIN_CHANNELS 16
#endif
#define WINO_TILES 1024
/* Planes whose rows have fewer tiles than this are transformed a whole plane at a time,
 * across all its tiles (see conv_impl.h) */
#ifndef WINO_SMALL_ROW
#define WINO_SMALL_ROW 16
#endif
#define WINO_SMALL(s) (((s)->Wo + 1) / 2 < WINO_SMALL_ROW)
/* ... and from this many tiles a row, with a spare tile a row: one vector loop */
#ifndef WINO_SPARE_MIN
#define WINO_SPARE_MIN 5
#endif
#define WINO_SPARE(s) (WINO_SMALL(s) && ((s)->Wo + 1) / 2 >= WINO_SPARE_MIN)
/* tiles a row of the transformed layout holds */
#define WINO_TILE_ROW(s) (((s)->Wo + 1) / 2 + (WINO_SPARE(s) ? 1 : 0))
/* im2col/col2im of small "same"-padded planes at stride 1 as whole-plane shifts, for
 * blocks of up to SHIFT_MAX output positions (see conv_impl.h) */
#define SHIFT_MAX 1024
#define SHIFTS_FIT(s, oh0, oh1)                                                       \
    ((s)->sh == 1 && (s)->sw == 1 && (s)->Wo == (s)->W && (s)->W < 64 &&              \
     ((oh1) - (oh0)) * (s)->W <= SHIFT_MAX)

#define WINOGRAD_FITS(s)                                                              \
    ((s)->kh == 3 && (s)->kw == 3 && (s)->sh == 1 && (s)->sw == 1 &&                  \
     (s)->C >= WINO_MIN_CHANNELS && (s)->O >= WINO_MIN_CHANNELS)

/* Forward passes whose register blocks read little input run a direct loop in
 * AVX-512 registers where the CPU has it (conv_impl.h): output rows from DIRECT_MIN_WO
 * wide, a block's input within DIRECT_BLOCK_BYTES; blocks of DIRECT_J channels ×
 * DIRECT_NV vectors. */
#ifdef DLK_HAVE_AVX512_LOOPS
#include <immintrin.h>
#define DIRECT_ISA 1
#ifndef DIRECT_BLOCK_BYTES
#define DIRECT_BLOCK_BYTES 40960
#endif
#ifndef DIRECT_MIN_WO
#define DIRECT_MIN_WO 12
#endif
#define DIRECT_J 4
#define DIRECT_NV 6
#endif

#define T float
#define SFX f32
#define GEMM dlk_gemm_par_f32
#define VEC __m512
#define VMASK __mmask16
#define VLANES 16
#define VSET1 _mm512_set1_ps
#define VLOADU _mm512_loadu_ps
#define VFMA _mm512_fmadd_ps
#define VSTOREM _mm512_mask_storeu_ps
#include "conv_impl.h"
#undef T
#undef SFX
#undef GEMM
#undef VEC
#undef VMASK
#undef VLANES
#undef VSET1
#undef VLOADU
#undef VFMA
#undef VSTOREM

#define T double
#define SFX f64
#define GEMM dlk_gemm_par_f64
#define VEC __m512d
#define VMASK __mmask8
#define VLANES 8
#define VSET1 _mm512_set1_pd
#define VLOADU _mm512_loadu_pd
#define VFMA _mm512_fmadd_pd
#define VSTOREM _mm512_mask_storeu_pd
#include "conv_impl.h"
#undef T
#undef SFX
#undef GEMM
