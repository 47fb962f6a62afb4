/* rnn.c — single-layer RNN forward and backprop through time (seed section 4).
 *
 * Forward: the input projection x Uᵀ of all steps is one product before the loop,
 * written into hs; the loop then adds h_{t−1} Wᵀ and b and applies f in place.  The
 * loop stays serial in time; inside a step the H state units are split over the
 * threads of one parallel region that lives for the whole sequence (a barrier per
 * step), each thread multiplying its slice of W on one BLAS thread.
 * Backward: the δ recursion runs the same way from the last step down, f′ read from
 * the stored h_t (1 − h² for tanh, 1(h > 0) for ReLU); then dW, dU, dx are one
 * product each over all steps, db a per-unit sum in double.  A frozen step (t ≥
 * lengths[i]) copies the state forward and passes its gradient back unchanged.
 * Workspace of the backward pass: two (B, T, H) arrays and two (B, H) rows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "rnn.h"
#include "gemm.h"
#include "dlk_math.h"

/* Multiply-adds of one step below which a second thread costs more than it brings. */
#define RNN_GRAIN ((int64_t)1 << 16)
/* Steps per parallel region, and rows per input-projection product, when a call may
 * be stopped by Ctrl-C (dlk.h): the stop flag is read between them, so that every
 * thread leaves at the same step. */
#define STOP_STEPS 64
#define STOP_ROWS ((int64_t)1 << 14)

#define T float
#define SFX f32
#define TANH dlk_tanhf
#define GEMM dlk_gemm_f32
#define GEMM_PAR dlk_gemm_par_f32
#include "rnn_impl.h"
#undef T
#undef SFX
#undef TANH
#undef GEMM
#undef GEMM_PAR

#define T double
#define SFX f64
#define TANH tanh
#define GEMM dlk_gemm_f64
#define GEMM_PAR dlk_gemm_par_f64
#include "rnn_impl.h"
#undef T
#undef SFX
#undef TANH
#undef GEMM
#undef GEMM_PAR
