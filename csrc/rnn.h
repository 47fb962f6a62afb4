/* rnn.h — the single-layer RNN of seed section 4, the LSTM, and their BPTT.
 *
 * Entries are dtype-tagged: dtype is DLK_F32 or DLK_F64 (dlk.h) and types every void
 * pointer; rnn.c routes them to the float and double instantiations of
 * rnn_impl.h. */
#ifndef DLK_RNN_H
#define DLK_RNN_H
#include "dlk.h"

/* x (B, T, D), h0 (B, H), W (H, H), U (H, D), b (H) or NULL, lengths (B) in [1, T];
 * relu = 0: tanh, 1: ReLU.  hs (B, T, H) out.  tw, tu = 1: W, U are stored transposed
 * (row-major Wᵀ (H, H), Uᵀ (D, H)), as the (in, out) weights of NumPy code are. */
int dlk_rnn_forward(int dtype, int64_t B, int64_t Tn, int64_t D, int64_t H, const void *x,
                    const void *h0, const void *W, int tw, const void *U, int tu,
                    const void *b, const int64_t *lengths, int relu, void *hs,
                    const dlk_stop_flag *stop, int nthreads);
/* Gradients from dhs (B, T, H): dx (B, T, D), dh0 (B, H), dW, dU, db; dW and dU are
 * stored as W and U are (tw, tu).  Workspace: two (B, T, H) buffers and two (B, H)
 * ones. */
int dlk_rnn_backward(int dtype, int64_t B, int64_t Tn, int64_t D, int64_t H, const void *dhs,
                     const void *x, const void *hs, const void *h0, const void *W, int tw,
                     const void *U, int tu, const int64_t *lengths, int relu, void *dx,
                     void *dh0, void *dW, void *dU, void *db, const dlk_stop_flag *stop,
                     int nthreads);
/* LSTM, gates stacked (i, f, g, o): W (4H, H), U (4H, D), b (4H) or NULL; hs, cs out
 * (B, T, H); gates out (B, T, 4H), every step's gate values, or NULL.  tw, tu: W, U
 * stored transposed, as for the RNN.  Workspace: (B, T, 4H). */
int dlk_lstm_forward(int dtype, int64_t B, int64_t Tn, int64_t D, int64_t H, const void *x,
                     const void *h0, const void *c0, const void *W, int tw, const void *U,
                     int tu, const void *b, const int64_t *lengths, void *hs, void *cs,
                     void *gates, const dlk_stop_flag *stop, int nthreads);
/* Gradients from dhs (B, T, H) and dc_last (B, H) or NULL: dx, dh0, dc0, dW, dU, db,
 * dW and dU stored as W and U are; gates: the forward's, or NULL to recompute them.
 * Workspace: (B, T, 5H + D) and three (B, H). */
int dlk_lstm_backward(int dtype, int64_t B, int64_t Tn, int64_t D, int64_t H, const void *dhs,
                      const void *x, const void *hs, const void *cs, const void *h0,
                      const void *c0, const void *W, int tw, const void *U, int tu,
                      const void *b, const void *gates, const int64_t *lengths,
                      const void *dc_last, void *dx, void *dh0, void *dc0, void *dW,
                      void *dU, void *db, const dlk_stop_flag *stop, int nthreads);
#endif
