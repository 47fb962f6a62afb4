/* conv/winograd_f2x2.c — Winograd F(2×2, 3×3): 3×3 stride-1 convolutions with 16+
 * channels each way, forward, dX (as the forward pass of the flipped filters) and dW,
 * 2.25× fewer multiplications than im2col's product.  Loops: winograd_f2x2_impl.h;
 * AVX-512 transforms of small float planes: winograd_avx512.c. */
#include "conv/internal.h"

/* Planes whose rows have fewer tiles than this are transformed a whole plane at a time,
 * across all its tiles (wino_input_small_, wino_output_small_): a row of a 7×7 or 14×14
 * plane has 4 or 7 tiles, too few for a vector loop along it. */
#ifndef WINO_SMALL_ROW
#define WINO_SMALL_ROW 16
#endif
#define WINO_SMALL(s) (((s)->Wo + 1) / 2 < WINO_SMALL_ROW)
/* ... and from this many tiles a row, with a spare tile a row: one vector loop over the
 * plane's tiles reads its neighbours' columns without a bounds test */
#ifndef WINO_SPARE_MIN
#define WINO_SPARE_MIN 5
#endif
#define WINO_SPARE(s) (WINO_SMALL(s) && ((s)->Wo + 1) / 2 >= WINO_SPARE_MIN)
/* tiles a row of the transformed layout holds */
#define WINO_TILE_ROW(s) (((s)->Wo + 1) / 2 + (WINO_SPARE(s) ? 1 : 0))
/* 8×8 float planes with padding 1 in one chunk: dlk_conv_wino_input_8x8_avx512_f32 */
#define WINO_INPUT_8X8(s, th0, th1)                                                   \
    ((s)->H == 8 && (s)->W == 8 && (s)->Ho == 8 && (s)->Wo == 8 && (s)->ph == 1 &&    \
     (s)->pw == 1 && (th0) == 0 && (th1) == 4 && dlk_has_avx512())

/* How to cut the batch into chunks whose transformed tiles fit `slot` bytes: *nb
 * whole samples per chunk (aiming at GEMMs of about WINO_TILES columns), or, when one
 * sample does not fit, single samples in blocks of *rows tile rows.  0: not even one
 * row of tiles fits. */
static int wino_plan(const dlk_conv_shape *s, int64_t slot, int64_t elsize, int64_t *nb,
                     int64_t *rows)
{
    const int64_t tw_q = WINO_TILE_ROW(s), th_n = (s->Ho + 1) / 2;
    const int64_t per_row = 16 * (s->C + s->O) * tw_q * elsize;
    int64_t fit = slot / per_row;                       /* tile rows that fit */
    if (fit < 1) return 0;
    if (fit < th_n) {
        *nb = 1;
        *rows = fit;
        return 1;
    }
    *rows = th_n;
    *nb = fit / th_n;
    int64_t want = (WINO_TILES + th_n * tw_q - 1) / (th_n * tw_q);
    if (*nb > want) *nb = want;
    if (*nb > s->B) *nb = s->B;
    return 1;
}

/* Wide filters (C·O above WINO_WIDE_FILTERS: 16 transformed matrices of them no longer fit
 * a 2 MB L2) are transformed and streamed on every call, which few output positions do
 * not earn back.  Then im2col + GEMM takes the forward pass below C·O/32 output positions
 * (B·Ho·Wo) and dX and dW below WINO_WIDE_MIN_BWD.  3×3 "same", forward / dX + dW in ms,
 * F(2×2) against im2col + GEMM, Intel Xeon (family 6 model 167), 2 threads:
 *   C512 7²:  B1 20.5 / 29.5 against 4.0 / 16.8;   B4 19.2 / 48.5 against 4.3 / 48.2;
 *             B16 25.2 / 58.3 against 13.4 / 136.6; B64 58.7 / 143.8 against 53.5 / 215.0;
 *   C256 14²: B1 4.7 / 7.1 against 2.1 / 6.5;      B8 8.9 / 15.1 against 7.7 / 38.1;
 *   C256 28²: B2 7.8 / 14.5 against 6.9 / 18.9;    B4 12.7 / 24.0 against 14.3 / 38.7;
 *   C128 14² (C·O 16384, not wide): B1 1.1 / 1.7 against 3.5 / 5.1. */
#define WINO_WIDE_FILTERS 32768
#define WINO_WIDE_MIN_BWD 256

int dlk_conv_winograd_f2x2_fits(const dlk_conv_problem *p, int pass, dlk_conv_blocking *blk,
                                const char **why)
{
    dlk_conv_shape t;
    if (!dlk_conv_winograd_shape(p, pass, &t, why)) return 0;
    const dlk_conv_shape *s = &p->s;
    if (s->C * s->O > WINO_WIDE_FILTERS &&
        s->B * s->Ho * s->Wo < (pass == DLK_CONV_FORWARD ? s->C * s->O / 32 : WINO_WIDE_MIN_BWD)) {
        *why = "C*O over 32768 with few output positions (forward: under C*O/32, dX and dW: "
               "under 256): the filter transform dominates";
        return 0;
    }
    if (!wino_plan(&t, dlk_conv_slot(p, 1), p->elsize, &blk->nb, &blk->rows)) {
        *why = "one row of transformed tiles exceeds the workspace slot";
        return 0;
    }
    return 1;
}

#define DLK_BODY "conv/winograd_f2x2_impl.h"
#include "instantiate.h"
