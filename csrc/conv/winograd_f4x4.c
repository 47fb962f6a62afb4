/* conv/winograd_f4x4.c — Winograd F(4×4, 3×3): the forward pass and dX of 3×3 stride-1
 * convolutions on wider planes with more channels (36 products per 16 outputs against
 * F(2×2)'s 64).  Loops: winograd_f4x4_impl.h.  It has no dW pass: F(2×2) takes that. */
#include "conv/internal.h"

/* Rows of at least WINO4_MIN_WO outputs and C·O at least WINO4_MIN_CO.  Measured at one
 * thread on an AMD EPYC (Zen 5) with the thresholds lowered, F(2×2) against F(4×4) µs:
 * 64×32×14² → 64: 1,541 / 2,121;  64×32×16² → 32: 1,108 / 1,452;  16×32×24² → 32:
 * 608 / 669;  16×32×28² → 32: 797 / 750;  16×64×20² → 64: 1,599 / 1,416;  64×16×8² → 32:
 * 136 / 488.  Its larger transforms pay only where rows are wide and products big. */
#ifndef WINO4_MIN_WO
#define WINO4_MIN_WO 20
#endif
#ifndef WINO4_MIN_CO
#define WINO4_MIN_CO 2048
#endif

/* How to cut the batch into items whose V and M fit `slot`: nb whole samples an item
 * (about WINO_TILES tiles), or one sample's blocks of *rows tile rows; 0: not even one
 * tile row fits. */
static int wino4_plan(const dlk_conv_shape *s, int64_t slot, int64_t elsize, int64_t *nb,
                      int64_t *rows)
{
    const int64_t pl = (s->Wo + 3) / 4 + 1, th_n = (s->Ho + 3) / 4;
    int64_t fit = slot / (36 * (s->C + s->O) * pl * elsize);
    if (fit < 1) return 0;
    *nb = 1;
    *rows = fit < th_n ? fit : th_n;
    if (fit >= th_n) {
        int64_t want = (WINO_TILES + th_n * pl - 1) / (th_n * pl);
        *nb = fit / th_n < want ? fit / th_n : want;
        if (*nb > s->B) *nb = s->B;
    }
    return 1;
}

int dlk_conv_winograd_f4x4_fits(const dlk_conv_problem *p, int pass, dlk_conv_blocking *blk,
                                const char **why)
{
    if (pass == DLK_CONV_DW) {
        *why = "no dW pass";
        return 0;
    }
    dlk_conv_shape t;
    if (!dlk_conv_winograd_shape(p, pass, &t, why)) return 0;
    if (t.Wo < WINO4_MIN_WO || t.C * t.O < WINO4_MIN_CO) {
        *why = "rows under 20 outputs or C*O under 2048: F(2x2) is faster there";
        return 0;
    }
    /* its 36 transformed filters (2.25× F(2×2)'s) within a quarter of the workspace, so
     * that the tiles keep room: 256 × 256 channels take 9.4 MB */
    if (36 * t.C * t.O * p->elsize > p->workspace / 4) {
        *why = "its transformed filters exceed a quarter of the workspace";
        return 0;
    }
    if (!wino4_plan(&t, dlk_conv_slot(p, 1), p->elsize, &blk->nb, &blk->rows)) {
        *why = "one row of transformed tiles exceeds the workspace slot";
        return 0;
    }
    return 1;
}

#define DLK_BODY "conv/winograd_f4x4_impl.h"
#include "instantiate.h"
