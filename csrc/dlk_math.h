/* dlk_math.h — exp, log, tanh and the normal tail for float, written to vectorise
 * inside `omp simd` loops.
 *
 * libm's expf/tanhf are scalar calls (tanhf about 20 ns here, which made the RNN's
 * forward pass slower than its backward).  These are branch-free, so the compiler
 * turns a loop of them into vector code; accuracy: a few ulp (measured against libm
 * in tests/test_native.py).  Double precision keeps libm. */
#ifndef DLK_MATH_H
#define DLK_MATH_H
#include <math.h>
#include <stdint.h>
#include <string.h>

/* e^x = 2^k · e^r with k = round(x / ln 2) and |r| <= ln2 / 2 (ln 2 split in two parts
 * so that k · ln 2 is exact to float precision); e^r by its Taylor series to r^6
 * (truncation error below 1.2e-7 relative); 2^k as two factors built in the exponent
 * bits, so that results down in the subnormal range come out right.  x is clamped to
 * [-104, 88.7] (below, e^x is 0 in float; above, inf); NaN stays NaN. */
#pragma omp declare simd notinbranch
static inline float dlk_expf(float x)
{
    float xc = x < -104.0f ? -104.0f : (x > 88.7f ? 88.7f : x);
    /* round to nearest by adding and removing 1.5 · 2^23 (rintf would be a libm call
     * on baseline x86-64 and stop the loop from vectorising) */
    float k = (xc * 1.44269504f + 12582912.0f) - 12582912.0f;
    float r = xc - k * 0.693145752f - k * 1.42860677e-6f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.66666672e-1f + r * (4.16666679e-2f +
              r * (8.33333377e-3f + r * 1.38888892e-3f)))));
    int32_t k1 = (int32_t)k / 2, k2 = (int32_t)k - k1;
    int32_t b1 = (k1 + 127) << 23, b2 = (k2 + 127) << 23;
    float s1, s2;
    memcpy(&s1, &b1, sizeof s1);
    memcpy(&s2, &b2, sizeof s2);
    float y = x > 88.7f ? INFINITY : p * s1 * s2;
    return x != x ? x : y;
}

/* e^x for |x| <= 87 and not NaN, the arguments tanh and the normal tail make below:
 * dlk_expf without the clamps, the NaN and overflow selects and the second 2^k factor, which
 * only the subnormal results need (float tanh, AMD EPYC Zen 3, one thread: 1.58 → 1.12 ms
 * for 10^6 values; exact GELU 1.78 → 1.50 ms). */
#pragma omp declare simd notinbranch
static inline float dlk_expf_mid(float x)
{
    float k = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
    float r = x - k * 0.693145752f - k * 1.42860677e-6f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.66666672e-1f + r * (4.16666679e-2f +
              r * (8.33333377e-3f + r * 1.38888892e-3f)))));
    int32_t b = ((int32_t)k + 127) << 23;
    float s;
    memcpy(&s, &b, sizeof s);
    return p * s;
}

/* e^x for x <= 0 (or NaN): the shifted exponentials of softmax and cross-entropy,
 * x_i − max.  dlk_expf_mid (one 2^k factor) clamped, and 0 below −87 (e^−87 =
 * 1.6e-38), where dlk_expf goes on into subnormal results: on Intel cores a subnormal
 * product takes a microcode assist, and next to the row's largest term, 1, it is below
 * float's resolution anyway.  −inf gives 0; NaN stays NaN (through r, with no select
 * of its own), so a row with a NaN still sums to NaN.  Softmax 800×1004 and 16×50,000
 * in place of dlk_expf and a NaN test, Intel Xeon, 2 threads: 312-339 → 209-243 µs and
 * 263-294 → 183-207 µs. */
#pragma omp declare simd notinbranch
static inline float dlk_expf_nonpos(float x)
{
    return x < -87.0f ? 0.0f : dlk_expf_mid(x < -87.0f ? -87.0f : x);
}

/* tanh x: for |x| < 0.4 its odd Taylor series to x^11 (truncation below 1e-7
 * relative); beyond, 1 − 2 / (e^{2|x|} + 1) with the sign of x, |x| capped at 9 where
 * tanh is 1 to float precision.  NaN stays NaN. */
#pragma omp declare simd notinbranch
static inline float dlk_tanhf(float x)
{
    float ax = fabsf(x);
    float a = ax < 9.0f ? ax : 9.0f;
    float big = 1.0f - 2.0f / (dlk_expf_mid(2.0f * a) + 1.0f);
    float x2 = x * x;
    float small = x * (1.0f + x2 * (-3.33333343e-1f + x2 * (1.33333340e-1f +
                  x2 * (-5.39682545e-2f + x2 * (2.18694881e-2f + x2 * -8.86323569e-3f)))));
    float y = ax < 0.4f ? small : copysignf(big, x);
    return x != x ? x : y;
}

/* Φ(−|x|), the normal distribution's tail (exact GELU's Φ(x) is it or 1 minus it), and
 * e^{−x²/2} in *g (GELU's derivative needs φ(x) too): Φ(−|x|) = ½ erfc(a) = e^{−a²} R(a)
 * with a = |x|/√2, R of degree 12 in u = a/2 − 1, a least-squares fit to ½ e^{a²}
 * erfc(a) on 0 <= a <= 4 weighted by e^{−a²} and reweighted towards the smallest largest
 * error; beyond a = 4 both are 0 (Φ(−4√2) = 7.7e-9).  Measured in float on 2·10⁶ points
 * of [−8, 8]: the tail within 1.1e-7 absolute, GELU within 1.0e-7 · max(|x|, 1).  One
 * exponential and one polynomial, where an erf in two pieces computed both and selected
 * (exact GELU, 10⁶ values, Intel Xeon, one thread: 0.55 ms that way).  NaN gives 0 and a
 * finite *g: the caller's factor x carries the NaN. */
static inline float dlk_normtailf(float x, float *g)
{
    float ax = fabsf(x), a = ax < 5.65685425f ? ax : 5.65685425f;
    float u = a * 0.353553391f - 1.0f;
    float r = 0.127698019f + u * (-0.106797732f + u * (0.0835652947f +
              u * (-0.0619768985f + u * (0.0440193079f + u * (-0.02611899f +
              u * (0.0221359059f + u * (-0.0224024598f + u * (-0.0199823305f +
              u * (-0.0157989506f + u * (0.0296163298f + u * (0.0354894437f +
              u * 0.0153418845f)))))))))));
    float e = dlk_expf_mid(-0.5f * a * a);
    int in = ax <= 5.65685425f;
    *g = in ? e : 0.0f;
    return in ? e * r : 0.0f;
}

/* the same in double, from libm */
static inline double dlk_normtail(double x, double *g)
{
    *g = exp(-0.5 * x * x);
    return 0.5 * erfc(fabs(x) * 0.70710678118654752);
}

/* ln x: x = 2^k · m with m in [√½, √2), ln m = 2 atanh t with t = (m − 1)/(m + 1),
 * |t| <= 0.172, by its odd series to t^9 (truncation below 3e-9 relative); k · ln 2 in
 * two parts as in dlk_expf.  Subnormal x is scaled by 2^23 first; ln 0 = −inf,
 * ln +inf = +inf, negative x and NaN give NaN. */
#pragma omp declare simd notinbranch
static inline float dlk_logf(float x)
{
    const int sub = x < 1.17549435e-38f;
    float xs = sub ? x * 8388608.0f : x;
    uint32_t u;
    memcpy(&u, &xs, sizeof u);
    int32_t k = (int32_t)(u - 0x3f3504f3u) >> 23;      /* m = x / 2^k in [√½, √2) */
    uint32_t mu = u - ((uint32_t)k << 23);
    float m;
    memcpy(&m, &mu, sizeof m);
    float t = (m - 1.0f) / (m + 1.0f), t2 = t * t;
    float p = t2 * (0.666666667f + t2 * (0.4f + t2 * (0.285714286f + t2 * 0.222222222f)));
    float kf = (float)k - (sub ? 23.0f : 0.0f);
    float y = kf * 0.693145752f + (2.0f * t + (t * p + kf * 1.42860677e-6f));
    y = x == 0.0f ? -INFINITY : y;
    y = x == INFINITY ? x : y;
    return x >= 0.0f ? y : NAN;
}

/* ln(1 + e) for e in [0, 1] (the softplus term e = e^{−|z|}): 2 atanh s with
 * s = e / (2 + e) <= 1/3, its odd series to s^15 (truncation below 2e-8 relative),
 * exact for tiny e where ln(1 + e) computed as written would round 1 + e to 1. */
#pragma omp declare simd notinbranch
static inline float dlk_log1pf_unit(float e)
{
    float s = e / (2.0f + e), s2 = s * s;
    float p = s2 * (0.333333333f + s2 * (0.2f + s2 * (0.142857143f + s2 * (0.111111111f +
              s2 * (0.0909090909f + s2 * (0.0769230769f + s2 * 0.0666666667f))))));
    return 2.0f * s + 2.0f * s * p;
}
#endif
