/* GELU constants and method, shared by every ISA's kernels so that they all compute the same
 * floats (the SIMD kernels equal the portable one bit for bit: the same fused multiply-adds in
 * the same order).
 *
 * exact:  y = x * Phi(x), Phi(x) = erfc(-x / sqrt2) / 2. With z = |x| / sqrt2,
 *   erfc(z) = erfcx(z) * e^(-x^2 / 2), erfcx(z) ~ t * R(t), t = 1 / (1 + GELU_P z), R of degree
 *   9 (relative error 4e-9 for z in [0, 10.6]); then Phi = tail for x < 0 and 1 - tail for
 *   x >= 0, tail = erfc(z) / 2 <= 1/2: neither side cancels, so one formula serves all x.
 *   x^2 is split exactly into h + l with one fma, so that e^(-x^2 / 2) is not spoiled by the
 *   rounding of x^2 (which an argument near -100 would magnify 100 times).
 * approximate (tanh form): 0.5 x (1 + tanh u) = x * sigmoid(2u), 2u = x (C1 + C2 x^2), C1 =
 *   2 sqrt(2/pi), C2 = 0.044715 C1: no cancellation for negative x; e^(-|2u|) as below.
 *
 * e^t for -128 < t <= 0: t = n ln2 + r (Cody-Waite), e^r = 1 + r + r^2 E(r) = mant, and the
 * result is mant (times whatever else) scaled by 2^n last, rounded once (ldexpf; vscalefps; or
 * 2^(n >> 1) exactly, then 2^(n - (n >> 1)) rounding once), so that a result below the normal
 * range becomes the nearest subnormal rather than zero.
 *
 * Inputs are clamped to +-GELU_XMAX (exact) / +-GELU_TANH_XMAX (tanh form) before any
 * arithmetic, beyond which both forms round to x (above) or to -0 (below); the result is then
 * the input itself times the clamped Phi, so +inf -> +inf, -inf -> -0 (the limit), NaN -> NaN.
 * Accuracy against double-precision math (tests/test_kernels_elementwise.py): exact form
 * within 7 ulp wherever the result is a normal float (the worst near x = -1.8, where the
 * tail's roundings add up); tanh form within (1 + |2u| / 2) * 4.5 ulp, the |2u| term being
 * the conditioning of e^(-|2u|) on the rounding of 2u. */
#ifndef TFLITE_RT_KERNELS_VUNARY_GELU_H
#define TFLITE_RT_KERNELS_VUNARY_GELU_H

#define GELU_XMAX 14.85f      /* erfc(10.5) / 2 * 14.85 < 2^-150 */
#define GELU_TANH_XMAX 11.5f  /* 11.5 e^(-126.9) < 2^-150 */
#define GELU_SQRT1_2 0x1.6a09e6p-1f
#define GELU_P 0x1.b33334p-2f /* 0.425 */

/* erfcx(z) ~ t (R0 + R1 t + ... + R9 t^9), t = 1 / (1 + GELU_P z) */
#define GELU_R0 0x1.eb15e8p-3f
#define GELU_R1 0x1.eaa692p-3f
#define GELU_R2 0x1.c3ce6ep-3f
#define GELU_R3 0x1.431b34p-3f
#define GELU_R4 0x1.832f82p-3f
#define GELU_R5 -0x1.392a64p-3f
#define GELU_R6 0x1.7ff340p-2f
#define GELU_R7 -0x1.ce524ap-2f
#define GELU_R8 0x1.ca9a72p-3f
#define GELU_R9 -0x1.521e62p-5f

#define GELU_C1 0x1.988454p+0f
#define GELU_C2 0x1.2444f2p-4f

/* e^r - 1 - r = r^2 E(r) on [-ln2/2, ln2/2], relative error of e^r below 1e-8 */
#define GELU_E0 0x1.ffffeap-2f
#define GELU_E1 0x1.55545ap-3f
#define GELU_E2 0x1.5563cep-5f
#define GELU_E3 0x1.125b2ep-7f
#define GELU_E4 0x1.63c2d8p-10f
#define GELU_LOG2E 0x1.715476p+0f
#define GELU_LN2_HI 0x1.62e400p-1f /* n * GELU_LN2_HI is exact for |n| < 256 */
#define GELU_LN2_LO 0x1.7f7d1cp-20f
#define GELU_ROUND 0x1.8p23f /* adding it rounds a float of magnitude below 2^22 to an integer */

#endif
