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
 * Workspace of the backward pass: two (B, T, H) arrays and two (B, H) rows.
 * The LSTM runs the same way on four gate products per step (rnn_impl.h); its backward
 * pass recomputes the gates from hs and cs with two products over all steps. */
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

#define DLK_BODY "rnn_impl.h"
#include "instantiate.h"

/* The dtype-tagged entries of rnn.h. */
int dlk_rnn_forward(int dtype, int64_t B, int64_t Tn, int64_t D, int64_t H, const void *x,
                    const void *h0, const void *W, int tw, const void *U, int tu,
                    const void *b, const int64_t *lengths, int relu, void *hs,
                    const dlk_stop_flag *stop, int nthreads)
{
    return dtype == DLK_F64 ? dlk_rnn_forward_f64(B, Tn, D, H, x, h0, W, tw, U, tu, b, lengths,
                                                  relu, hs, stop, nthreads)
                            : dlk_rnn_forward_f32(B, Tn, D, H, x, h0, W, tw, U, tu, b, lengths,
                                                  relu, hs, stop, nthreads);
}

int dlk_rnn_backward(int dtype, int64_t B, int64_t Tn, int64_t D, int64_t H, const void *dhs,
                     const void *x, const void *hs, const void *h0, const void *W, int tw,
                     const void *U, int tu, const int64_t *lengths, int relu, void *dx,
                     void *dh0, void *dW, void *dU, void *db, const dlk_stop_flag *stop,
                     int nthreads)
{
    return dtype == DLK_F64
        ? dlk_rnn_backward_f64(B, Tn, D, H, dhs, x, hs, h0, W, tw, U, tu, lengths, relu, dx,
                               dh0, dW, dU, db, stop, nthreads)
        : dlk_rnn_backward_f32(B, Tn, D, H, dhs, x, hs, h0, W, tw, U, tu, lengths, relu, dx,
                               dh0, dW, dU, db, stop, nthreads);
}

int dlk_lstm_forward(int dtype, int64_t B, int64_t Tn, int64_t D, int64_t H, const void *x,
                     const void *h0, const void *c0, const void *W, int tw, const void *U,
                     int tu, const void *b, const int64_t *lengths, void *hs, void *cs,
                     void *gates, const dlk_stop_flag *stop, int nthreads)
{
    return dtype == DLK_F64 ? dlk_lstm_forward_f64(B, Tn, D, H, x, h0, c0, W, tw, U, tu, b,
                                                   lengths, hs, cs, gates, stop, nthreads)
                            : dlk_lstm_forward_f32(B, Tn, D, H, x, h0, c0, W, tw, U, tu, b,
                                                   lengths, hs, cs, gates, stop, nthreads);
}

int dlk_lstm_backward(int dtype, int64_t B, int64_t Tn, int64_t D, int64_t H, const void *dhs,
                      const void *x, const void *hs, const void *cs, const void *h0,
                      const void *c0, const void *W, int tw, const void *U, int tu,
                      const void *b, const void *gates, const int64_t *lengths,
                      const void *dc_last, void *dx, void *dh0, void *dc0, void *dW,
                      void *dU, void *db, const dlk_stop_flag *stop, int nthreads)
{
    return dtype == DLK_F64
        ? dlk_lstm_backward_f64(B, Tn, D, H, dhs, x, hs, cs, h0, c0, W, tw, U, tu, b, gates,
                                lengths, dc_last, dx, dh0, dc0, dW, dU, db, stop, nthreads)
        : dlk_lstm_backward_f32(B, Tn, D, H, dhs, x, hs, cs, h0, c0, W, tw, U, tu, b, gates,
                                lengths, dc_last, dx, dh0, dc0, dW, dU, db, stop, nthreads);
}
