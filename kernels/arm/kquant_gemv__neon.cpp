// NEON Q6_K / Q4_K GEMVs: against int8 activations (--lm-head q6 / q4) each block's exact integer
// sums from widening multiplies, then the canonical float steps of kquant.h; against float
// activations (a file's own k-quant layers) each weight decoded as float_rows does, then the
// canonical dot.
#include "kernels/arm/neon_kernels.h"
#include "kernels/kquant.h"

#include <arm_neon.h>

#include <cstring>

namespace tern::kernels {

namespace {

// The four exact int32 sums of 4 products each of 16 int8 pairs (|products| <= 32 * 127 here,
// so the int16 pair sums cannot overflow).
inline int32x4_t dot16(int8x16_t a, int8x16_t b) {
    const int16x8_t products =
        vaddq_s16(vmull_s8(vget_low_s8(a), vget_low_s8(b)), vmull_high_s8(a, b));
    return vpaddlq_s16(products);
}

// The stored values (q + 32, 0..63) of elements 128 half + 32 i + 16 c + l (l < 16) of a Q6_K
// block, as stored[i] for i < 4 (float_rows.h).
inline void q6_k_stored16(const uint8_t* block, int half, int c, uint8x16_t stored[4]) {
    const uint8x16_t low4 = vdupq_n_u8(0x0F), three = vdupq_n_u8(3);
    const uint8_t* ql = block + 64 * half;
    const uint8x16_t ql0 = vld1q_u8(ql + 16 * c), ql1 = vld1q_u8(ql + 32 + 16 * c);
    const uint8x16_t h = vld1q_u8(block + 128 + 32 * half + 16 * c);
    stored[0] = vorrq_u8(vandq_u8(ql0, low4), vshlq_n_u8(vandq_u8(h, three), 4));
    stored[1] = vorrq_u8(vandq_u8(ql1, low4), vshlq_n_u8(vandq_u8(vshrq_n_u8(h, 2), three), 4));
    stored[2] = vorrq_u8(vshrq_n_u8(ql0, 4), vshlq_n_u8(vandq_u8(vshrq_n_u8(h, 4), three), 4));
    stored[3] = vorrq_u8(vshrq_n_u8(ql1, 4), vshlq_n_u8(vshrq_n_u8(h, 6), 4));
}

// S_b of one Q6_K block (kquant.h): per 16-element group, the signed values (stored - 32) times
// x, scaled by the group's scale.
int32_t q6_k_block_sum(const uint8_t* block, const int8_t* xq) {
    const auto* sc = reinterpret_cast<const int8_t*>(block + 192);
    const int8x16_t bias = vdupq_n_s8(32);
    int32x4_t acc = vdupq_n_s32(0);
    for (int half = 0; half < 2; ++half) {
        for (int c = 0; c < 2; ++c) {  // elements l = 16c .. 16c + 15 of each quarter
            uint8x16_t stored[4];
            q6_k_stored16(block, half, c, stored);
            for (int i = 0; i < 4; ++i) {
                const int8x16_t q = vsubq_s8(vreinterpretq_s8_u8(stored[i]), bias);
                const int8x16_t x = vld1q_s8(xq + 128 * half + 32 * i + 16 * c);
                acc = vmlaq_n_s32(acc, dot16(q, x), sc[8 * half + 2 * i + c]);
            }
        }
    }
    return vaddvq_s32(acc);
}

// S_b and M_b of one Q4_K block (kquant.h).
void q4_k_block_sums(const uint8_t* block, const int8_t* xq, const int16_t* sums, int32_t* s,
                     int32_t* min_sum) {
    const uint8x16_t low4 = vdupq_n_u8(0x0F);
    int32x4_t acc = vdupq_n_s32(0);
    int32_t mins = 0;
    const Q4KScales scales = q4_k_scales(block);
    for (int j = 0; j < 8; ++j) {
        const int sc = scales.bytes[j], m = scales.bytes[8 + j];
        const uint8_t* qs = block + 16 + 32 * (j / 2);
        int32x4_t group = vdupq_n_s32(0);
        for (int c = 0; c < 2; ++c) {
            const uint8x16_t bytes = vld1q_u8(qs + 16 * c);
            const uint8x16_t q = j % 2 == 0 ? vandq_u8(bytes, low4) : vshrq_n_u8(bytes, 4);
            group = vaddq_s32(group, dot16(vreinterpretq_s8_u8(q), vld1q_s8(xq + 32 * j + 16 * c)));
        }
        acc = vmlaq_n_s32(acc, group, sc);
        mins += m * (int32_t{sums[2 * j]} + int32_t{sums[2 * j + 1]});
    }
    *s = vaddvq_s32(acc);
    *min_sum = mins;
}

// Adds x[0..15] times the 16 weights decoded from `values` (int8 or uint8 per byte, as
// `is_signed`) into the canonical partials acc[0..3]: weight l is values[l] * scale - shift
// (multiply, then subtract), then multiplied by x[l] and added.
template <bool is_signed, bool has_shift>
inline void add_decoded16(uint8x16_t values, const float* x, float32x4_t scale, float32x4_t shift,
                          float32x4_t* acc) {
    int32x4_t ints[4];
    if (is_signed) {
        const int8x16_t v = vreinterpretq_s8_u8(values);
        const int16x8_t lo = vmovl_s8(vget_low_s8(v)), hi = vmovl_high_s8(v);
        ints[0] = vmovl_s16(vget_low_s16(lo));
        ints[1] = vmovl_high_s16(lo);
        ints[2] = vmovl_s16(vget_low_s16(hi));
        ints[3] = vmovl_high_s16(hi);
    } else {
        const uint16x8_t lo = vmovl_u8(vget_low_u8(values)), hi = vmovl_high_u8(values);
        ints[0] = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(lo)));
        ints[1] = vreinterpretq_s32_u32(vmovl_high_u16(lo));
        ints[2] = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(hi)));
        ints[3] = vreinterpretq_s32_u32(vmovl_high_u16(hi));
    }
    for (int j = 0; j < 4; ++j) {
        float32x4_t weight = vmulq_f32(vcvtq_f32_s32(ints[j]), scale);
        if (has_shift) weight = vsubq_f32(weight, shift);
        acc[j] = vaddq_f32(acc[j], vmulq_f32(vld1q_f32(x + 4 * j), weight));
    }
}

}  // namespace

void gemv_k_float__neon(FloatWeightFormat format, const uint8_t* w, int64_t row_bytes,
                        int64_t m_rows, int64_t k, const float* x, float* out) {
    const int64_t blocks = k / kKQuantBlock;
    const float32x4_t zero = vdupq_n_f32(0.0f);
    for (int64_t r = 0; r < m_rows; ++r) {
        const uint8_t* row = w + r * row_bytes;
        float32x4_t acc[8];  // partials 4j .. 4j + 3 of the canonical 32
        for (auto& v : acc) v = zero;
        for (int64_t b = 0; b < blocks; ++b) {
            const float* xb = x + kKQuantBlock * b;
            if (format == FloatWeightFormat::q6_k) {
                const uint8_t* block = row + kQ6KBlockBytes * b;
                const float d = neon_half_at(block + 208);
                const auto* sc = reinterpret_cast<const int8_t*>(block + 192);
                for (int half = 0; half < 2; ++half) {
                    uint8x16_t stored[2][4];  // [c][i]
                    q6_k_stored16(block, half, 0, stored[0]);
                    q6_k_stored16(block, half, 1, stored[1]);
                    for (int i = 0; i < 4; ++i) {      // elements 128 half + 32 i + 16 c + l,
                        for (int c = 0; c < 2; ++c) {  // in order
                            // float_rows' (d * sc) * q, sc of the 16-element group.
                            const float32x4_t scale =
                                vdupq_n_f32(d * static_cast<float>(sc[8 * half + 2 * i + c]));
                            const uint8x16_t values = vsubq_u8(stored[c][i], vdupq_n_u8(32));
                            add_decoded16<true, false>(values, xb + 128 * half + 32 * i + 16 * c,
                                                       scale, zero, acc + 4 * c);
                        }
                    }
                }
            } else {
                const uint8_t* block = row + kQ4KBlockBytes * b;
                const float d = neon_half_at(block), dmin = neon_half_at(block + 2);
                const Q4KScales scales = q4_k_scales(block);
                for (int j = 0; j < 8; ++j) {  // group j: elements 32 j + l
                    // float_rows' (d * sc) * q - dmin * m.
                    const float32x4_t step = vdupq_n_f32(d * static_cast<float>(scales.bytes[j]));
                    const float32x4_t shift =
                        vdupq_n_f32(dmin * static_cast<float>(scales.bytes[8 + j]));
                    const uint8_t* qs = block + 16 + 32 * (j / 2);
                    for (int c = 0; c < 2; ++c) {
                        const uint8x16_t bytes = vld1q_u8(qs + 16 * c);
                        const uint8x16_t values =
                            j % 2 == 0 ? vandq_u8(bytes, vdupq_n_u8(0x0F)) : vshrq_n_u8(bytes, 4);
                        add_decoded16<false, true>(values, xb + 32 * j + 16 * c, step, shift,
                                                   acc + 4 * c);
                    }
                }
            }
        }
        float s[32];
        for (int i = 0; i < 8; ++i) vst1q_f32(s + 4 * i, acc[i]);
        out[r] = canonical_reduce(s);
    }
}

void gemv_k_q8__neon(FloatWeightFormat format, const uint8_t* w, int64_t row_bytes, int64_t m_rows,
                     int64_t k, const Q8KActivations& x, float* out) {
    const int64_t blocks = k / kKQuantBlock;
    for (int64_t r = 0; r < m_rows; ++r) {
        const uint8_t* row = w + r * row_bytes;
        float acc = 0.0f;
        for (int64_t b = 0; b < blocks; ++b) {
            const int8_t* xq = x.q + kKQuantBlock * b;
            if (format == FloatWeightFormat::q6_k) {
                const uint8_t* block = row + kQ6KBlockBytes * b;
                const int32_t s = q6_k_block_sum(block, xq);
                acc += static_cast<float>(s) * (neon_half_at(block + 208) * x.d[b]);
            } else {
                const uint8_t* block = row + kQ4KBlockBytes * b;
                int32_t s, min_sum;
                q4_k_block_sums(block, xq, x.sums + 16 * b, &s, &min_sum);
                acc += static_cast<float>(s) * (neon_half_at(block) * x.d[b]);
                acc -= static_cast<float>(min_sum) * (neon_half_at(block + 2) * x.d[b]);
            }
        }
        out[r] = acc;
    }
}

}  // namespace tern::kernels
