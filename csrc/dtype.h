/* dtype.h — the names a type-generic *_impl.h body is written in, for one element type.
 *
 * Define DLK_F64 to 0 (float) or 1 (double), then include this header and the body; do
 * it again with the other value for the second instantiation.  Not include-guarded on
 * purpose: every inclusion redefines the names.
 *
 *   T        the element type               SFX   the name suffix: f32 or f64
 *   FN(x)    x with the suffix pasted on: FN(dlk_conv_im2col_forward_) is
 *            dlk_conv_im2col_forward_f32 or ..._f64 (each *_impl.h lists the names it makes)
 *   GEMM     the product split over the threads, engine at one thread (dlk_gemm_par_*)
 *   GEMM_ONE the product on the calling thread alone (dlk_gemm_*, gemm.h)
 *   DLK_SUM  Σ in double of that type (dlk.h)
 *   EXP LOG SQRT TANH FABS   the math of that type (float exp and tanh:
 *            dlk_math.h); EXP_NONPOS e^x for x <= 0 (softmax's shifted terms); NORMTAIL
 *            Φ(−|x|) and e^{−x²/2} (exact GELU) */
#undef T
#undef SFX
#undef GEMM
#undef GEMM_ONE
#undef DLK_SUM
#undef EXP
#undef EXP_NONPOS
#undef LOG
#undef SQRT
#undef TANH
#undef FABS
#undef NORMTAIL
#ifndef DLK_CAT
#define DLK_CAT_(a, b) a##b
#define DLK_CAT(a, b) DLK_CAT_(a, b)
#define FN(name) DLK_CAT(name, SFX)
#endif
#if DLK_F64
#define T double
#define SFX f64
#define GEMM dlk_gemm_par_f64
#define GEMM_ONE dlk_gemm_f64
#define DLK_SUM dlk_sum_f64
#define EXP exp
#define EXP_NONPOS exp
#define LOG log
#define SQRT sqrt
#define TANH tanh
#define FABS fabs
#define NORMTAIL dlk_normtail
#else
#define T float
#define SFX f32
#define GEMM dlk_gemm_par_f32
#define GEMM_ONE dlk_gemm_f32
#define DLK_SUM dlk_sum_f32
#define EXP dlk_expf
#define EXP_NONPOS dlk_expf_nonpos
#define LOG logf
#define SQRT sqrtf
#define TANH dlk_tanhf
#define FABS fabsf
#define NORMTAIL dlk_normtailf
#endif
