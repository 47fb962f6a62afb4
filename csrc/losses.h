/* losses.h — mini-batch losses and their gradients (seed sections 1, 9, 13, 14).
 *
 * Entries are dtype-tagged: dtype is DLK_F32 or DLK_F64 (dlk.h) and types every void
 * pointer; losses.c routes them to the float and double instantiations of
 * losses_impl.h. */
#ifndef DLK_LOSSES_H
#define DLK_LOSSES_H
#include "dlk.h"

enum { DLK_LOSS_MSE = 0, DLK_LOSS_BCE = 1, DLK_LOSS_BCE_LOGITS = 2 };

/* Element-wise losses over n values of a batch of B rows: *loss = (1/B) Σ ℓ(a_i, y_i),
 * grad_i = (1/B) ∂ℓ/∂a_i.  kind: DLK_LOSS_MSE ℓ = (a − y)²; DLK_LOSS_BCE
 * ℓ = −[y ln a + (1 − y) ln(1 − a)]; DLK_LOSS_BCE_LOGITS the same with a = σ(z),
 * computed as max(z, 0) − z y + ln(1 + e^−|z|). */
int dlk_loss(int dtype, int kind, int64_t B, int64_t n, const void *a, const void *y,
             void *grad, double *loss, int nthreads);
/* Cross-entropy of (B, C) logits against integer labels: *loss = −(1/B) Σ ln p_{i,y_i},
 * grad = (softmax − onehot) / B. */
int dlk_cross_entropy(int dtype, int64_t B, int64_t C, const void *z, const int64_t *labels,
                      int has_ignore, int64_t ignore, void *grad, double *loss, int nthreads);
/* (N, T, D): (1/N) Σ_i (1/T_i) Σ_{t<T_i} ‖a_it − y_it‖²; zero gradient past T_i. */
int dlk_sequence_mse(int dtype, int64_t N, int64_t Tn, int64_t D, const void *a, const void *y,
                     const int64_t *lengths, void *grad, double *loss, int nthreads);
#endif
