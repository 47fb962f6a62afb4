/* conv/plan.c — the convolution's entry points and its plan step.
 *
 * IMPLS is the ordered list of implementations; each pass (forward, dX, dW) is run by
 * the first whose fits() takes it, and a plan records why each one before it declined
 * (dlkern._native.conv.explain shows it).  The order is the measured preference: the
 * Winograd transforms where a 3×3 stride-1 problem has the channels for them (F(4×4)
 * before F(2×2) on wide rows), the direct AVX-512 loop where little input feeds each
 * output, the depthwise loops for groups = channels, and im2col + GEMM, which takes
 * anything, last.  Why each threshold has its
 * value is written beside it, in the implementation's own file. */
#include "conv/internal.h"

static const dlk_conv_impl IMPLS[] = {
    {"winograd_f4x4", "any", 0, dlk_conv_winograd_f4x4_fits,
     {dlk_conv_winograd_f4x4_run_f32, dlk_conv_winograd_f4x4_run_f64}},
    {"winograd_f2x2", "any", 0, dlk_conv_winograd_f2x2_fits,
     {dlk_conv_winograd_f2x2_run_f32, dlk_conv_winograd_f2x2_run_f64}},
    {"direct_avx512", "avx512", 1, dlk_conv_direct_avx512_fits,
     {dlk_conv_direct_avx512_run_f32, dlk_conv_direct_avx512_run_f64}},
    {"depthwise", "any", 0, dlk_conv_depthwise_fits,
     {dlk_conv_depthwise_run_f32, dlk_conv_depthwise_run_f64}},
    {"im2col_gemm", "any", 0, dlk_conv_im2col_gemm_fits,
     {dlk_conv_im2col_gemm_run_f32, dlk_conv_im2col_gemm_run_f64}},
};
#define NIMPLS ((int)(sizeof IMPLS / sizeof IMPLS[0]))
_Static_assert(NIMPLS <= DLK_CONV_IMPLS_MAX, "raise DLK_CONV_IMPLS_MAX");

int dlk_conv_impl_count(void) { return NIMPLS; }
const char *dlk_conv_impl_name(int i) { return i >= 0 && i < NIMPLS ? IMPLS[i].name : NULL; }
const char *dlk_conv_impl_isa(int i) { return i >= 0 && i < NIMPLS ? IMPLS[i].isa : NULL; }

/* Multiply-adds counted in grains of this size for dlk_team_threads (as the GEMM's
 * PAR_GRAIN): while the cores look shared, a convolution of fewer than 128 grains a
 * thread runs on one (B8 C3 16×16 → 8 3×3, Intel Xeon, a busy process beside it:
 * 18 µs on one thread, 1.1 ms on two). */
#define CONV_GRAIN ((int64_t)1 << 21)

static dlk_conv_problem problem(const dlk_conv_shape *s, int dtype, int64_t workspace,
                                int nthreads)
{
    int nt = nthreads < 1 ? 1 : nthreads;
    if (nt > 1) {
        const int64_t macs = s->B * s->O * s->Ho * s->Wo * (s->C / s->groups) * s->kh * s->kw;
        nt = dlk_team_threads(nt, macs / CONV_GRAIN);
    }
    dlk_conv_problem p = {*s, dtype, dtype == DLK_F64 ? 8 : 4, workspace, nt};
    return p;
}

static int plan_make(const dlk_conv_problem *p, unsigned passes, const int *force,
                     dlk_conv_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    for (int pass = 0; pass < DLK_CONV_PASSES; pass++) {
        plan->impl[pass] = -1;
        if (!(passes & (1u << pass))) continue;
        int want = force ? force[pass] : -1;
        if (want >= NIMPLS) return DLK_EINVAL;
        for (int i = want >= 0 ? want : 0; i < NIMPLS; i++) {
            const char *why = "declined";
            if (IMPLS[i].fits(p, pass, &plan->blk[pass], &why)) {
                plan->impl[pass] = i;
                break;
            }
            plan->why[pass][i] = why;
            if (want >= 0) return DLK_EINVAL;
        }
        if (plan->impl[pass] < 0) return DLK_EINVAL;   /* im2col_gemm takes all: never */
    }
    return DLK_OK;
}

int dlk_conv_plan_make(const dlk_conv_shape *s, int dtype, int64_t workspace, int nthreads,
                       unsigned passes, const int *force, dlk_conv_plan *plan)
{
    dlk_conv_problem p = problem(s, dtype, workspace, nthreads);
    return plan_make(&p, passes, force, plan);
}

/* Runs the plan's passes, each implementation once with all the passes it was given. */
static int run_plan(const dlk_conv_problem *p, const dlk_conv_plan *plan,
                    const dlk_conv_io *io)
{
    dlk_gemm_hold_one_thread();
    for (int i = 0; i < NIMPLS; i++) {
        unsigned mine = 0;
        for (int pass = 0; pass < DLK_CONV_PASSES; pass++)
            if (plan->impl[pass] == i) mine |= 1u << pass;
        if (!mine) continue;
        int st = IMPLS[i].run[p->dtype == DLK_F64](p, mine, plan->blk, io);
        if (st != DLK_OK) return st;
    }
    return DLK_STOPPED(io->stop) ? DLK_EINTR : DLK_OK;
}

int dlk_conv2d(const dlk_conv_shape *s, int dtype, const void *x, const void *w,
               const void *b, void *y, int64_t workspace, const int *force,
               const dlk_stop_flag *stop, int nthreads)
{
    dlk_conv_problem p = problem(s, dtype, workspace, nthreads);
    dlk_conv_plan plan;
    int st = plan_make(&p, 1u << DLK_CONV_FORWARD, force, &plan);
    if (st != DLK_OK) return st;
    dlk_conv_io io = {x, w, b, NULL, y, NULL, NULL, NULL, stop};
    return run_plan(&p, &plan, &io);
}

int dlk_conv2d_backward(const dlk_conv_shape *s, int dtype, const void *dy, const void *x,
                        const void *w, void *dx, void *dw, void *db, int64_t workspace,
                        const int *force, const dlk_stop_flag *stop, int nthreads)
{
    dlk_conv_problem p = problem(s, dtype, workspace, nthreads);
    dlk_conv_plan plan;
    int st = plan_make(&p, 1u << DLK_CONV_DX | 1u << DLK_CONV_DW, force, &plan);
    if (st != DLK_OK) return st;
    dlk_conv_io io = {x, w, NULL, dy, NULL, dx, dw, db, stop};
    st = run_plan(&p, &plan, &io);
    if (st != DLK_OK || IMPLS[plan.impl[DLK_CONV_DW]].fused_db) return st;
    if (dtype == DLK_F64) dlk_conv_bias_grad_f64(s, dy, db, p.nthreads);
    else dlk_conv_bias_grad_f32(s, dy, db, p.nthreads);
    return DLK_OK;
}

int dlk_im2col(const dlk_conv_shape *s, int dtype, const void *x, void *cols, int nthreads)
{
    return dtype == DLK_F64 ? dlk_im2col_f64(s, x, cols, nthreads)
                            : dlk_im2col_f32(s, x, cols, nthreads);
}

int dlk_col2im(const dlk_conv_shape *s, int dtype, const void *cols, void *x, int nthreads)
{
    return dtype == DLK_F64 ? dlk_col2im_f64(s, cols, x, nthreads)
                            : dlk_col2im_f32(s, cols, x, nthreads);
}
