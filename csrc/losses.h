/* losses.h — mini-batch losses and their gradients (seed sections 1, 9, 13, 14). */
#ifndef DLK_LOSSES_H
#define DLK_LOSSES_H
#include "dlk.h"

enum { DLK_LOSS_MSE = 0, DLK_LOSS_BCE = 1, DLK_LOSS_BCE_LOGITS = 2 };

/* Element-wise losses over n values of a batch of B rows: *loss = (1/B) Σ ℓ(a_i, y_i),
 * grad_i = (1/B) ∂ℓ/∂a_i.  kind: DLK_LOSS_MSE ℓ = (a − y)²; DLK_LOSS_BCE
 * ℓ = −[y ln a + (1 − y) ln(1 − a)]; DLK_LOSS_BCE_LOGITS the same with a = σ(z),
 * computed as max(z, 0) − z y + ln(1 + e^−|z|). */
int dlk_loss_f32(int kind, int64_t B, int64_t n, const float *a, const float *y,
                 float *grad, double *loss, int nthreads);
int dlk_loss_f64(int kind, int64_t B, int64_t n, const double *a, const double *y,
                 double *grad, double *loss, int nthreads);
/* Cross-entropy of (B, C) logits against integer labels: *loss = −(1/B) Σ ln p_{i,y_i},
 * grad = (softmax − onehot) / B. */
int dlk_cross_entropy_f32(int64_t B, int64_t C, const float *z, const int64_t *labels,
                          float *grad, double *loss, int nthreads);
int dlk_cross_entropy_f64(int64_t B, int64_t C, const double *z, const int64_t *labels,
                          double *grad, double *loss, int nthreads);
/* (N, T, D): (1/N) Σ_i (1/T_i) Σ_{t<T_i} ‖a_it − y_it‖²; zero gradient past T_i. */
int dlk_sequence_mse_f32(int64_t N, int64_t T, int64_t D, const float *a, const float *y,
                         const int64_t *lengths, float *grad, double *loss, int nthreads);
int dlk_sequence_mse_f64(int64_t N, int64_t T, int64_t D, const double *a, const double *y,
                         const int64_t *lengths, double *grad, double *loss, int nthreads);
#endif
