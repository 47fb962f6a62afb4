/* attention.c — fused scaled dot-product attention (seed section 5).
 *
 * Forward (flash-style): one item per (head, block of BQ queries), items spread over
 * the threads (dynamic schedule: causal items differ in length).  An item walks the
 * key blocks of BK keys: S = scale·Q Kᵀ by one GEMM, masks, then the online softmax —
 * keep the running max m and sum l per query; when the max grows, rescale l and the
 * output accumulator by e^(m_old − m_new) (the log-sum-exp identity), then add this
 * tile's e^(S − m) and P·V (one GEMM).  out = acc / l, lse = m + log l.  Causal key
 * blocks wholly in the future are skipped.  The T_q × T_k matrix never exists: the
 * workspace is one BQ × BK tile and one BQ × d_v accumulator per thread.
 * Backward: P is recomputed from q, k and lse; dP = dO Vᵀ, dS = P ∘ (dP − D),
 * D = rowsum(dO ∘ O).  With at least as many heads as threads, each head has one
 * owner that walks its tiles once, adding Pᵀ dO to dV, scale·dSᵀ Q to dK and scale·dS K
 * to dQ.  With fewer heads, two passes split a head: pass 1 gives each (head, key
 * block) to one thread for dV and dK, pass 2 each (head, query block) for dQ, at the
 * price of computing P and dP twice.  Either way every accumulator has one owner and
 * a fixed order: no atomics.  Both ways add the same products to each accumulator
 * in the same order (query blocks, then key blocks, ascending), so the bits are the
 * same at any thread count, whichever way is taken.  Extra memory: D (one value per
 * query) and a few tiles per thread — linear in T.
 * GEMMs run on one BLAS thread each, inside the parallel loop.
 * On AVX-512 and AVX2 CPUs the float passes without a boolean mask take
 * attention_lanes_impl.h instead (attention_avx512.c, attention_avx2.c): the same tiles
 * and the same online softmax, with the queries across the lanes and the products in
 * registers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "attention.h"
#include "gemm.h"
#include "dlk_math.h"

/* Query and key block sizes (the tile is BQ × BK). */
#define BQ 64
#define BK 128

#define DLK_BODY "attention_impl.h"
#include "instantiate.h"

/* The dtype-tagged entries of attention.h. */
int dlk_attention(int dtype, const dlk_attention_shape *s, const void *q, const void *k,
                  const void *v, void *out, void *lse, const dlk_stop_flag *stop, int nthreads)
{
    /* whichever path runs: a caller's threadpool_limits must not stay on the engine */
    dlk_gemm_hold_one_thread();
    if (dtype == DLK_F64) return dlk_attention_f64(s, q, k, v, out, lse, stop, nthreads);
#ifdef DLK_HAVE_AVX512_LOOPS     /* and the AVX2 ones: x86-64 with GCC or Clang */
    if (dlk_attention_avx512_fits(s))
        return dlk_attention_avx512_f32(s, q, k, v, out, lse, stop, nthreads);
    if (dlk_attention_avx2_fits(s))
        return dlk_attention_avx2_f32(s, q, k, v, out, lse, stop, nthreads);
#endif
    return dlk_attention_f32(s, q, k, v, out, lse, stop, nthreads);
}

int dlk_attention_backward(int dtype, const dlk_attention_shape *s, const void *dout,
                           const void *q, const void *k, const void *v, const void *out,
                           const void *lse, void *dq, void *dk, void *dv,
                           const dlk_stop_flag *stop, int nthreads)
{
    dlk_gemm_hold_one_thread();
    if (dtype == DLK_F64)
        return dlk_attention_backward_f64(s, dout, q, k, v, out, lse, dq, dk, dv, stop, nthreads);
#ifdef DLK_HAVE_AVX512_LOOPS
    int avx512 = dlk_attention_backward_avx512_fits(s);
    if (avx512 || dlk_attention_backward_avx2_fits(s)) {
        float *D = rowsum_dout_out_f32(s, dout, out, nthreads);
        if (!D) return DLK_ENOMEM;
        int st = avx512 ? dlk_attention_backward_avx512_f32(s, dout, q, k, v, lse, D, dq, dk,
                                                            dv, stop, nthreads)
                        : dlk_attention_backward_avx2_f32(s, dout, q, k, v, lse, D, dq, dk, dv,
                                                          stop, nthreads);
        dlk_scratch_give(D);
        return st;
    }
#endif
    return dlk_attention_backward_f32(s, dout, q, k, v, out, lse, dq, dk, dv, stop, nthreads);
}
