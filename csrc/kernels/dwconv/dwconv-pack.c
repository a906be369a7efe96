/* Weight packing for the depthwise micro-kernels (layouts in dwconv.h). Runs once, in prepare.
 *
 * With SSE2 (every x86-64, unless TR_PACK_PORTABLE), int8 filters take two shortcuts that give
 * the same bytes as the loops: the per-channel weight sums 16 channels at a time, and the
 * taps-in-pairs layout (group 2, every x86 kernel) built from 16-byte loads of two taps'
 * rows, interleaved and widened in registers, four channels (one run of slots) per store. */
#include <string.h>

#include "kernels/dwconv/dwconv.h"

#if defined(__SSE2__) && !defined(TR_PACK_PORTABLE)
#include <emmintrin.h>
#define TR_DW_PACK_SSE2 1
#endif

static size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

size_t tr_dwconv_packed_size_f32(size_t channels, int32_t kh, int32_t kw, int32_t ct) {
  return round_up(channels, (size_t)ct) * (1 + (size_t)kh * (size_t)kw);
}

void tr_dwconv_pack_f32(size_t channels, int32_t kh, int32_t kw, int32_t ct, const float *weights,
                        const float *bias, float *packed) {
  const size_t taps = (size_t)kh * (size_t)kw;
  for (size_t c0 = 0; c0 < channels; c0 += (size_t)ct) {
    for (int32_t j = 0; j < ct; j++) {
      const size_t c = c0 + (size_t)j;
      packed[j] = (c < channels && bias) ? bias[c] : 0.0f;
    }
    packed += ct;
    const int whole = c0 + (size_t)ct <= channels;
    for (int32_t kx = 0; kx < kw; kx++)
      for (int32_t ky = 0; ky < kh; ky++) {
        const float *tap = weights + ((size_t)ky * (size_t)kw + (size_t)kx) * channels;
        if (whole) { /* a whole tile of a tap is ct contiguous weights */
          memcpy(packed, tap + c0, (size_t)ct * sizeof(float));
        } else {
          for (int32_t j = 0; j < ct; j++) {
            const size_t c = c0 + (size_t)j;
            packed[j] = c < channels ? tap[c] : 0.0f;
          }
        }
        packed += ct;
      }
  }
  (void)taps;
}

int32_t tr_dwconv_slot_channel(const tr_dwconv_qs8_layout *layout, int32_t j) {
  switch (layout->slots) {
    case TR_DW_SLOTS_UNPACK16: {
      /* two accumulators of ct/2 slots; 128-bit lane L of each covers channels 8L.. 8L+7,
       * the first (unpacklo) the lower four, the second the upper four */
      const int32_t half = layout->ct / 2, acc = j / half, s = j % half;
      return 8 * (s / 4) + 4 * acc + s % 4;
    }
    case TR_DW_SLOTS_UNPACK8X2: {
      /* four accumulators of ct/4 slots; lane L of accumulator i covers 16L + 4i .. +3 */
      const int32_t quarter = layout->ct / 4, acc = j / quarter, s = j % quarter;
      return 16 * (s / 4) + 4 * acc + s % 4;
    }
    default: return j;
  }
}

static size_t padded_taps(int32_t kh, int32_t kw, int32_t group) {
  return round_up((size_t)kh * (size_t)kw, (size_t)group);
}

static size_t elem_size(int32_t group) { return group == 4 ? 1 : 2; }

size_t tr_dwconv_packed_size_qs8(size_t channels, int32_t kh, int32_t kw, const tr_dwconv_qs8_layout *layout) {
  const size_t ct = (size_t)layout->ct;
  const size_t block = ct * 4 + padded_taps(kh, kw, layout->group) * ct * elem_size(layout->group) +
                       (layout->extended ? 6 : 4) * ct * 4;
  return round_up(channels, ct) / ct * block;
}

/* The weight at offset i of the [kh][kw][channels] filter, its zero point removed. */
static inline int32_t dw_weight(const void *weights, int weights_unsigned, int32_t weight_zero_point, size_t i) {
  return weights_unsigned ? (int32_t)((const uint8_t *)weights)[i] - weight_zero_point
                          : (int32_t)((const int8_t *)weights)[i];
}

#define DW_MAX_CT 64
/* taps whose row offsets are tabulated (a 16 x 16 kernel) */
#define DW_TAP_TABLE 256

#if defined(TR_DW_PACK_SSE2)
/* Sign-extends the 8 low (high) bytes of v to int16. */
static inline __m128i dw_widen_lo(__m128i v) { return _mm_srai_epi16(_mm_unpacklo_epi8(v, v), 8); }
static inline __m128i dw_widen_hi(__m128i v) { return _mm_srai_epi16(_mm_unpackhi_epi8(v, v), 8); }

/* sums[c] += every tap's weight of channel c, for the channels in whole runs of 16, each run's
 * four 32-bit accumulators in registers over the taps. Returns the channels done. */
static size_t dw_sums16(const int8_t *w, size_t channels, size_t taps, int32_t *sums) {
  size_t c = 0;
  for (; c + 16 <= channels; c += 16) {
    __m128i a0 = _mm_setzero_si128(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t k = 0; k < taps; k++) {
      const __m128i v = _mm_loadu_si128((const __m128i *)(w + k * channels + c));
      const __m128i lo = dw_widen_lo(v), hi = dw_widen_hi(v);
      a0 = _mm_add_epi32(a0, _mm_srai_epi32(_mm_unpacklo_epi16(lo, lo), 16));
      a1 = _mm_add_epi32(a1, _mm_srai_epi32(_mm_unpackhi_epi16(lo, lo), 16));
      a2 = _mm_add_epi32(a2, _mm_srai_epi32(_mm_unpacklo_epi16(hi, hi), 16));
      a3 = _mm_add_epi32(a3, _mm_srai_epi32(_mm_unpackhi_epi16(hi, hi), 16));
    }
    _mm_storeu_si128((__m128i *)(sums + c), a0);
    _mm_storeu_si128((__m128i *)(sums + c + 4), a1);
    _mm_storeu_si128((__m128i *)(sums + c + 8), a2);
    _mm_storeu_si128((__m128i *)(sums + c + 12), a3);
  }
  return c;
}

/* One group of two taps of a whole tile: for each channel c of the tile, the int16 pair
 * (tap0[c], tap1[c]) (tap1 NULL: zeros), the four pairs of channels 4q .. 4q + 3 at slot run
 * quad_of[q]. */
static void dw_pairs16(const int8_t *tap0, const int8_t *tap1, int32_t ct, const int32_t *quad_of, int16_t *o) {
  for (int32_t c = 0; c < ct; c += 16) {
    const __m128i x0 = _mm_loadu_si128((const __m128i *)(tap0 + c));
    const __m128i x1 = tap1 ? _mm_loadu_si128((const __m128i *)(tap1 + c)) : _mm_setzero_si128();
    /* bytes tap0[c], tap1[c], tap0[c + 1], ... then widened: the pairs of 4 channels a vector */
    const __m128i lo = _mm_unpacklo_epi8(x0, x1), hi = _mm_unpackhi_epi8(x0, x1);
    const int32_t q = c / 4;
    _mm_storeu_si128((__m128i *)(o + 8 * quad_of[q]), dw_widen_lo(lo));
    _mm_storeu_si128((__m128i *)(o + 8 * quad_of[q + 1]), dw_widen_hi(lo));
    _mm_storeu_si128((__m128i *)(o + 8 * quad_of[q + 2]), dw_widen_lo(hi));
    _mm_storeu_si128((__m128i *)(o + 8 * quad_of[q + 3]), dw_widen_hi(hi));
  }
}
#endif
/* channel counts whose weight sums are gathered in one pass, on the stack */
#define DW_SUM_CHANNELS 4096

void tr_dwconv_pack_qs8(size_t channels, int32_t kh, int32_t kw, const tr_dwconv_qs8_layout *layout,
                        const void *weights, int weights_unsigned, int32_t weight_zero_point,
                        const int32_t *bias, int32_t input_zero_point, const tr_dwconv_qmul *qmul,
                        void *packed) {
  const int32_t ct = layout->ct, group = layout->group;
  const size_t taps = (size_t)kh * (size_t)kw, ptaps = padded_taps(kh, kw, group);
  /* each slot's channel within a tile, worked out once rather than per weight */
  int32_t slot_table[DW_MAX_CT];
  for (int32_t j = 0; j < ct && j < DW_MAX_CT; j++) slot_table[j] = tr_dwconv_slot_channel(layout, j);
#define SLOT(j) ((j) < DW_MAX_CT ? slot_table[j] : tr_dwconv_slot_channel(layout, j))
  /* where each tap's row starts, without a division per tap of every tile */
  size_t tap_row[DW_TAP_TABLE];
  for (size_t k = 0; k < ptaps && k < DW_TAP_TABLE; k++)
    tap_row[k] = ((k % (size_t)kh) * (size_t)kw + k / (size_t)kh) * channels;
#if defined(TR_DW_PACK_SSE2)
  /* every run of four slots holding four channels in order (true of every layout): quad_of[q]
   * is the run of slots that channels 4q .. 4q + 3 of the tile go to */
  int32_t quad_of[DW_MAX_CT / 4];
  int quads_linear = ct <= DW_MAX_CT && ct % 4 == 0;
  for (int32_t j = 0; quads_linear && j < ct; j++)
    if (slot_table[j] % 4 != j % 4 || slot_table[j] - j % 4 != slot_table[j - j % 4]) quads_linear = 0;
  for (int32_t q = 0; quads_linear && q < ct / 4; q++) quad_of[slot_table[4 * q] / 4] = q;
#endif
  /* every channel's weight sum in one pass over the filter in memory order, which the
   * prefetchers follow (a tile at a time reads taps a row of channels apart) */
  int32_t all_sums[DW_SUM_CHANNELS];
  const int summed = channels <= DW_SUM_CHANNELS;
  if (summed) {
    memset(all_sums, 0, channels * sizeof(int32_t));
    size_t first = 0; /* channels below it are summed */
#if defined(TR_DW_PACK_SSE2)
    if (!weights_unsigned) first = dw_sums16((const int8_t *)weights, channels, taps, all_sums);
#endif
    for (size_t k = 0; k < taps; k++)
      for (size_t c = first; c < channels; c++)
        all_sums[c] += dw_weight(weights, weights_unsigned, weight_zero_point, k * channels + c);
  }
  char *out = (char *)packed;
  for (size_t c0 = 0; c0 < channels; c0 += (size_t)ct) {
    const size_t live = channels - c0 < (size_t)ct ? channels - c0 : (size_t)ct;
    int32_t wsum[DW_MAX_CT] = {0};
    if (summed)
      memcpy(wsum, all_sums + c0, (live < DW_MAX_CT ? live : DW_MAX_CT) * sizeof(int32_t));
    else if (ct <= DW_MAX_CT)
      for (size_t k = 0; k < taps; k++)
        for (size_t i = 0; i < live; i++) wsum[i] += dw_weight(weights, weights_unsigned, weight_zero_point, k * channels + c0 + i);
    int32_t *b = (int32_t *)out;
    for (int32_t j = 0; j < ct; j++) {
      const size_t slot = (size_t)SLOT(j), c = c0 + slot;
      int32_t v = 0;
      if (c < channels) {
        int32_t sum = 0;
        if (ct <= DW_MAX_CT) sum = wsum[slot];
        else
          for (size_t k = 0; k < taps; k++) sum += dw_weight(weights, weights_unsigned, weight_zero_point, k * channels + c);
        v = (int32_t)((uint32_t)(bias ? bias[c] : 0) - (uint32_t)input_zero_point * (uint32_t)sum);
      }
      b[j] = v;
    }
    out += (size_t)ct * 4;
    for (size_t g = 0; g < ptaps; g += (size_t)group) {
      /* taps are packed column-major: where taps g .. g + group - 1 start in the row-major
       * filter, worked out once per group rather than once per weight (group is 1, 2 or 4) */
      size_t row[4] = {0, 0, 0, 0};
      int32_t real = 0; /* taps of the group inside the filter */
      for (int32_t t = 0; t < group && t < 4; t++) {
        const size_t k = g + (size_t)t;
        row[t] = (k < DW_TAP_TABLE ? tap_row[k] : ((k % (size_t)kh) * (size_t)kw + k / (size_t)kh) * channels) + c0;
        real += k < taps;
      }
#if defined(TR_DW_PACK_SSE2)
      if (!weights_unsigned && group == 2 && real >= 1 && live == (size_t)ct && ct % 16 == 0 && quads_linear) {
        /* the tap past the end of the filter (odd tap counts) reads as zeros */
        const int8_t *w = (const int8_t *)weights;
        dw_pairs16(w + row[0], real == 2 ? w + row[1] : NULL, ct, quad_of, (int16_t *)out);
        out += (size_t)ct * 4;
        continue;
      }
#endif
      if (!weights_unsigned && real == group && live == (size_t)ct && ct <= DW_MAX_CT && group >= 1 && group <= 4) {
        /* the usual case (int8, a whole tile, every tap of the group inside the filter): plain
         * copies, without the tests the edges need per weight */
        const int8_t *w = (const int8_t *)weights;
        if (group == 4) {
          int8_t *o = (int8_t *)out;
          for (int32_t j = 0; j < ct; j++, o += 4) {
            const size_t slot = (size_t)slot_table[j];
            o[0] = w[row[0] + slot], o[1] = w[row[1] + slot], o[2] = w[row[2] + slot], o[3] = w[row[3] + slot];
          }
        } else if (group == 2) {
          int16_t *o = (int16_t *)out;
          for (int32_t j = 0; j < ct; j++, o += 2) {
            const size_t slot = (size_t)slot_table[j];
            o[0] = w[row[0] + slot], o[1] = w[row[1] + slot];
          }
        } else {
          int16_t *o = (int16_t *)out;
          for (int32_t j = 0; j < ct; j++, o += group)
            for (int32_t t = 0; t < group; t++) o[t] = w[row[t] + (size_t)slot_table[j]];
        }
        out += (size_t)ct * (size_t)group * elem_size(group);
        continue;
      }
      for (int32_t j = 0; j < ct; j++) {
        const size_t slot = (size_t)SLOT(j);
        const int live_channel = slot < live;
        for (int32_t t = 0; t < group && t < 4; t++) {
          const int32_t w = (t < real && live_channel) ? dw_weight(weights, weights_unsigned, weight_zero_point, row[t] + slot) : 0;
          if (group == 4) ((int8_t *)out)[(size_t)j * 4 + (size_t)t] = (int8_t)w;
          else ((int16_t *)out)[(size_t)j * (size_t)group + (size_t)t] = (int16_t)w;
        }
      }
      out += (size_t)ct * (size_t)group * elem_size(group);
    }
    int32_t *q = (int32_t *)out;
    for (int32_t j = 0; j < ct; j++) {
      const size_t c = c0 + (size_t)SLOT(j);
      const tr_dwconv_qmul m = c < channels ? qmul[c] : (tr_dwconv_qmul){0, 0};
      const int32_t right = m.shift > 0 ? 0 : -m.shift;
      q[j] = m.multiplier;
      q[ct + j] = m.shift > 0 ? m.shift : 0;
      q[2 * ct + j] = right;
      q[3 * ct + j] = (int32_t)((1ll << right) - 1);
    }
    if (layout->extended) {
      for (int32_t j = 0; j < ct; j++) {
        q[4 * ct + j] = q[j | 1];
        q[5 * ct + j] = q[3 * ct + j] >> 1;
      }
    }
    out += (size_t)ct * (layout->extended ? 24 : 16);
  }
#undef SLOT
}
