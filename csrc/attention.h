/* attention.h — fused scaled dot-product attention (seed section 5), forward and
 * backward, without the T_q × T_k score matrix. */
#ifndef DLK_ATTENTION_H
#define DLK_ATTENTION_H
#include "dlk.h"

/* BH independent heads; q (BH, Tq, dk), k (BH, Tk, dk), v (BH, Tk, dv), contiguous.
 * mask: NULL, or uint8 (·, Tq, Tk) with head h's matrix at mask + h · mask_stride
 * (stride 0: one matrix for every head); nonzero = attend.  causal: query i sees keys
 * j <= i.  out (BH, Tq, dv), lse (BH, Tq): log Σ exp of the visible scaled scores;
 * a query that sees no key gets out 0 and lse −inf. */
typedef struct {
    int64_t BH, Tq, Tk, dk, dv;
    double scale;
    int causal;
    const uint8_t *mask;
    int64_t mask_stride;
} dlk_attention_shape;

int dlk_attention_f32(const dlk_attention_shape *s, const float *q, const float *k,
                      const float *v, float *out, float *lse,
                      const dlk_stop_flag *stop, int nthreads);
int dlk_attention_f64(const dlk_attention_shape *s, const double *q, const double *k,
                      const double *v, double *out, double *lse,
                      const dlk_stop_flag *stop, int nthreads);
/* dq, dk, dv from dout, recomputing the probabilities from q, k and lse. */
int dlk_attention_backward_f32(const dlk_attention_shape *s, const float *dout,
                               const float *q, const float *k, const float *v,
                               const float *out, const float *lse, float *dq, float *dk,
                               float *dv, const dlk_stop_flag *stop, int nthreads);
int dlk_attention_backward_f64(const dlk_attention_shape *s, const double *dout,
                               const double *q, const double *k, const double *v,
                               const double *out, const double *lse, double *dq, double *dk,
                               double *dv, const dlk_stop_flag *stop, int nthreads);
#endif
