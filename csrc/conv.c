/* conv.c — 2-D convolution as im2col + GEMM (seed section 3), forward and backward;
 * 3×3 stride-1 convolutions with 16+ channels by Winograd F(2×2, 3×3) instead: the
 * forward pass, dX and dW (see conv_impl.h), and by F(4×4, 3×3) for the forward pass
 * and dX of wider planes with more channels; on AVX-512 CPUs, convolutions with little
 * input per output by a direct loop in registers, forward, dW and dX.
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
/* Forward passes (and dX) with output rows at least this wide and C·O at least this
 * big take F(4×4, 3×3) */
#ifndef WINO4_MIN_WO
#define WINO4_MIN_WO 20
#endif
#ifndef WINO4_MIN_CO
#define WINO4_MIN_CO 2048
#endif
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
 * DIRECT_NV vectors.  Their dW and db run the same way (blocks of DIRECT_J channels ×
 * DIRECT_DW_TAPS taps), and so does dX (blocks of DIRECT_J taps × DIRECT_NV vectors,
 * added into phase planes that are then added back into dx). */
#ifdef DLK_HAVE_AVX512_LOOPS
#include <immintrin.h>
#ifndef DIRECT_BLOCK_BYTES
#define DIRECT_BLOCK_BYTES 40960
#endif
#ifndef DIRECT_MIN_WO
#define DIRECT_MIN_WO 12
#endif
#define DIRECT_J 4
#define DIRECT_NV 6
/* dW and dX through the direct loop: the phase planes of one block of rows at most
 * this big, so that each pass of a register block over them runs from L2 */
#ifndef DIRECT_DW_BYTES
#define DIRECT_DW_BYTES 131072
#endif

/* Winograd input transform of 8×8 float planes with padding 1 (4×4 tiles: one tile to
 * a lane), used by wino_input_small_: the 16 patch elements of every tile are each
 * two permutes of the plane's four vectors, then Bᵀ d B is 32 vector adds and the 16
 * V_ξ rows are one store each.  The portable loop goes tile by tile through tables
 * (about 340 cycles a plane), and 8×8 planes are too narrow for its spare-tile form. */
DLK_AVX512 static void wino_input_8x8_f32(const float *DLK_RESTRICT x, int64_t C, int64_t b0,
                                          int64_t nb, float *DLK_RESTRICT V, int64_t st)
{
    __m512i idx[16];
    __mmask16 klo[16], khi[16];
    for (int e = 0; e < 16; e++) {     /* patch element e = (r, c) of tile q = (th, tw) */
        int32_t ix[16];
        unsigned lo = 0, hi = 0;
        for (int q = 0; q < 16; q++) {
            int row = 2 * (q / 4) + e / 4 - 1, col = 2 * (q % 4) + e % 4 - 1;
            int src = row * 8 + col, inside = row >= 0 && row < 8 && col >= 0 && col < 8;
            ix[q] = inside ? src & 31 : 0;
            if (inside) {
                if (src < 32) lo |= 1u << q;
                else hi |= 1u << q;
            }
        }
        idx[e] = _mm512_loadu_si512(ix);
        klo[e] = (__mmask16)lo;
        khi[e] = (__mmask16)hi;
    }
    const int64_t n = nb * 16;
    for (int64_t j = 0; j < nb; j++)
        for (int64_t c = 0; c < C; c++) {
            const float *p = x + ((b0 + j) * C + c) * 64;
            __m512 z0 = _mm512_loadu_ps(p), z1 = _mm512_loadu_ps(p + 16);
            __m512 z2 = _mm512_loadu_ps(p + 32), z3 = _mm512_loadu_ps(p + 48);
            __m512 d[16], m[16];
            for (int e = 0; e < 16; e++)
                d[e] = _mm512_mask_mov_ps(_mm512_maskz_permutex2var_ps(klo[e], z0, idx[e], z1),
                                          khi[e], _mm512_permutex2var_ps(z2, idx[e], z3));
            for (int k = 0; k < 4; k++) {                              /* Bᵀ d */
                m[k] = _mm512_sub_ps(d[k], d[8 + k]);
                m[4 + k] = _mm512_add_ps(d[4 + k], d[8 + k]);
                m[8 + k] = _mm512_sub_ps(d[8 + k], d[4 + k]);
                m[12 + k] = _mm512_sub_ps(d[4 + k], d[12 + k]);
            }
            float *v = V + c * n + j * 16;
            for (int i = 0; i < 4; i++) {                              /* (Bᵀ d) B */
                _mm512_storeu_ps(v + (4 * i) * st, _mm512_sub_ps(m[4 * i], m[4 * i + 2]));
                _mm512_storeu_ps(v + (4 * i + 1) * st, _mm512_add_ps(m[4 * i + 1], m[4 * i + 2]));
                _mm512_storeu_ps(v + (4 * i + 2) * st, _mm512_sub_ps(m[4 * i + 2], m[4 * i + 1]));
                _mm512_storeu_ps(v + (4 * i + 3) * st, _mm512_sub_ps(m[4 * i + 1], m[4 * i + 3]));
            }
        }
}
/* Winograd output transform of small float planes in the spare-tile layout (tile rows
 * of tw_q ≤ 16 tiles): one tile row a vector, Aᵀ m A + bias down the lanes, then
 * each output row is the two corners' vectors interleaved by two permutes and stored
 * with a mask (Wo values).  wino_output_small_'s tables store each output through a
 * scatter (vscatterdps): 14% of the samples of conv_mnist2's forward and backward on
 * this Zen 5. */
DLK_AVX512 static void wino_output_rows_f32(const dlk_conv_shape *s,
                                            const float *DLK_RESTRICT M, const float *b,
                                            int64_t b0, int64_t nb, int64_t th0,
                                            int64_t th1, float *DLK_RESTRICT y, int64_t st)
{
    const int64_t O = s->O, Ho = s->Ho, Wo = s->Wo, tw_n = (Wo + 1) / 2, tw_q = tw_n + 1;
    const int64_t tps = (th1 - th0) * tw_q, n = nb * tps;
    dlk_perm2 P;
    dlk_perm2_init(&P, 16);
    const __mmask16 mq = (__mmask16)((1u << tw_n) - 1);
    const __mmask16 m0 = (__mmask16)(Wo >= 16 ? 0xFFFFu : (1u << Wo) - 1);
    const __mmask16 m1 = (__mmask16)(Wo > 16 ? (1u << (Wo - 16)) - 1 : 0);
    for (int64_t j = 0; j < nb; j++)
        for (int64_t o = 0; o < O; o++) {
            const float *mo = M + o * n + j * tps;
            const __m512 bo = _mm512_set1_ps(b ? b[o] : 0.0f);
            float *yo = y + ((b0 + j) * O + o) * Ho * Wo;
            for (int64_t th = th0; th < th1; th++) {
                const float *mt = mo + (th - th0) * tw_q;
                __m512 m[16], u0[4], u1[4], r[4];
                for (int xi = 0; xi < 16; xi++)
                    m[xi] = _mm512_maskz_loadu_ps(mq, mt + xi * st);
                for (int k = 0; k < 4; k++) {
                    u0[k] = _mm512_add_ps(_mm512_add_ps(m[k], m[4 + k]), m[8 + k]);
                    u1[k] = _mm512_sub_ps(_mm512_sub_ps(m[4 + k], m[8 + k]), m[12 + k]);
                }
                r[0] = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(u0[0], u0[1]), u0[2]), bo);
                r[1] = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(u0[1], u0[2]), u0[3]), bo);
                r[2] = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(u1[0], u1[1]), u1[2]), bo);
                r[3] = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(u1[1], u1[2]), u1[3]), bo);
                for (int a = 0; a < 2 && 2 * th + a < Ho; a++) {
                    float *row = yo + (2 * th + a) * Wo;
                    const __m512 e = r[2 * a], o = r[2 * a + 1];
                    _mm512_mask_storeu_ps(row, m0, _mm512_permutex2var_ps(e, P.lo, o));
                    if (m1)
                        _mm512_mask_storeu_ps(row + 16, m1, _mm512_permutex2var_ps(e, P.hi, o));
                }
            }
        }
}
#define WINO_INPUT_8X8(s, th0, th1)                                                   \
    ((s)->H == 8 && (s)->W == 8 && (s)->Ho == 8 && (s)->Wo == 8 && (s)->ph == 1 &&    \
     (s)->pw == 1 && (th0) == 0 && (th1) == 4 && dlk_has_avx512())
#endif

#define T float
#define SFX f32
#ifdef DLK_HAVE_AVX512_LOOPS
#define WINO_INPUT_FAST wino_input_8x8_f32
#define WINO_OUTPUT_ROWS wino_output_rows_f32
#endif
#define GEMM dlk_gemm_par_f32
#define VEC __m512
#define VMASK __mmask16
#define VLANES 16
#define VSET1 _mm512_set1_ps
#define VLOADU _mm512_loadu_ps
#define VFMA _mm512_fmadd_ps
#define VSTOREM _mm512_mask_storeu_ps
#define VSTOREU _mm512_storeu_ps
#define VMASKZ_LOADU _mm512_maskz_loadu_ps
#define VADD _mm512_add_ps
#define VREDUCE _mm512_reduce_add_ps
#define VIDX int32_t
#define VPERM2 _mm512_permutex2var_ps
#include "conv_impl.h"
#undef T
#undef SFX
#undef GEMM
#undef WINO_INPUT_FAST
#undef WINO_OUTPUT_ROWS
#undef VEC
#undef VMASK
#undef VLANES
#undef VSET1
#undef VLOADU
#undef VFMA
#undef VSTOREM
#undef VSTOREU
#undef VMASKZ_LOADU
#undef VADD
#undef VREDUCE
#undef VIDX
#undef VPERM2

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
#define VSTOREU _mm512_storeu_pd
#define VMASKZ_LOADU _mm512_maskz_loadu_pd
#define VADD _mm512_add_pd
#define VREDUCE _mm512_reduce_add_pd
#define VIDX int64_t
#define VPERM2 _mm512_permutex2var_pd
#include "conv_impl.h"
#undef T
#undef SFX
#undef GEMM
