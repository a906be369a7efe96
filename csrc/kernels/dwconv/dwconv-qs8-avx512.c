/* 8-bit depthwise kernels for AVX-512 BW: a pair of taps costs vpmaddwd then vpaddd per 16
 * channels. The body is dwconv-qs8-avx512.h. */
#define DW_PAIR_ACC(acc, pairs, weights) _mm512_add_epi32(acc, _mm512_madd_epi16(pairs, weights))
#define DW_ISA avx512
#include "kernels/dwconv/dwconv-qs8-avx512.h"
