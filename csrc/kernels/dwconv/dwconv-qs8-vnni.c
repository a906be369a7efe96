/* 8-bit depthwise kernels for AVX-512 VNNI: vpdpwssd multiplies a pair of taps and adds it to
 * the accumulator in one instruction. The body is dwconv-qs8-avx512.h (same layout as AVX-512). */
#define DW_PAIR_ACC(acc, pairs, weights) _mm512_dpwssd_epi32(acc, pairs, weights)
#define DW_ISA vnni
#include "kernels/dwconv/dwconv-qs8-avx512.h"
