/* rnn.h — the single-layer RNN of seed section 4 and its BPTT. */
#ifndef DLK_RNN_H
#define DLK_RNN_H
#include "dlk.h"

/* x (B, T, D), h0 (B, H), W (H, H), U (H, D), b (H) or NULL, lengths (B) in [1, T];
 * relu = 0: tanh, 1: ReLU.  hs (B, T, H) out. */
int dlk_rnn_forward_f32(int64_t B, int64_t T, int64_t D, int64_t H, const float *x,
                        const float *h0, const float *W, const float *U, const float *b,
                        const int64_t *lengths, int relu, float *hs,
                        const dlk_stop_flag *stop, int nthreads);
int dlk_rnn_forward_f64(int64_t B, int64_t T, int64_t D, int64_t H, const double *x,
                        const double *h0, const double *W, const double *U, const double *b,
                        const int64_t *lengths, int relu, double *hs,
                        const dlk_stop_flag *stop, int nthreads);
/* Gradients from dhs (B, T, H): dx (B, T, D), dh0 (B, H), dW, dU, db.  Workspace: two
 * (B, T, H) buffers and two (B, H) ones. */
int dlk_rnn_backward_f32(int64_t B, int64_t T, int64_t D, int64_t H, const float *dhs,
                         const float *x, const float *hs, const float *h0, const float *W,
                         const float *U, const int64_t *lengths, int relu, float *dx,
                         float *dh0, float *dW, float *dU, float *db,
                         const dlk_stop_flag *stop, int nthreads);
int dlk_rnn_backward_f64(int64_t B, int64_t T, int64_t D, int64_t H, const double *dhs,
                         const double *x, const double *hs, const double *h0, const double *W,
                         const double *U, const int64_t *lengths, int relu, double *dx,
                         double *dh0, double *dW, double *dU, double *db,
                         const dlk_stop_flag *stop, int nthreads);
#endif
