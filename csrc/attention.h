/* attention.h — fused scaled dot-product attention (seed section 5), forward and
 * backward, without the T_q × T_k score matrix.
 *
 * Entries are dtype-tagged: dtype is DLK_F32 or DLK_F64 (dlk.h) and types every void
 * pointer; attention.c routes them to the float and double instantiations of
 * attention_impl.h. */
#ifndef DLK_ATTENTION_H
#define DLK_ATTENTION_H
#include "dlk.h"

/* The backward pass's threads: one per ATTN_BWD_GRAIN multiply-adds of the score
 * products, B·h·Tq·Tk·(dk + dv); below two grains it stays on one thread (B1 h1 T4 d8
 * split on two beside a busy process: 12.6 ms against 11 µs on one). */
#define ATTN_BWD_GRAIN ((int64_t)1 << 16)

/* BH independent heads; q (BH, Tq, dk), k (BH, Tk, dk), v (BH, Tk, dv), contiguous.
 * mask: NULL, or uint8 (·, Tq, Tk) with head h's matrix at mask + h · mask_stride
 * (stride 0: one matrix for every head); nonzero = attend.  causal: query i sees keys
 * j <= i + causal_offset (0: the diagonal top-left; Tk − Tq: bottom-right).  out (BH, Tq, dv), lse (BH, Tq): log Σ exp of the visible scaled scores;
 * a query that sees no key gets out 0 and lse −inf. */
typedef struct {
    int64_t BH, Tq, Tk, dk, dv;
    double scale;
    int causal;
    int64_t causal_offset;
    const uint8_t *mask;
    int64_t mask_stride;
} dlk_attention_shape;

int dlk_attention(int dtype, const dlk_attention_shape *s, const void *q, const void *k,
                  const void *v, void *out, void *lse, const dlk_stop_flag *stop, int nthreads);
/* dq, dk, dv from dout, recomputing the probabilities from q, k and lse. */
int dlk_attention_backward(int dtype, const dlk_attention_shape *s, const void *dout,
                           const void *q, const void *k, const void *v, const void *out,
                           const void *lse, void *dq, void *dk, void *dv,
                           const dlk_stop_flag *stop, int nthreads);

/* Float attention with the queries across a vector's lanes (attention_lanes_impl.h),
 * compiled for AVX-512 (attention_avx512.c) and for AVX2 + FMA (attention_avx2.c);
 * dlk_attention takes the first whose fits says so: this CPU has the instruction set
 * (the AVX2 ones only where the AVX-512 ones do not run), no boolean mask, and enough
 * queries (T_q >= 16, or >= 2 for d_k <= 24); the backward fits also asks for d_k and
 * d_v multiples of the lanes.  D = rowsum(dO ∘ O) per query.  Defined where
 * DLK_HAVE_AVX512_LOOPS (dlk.h) is. */
int dlk_attention_avx512_fits(const dlk_attention_shape *s);
int dlk_attention_avx512_f32(const dlk_attention_shape *s, const float *q, const float *k,
                             const float *v, float *out, float *lse, const dlk_stop_flag *stop,
                             int nthreads);
int dlk_attention_backward_avx512_fits(const dlk_attention_shape *s);
int dlk_attention_backward_avx512_f32(const dlk_attention_shape *s, const float *dout,
                                      const float *q, const float *k, const float *v,
                                      const float *lse, const float *D, float *dq,
                                      float *dk_out, float *dv_out, const dlk_stop_flag *stop,
                                      int nthreads);
int dlk_attention_avx2_fits(const dlk_attention_shape *s);
int dlk_attention_avx2_f32(const dlk_attention_shape *s, const float *q, const float *k,
                           const float *v, float *out, float *lse, const dlk_stop_flag *stop,
                           int nthreads);
int dlk_attention_backward_avx2_fits(const dlk_attention_shape *s);
int dlk_attention_backward_avx2_f32(const dlk_attention_shape *s, const float *dout,
                                    const float *q, const float *k, const float *v,
                                    const float *lse, const float *D, float *dq,
                                    float *dk_out, float *dv_out, const dlk_stop_flag *stop,
                                    int nthreads);
#endif
