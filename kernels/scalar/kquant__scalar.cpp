// The k-quant definitions of kquant.h: Q8_K activations, the canonical Q6_K / Q4_K dots, and the
// load-time Q6_K / Q4_K quantizers.
#include "kernels/float_kernels.h"
#include "kernels/fp16.h"
#include "kernels/kquant.h"
#include "kernels/kquant_rules.h"
#include "kernels/nearest_int.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace tern::kernels {

namespace {

void store_half(uint8_t* at, float value) {
    const uint16_t h = float_to_half(value);
    std::memcpy(at, &h, 2);
}

// The stored 6-bit value (q + 32, 0..63) of element e (0..255) of a Q6_K block (float_rows.h:
// per half, element l + 32i).
int q6_k_stored(const uint8_t* block, int e) {
    const int half = e / 128, l = e % 32, i = (e % 128) / 32;
    const int low = block[64 * half + l + 32 * (i & 1)], high = block[128 + 32 * half + l];
    return (i >= 2 ? low >> 4 : low & 0xF) | ((high >> (2 * i)) & 3) << 4;
}

// The level (lo..hi) of x in a group decoded as step * level - shift, given 1 / step (0 when
// step is 0, which gives level 0 when lo is 0 or below).
template <int lo, int hi>
int level_of(float x, float inverse_step, float shift) {
    return nearest_in((x + shift) * inverse_step, lo, hi);
}

// The squared errors of a group of n values (a multiple of 4) decoded with each of `count`
// candidate (step, shift) pairs. Each sum is kept in 4 lanes (element i in lane i % 4) that the
// compiler can hold in one SSE / NEON register: the same result on every target.
template <int n, int count, int lo, int hi>
void group_errors(const float* v, const float* step, const float* shift, float* err) {
    for (int c = 0; c < count; ++c) {
        const float inverse_step = inverse(step[c]);
        float lanes[4] = {};
        for (int i = 0; i < n; i += 4) {
            for (int j = 0; j < 4; ++j) {
                const auto q =
                    static_cast<float>(level_of<lo, hi>(v[i + j], inverse_step, shift[c]));
                const float e = step[c] * q - shift[c] - v[i + j];
                lanes[j] += e * e;
            }
        }
        err[c] = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    }
}

}  // namespace

void quantize_q8_k_activations(const float* x, int64_t n, int8_t* q, float* d, int16_t* sums) {
    for (int64_t b = 0; b < n / kKQuantBlock; ++b) {
        d[b] = quantize_int8_block(x + kKQuantBlock * b, kKQuantBlock, q + kKQuantBlock * b);
    }
    for (int64_t g = 0; g < n / 16; ++g) {
        int sum = 0;
        for (int i = 0; i < 16; ++i) sum += q[16 * g + i];
        sums[g] = static_cast<int16_t>(sum);
    }
}

float dot_q6_k_q8_k(const uint8_t* row, int64_t k, const Q8KActivations& x) {
    float acc = 0.0f;
    for (int64_t b = 0; b < k / kKQuantBlock; ++b) {
        const uint8_t* block = row + kQ6KBlockBytes * b;
        const auto* sc = reinterpret_cast<const int8_t*>(block + 192);
        const int8_t* xq = x.q + kKQuantBlock * b;
        int32_t sum = 0;
        for (int e = 0; e < kKQuantBlock; ++e)
            sum += int32_t{sc[e / 16]} * (q6_k_stored(block, e) - 32) * int32_t{xq[e]};
        acc += static_cast<float>(sum) * (load_half(block + 208) * x.d[b]);
    }
    return acc;
}

float dot_q4_k_q8_k(const uint8_t* row, int64_t k, const Q8KActivations& x) {
    float acc = 0.0f;
    for (int64_t b = 0; b < k / kKQuantBlock; ++b) {
        const uint8_t* block = row + kQ4KBlockBytes * b;
        const int8_t* xq = x.q + kKQuantBlock * b;
        const Q4KScales scales = q4_k_scales(block);
        int32_t sum = 0, min_sum = 0;
        for (int j = 0; j < 8; ++j) {
            const int sc = scales.bytes[j], m = scales.bytes[8 + j];
            const uint8_t* qs = block + 16 + 32 * (j / 2);
            int32_t dot = 0, xsum = 0;
            for (int l = 0; l < 32; ++l) {
                const int q = j % 2 == 0 ? qs[l] & 0xF : qs[l] >> 4;
                dot += q * int32_t{xq[32 * j + l]};
                xsum += xq[32 * j + l];
            }
            sum += sc * dot;
            min_sum += m * xsum;
        }
        acc += static_cast<float>(sum) * (load_half(block) * x.d[b]);
        acc -= static_cast<float>(min_sum) * (load_half(block + 2) * x.d[b]);
    }
    return acc;
}

void gemv_k_q8_by_definition(FloatWeightFormat format, const uint8_t* w, int64_t row_bytes,
                             int64_t m_rows, int64_t k, const Q8KActivations& x, float* out) {
    for (int64_t m = 0; m < m_rows; ++m) {
        const uint8_t* row = w + m * row_bytes;
        out[m] =
            format == FloatWeightFormat::q6_k ? dot_q6_k_q8_k(row, k, x) : dot_q4_k_q8_k(row, k, x);
    }
}

void quantize_row_q6_k(const float* x, int64_t k, uint8_t* out) {
    for (int64_t b = 0; b < k / kKQuantBlock; ++b) {
        const float* v = x + kKQuantBlock * b;
        uint8_t* block = out + kQ6KBlockBytes * b;
        std::memset(block, 0, kQ6KBlockBytes);
        float scale[16], max_scale = 0.0f;
        for (int g = 0; g < 16; ++g) {
            float peak = 0.0f;  // the group's value of largest magnitude
            for (int i = 0; i < 16; ++i)
                if (std::fabs(v[16 * g + i]) > std::fabs(peak)) peak = v[16 * g + i];
            scale[g] = peak / -32.0f;
            if (std::fabs(scale[g]) > std::fabs(max_scale)) max_scale = scale[g];
        }
        store_half(block + 208, max_scale / -128.0f);
        const float d = load_half(block + 208);
        auto* sc = reinterpret_cast<int8_t*>(block + 192);
        for (int g = 0; g < 16; ++g) {
            // The scale rounded down or up in magnitude, whichever decodes the group closer.
            sc[g] = 0;
            if (d == 0.0f) continue;
            const Q6KScaleCandidates c = q6_k_scale_candidates(scale[g], d);
            const float shift[2] = {0.0f, 0.0f};
            float err[2];
            group_errors<16, 2, -32, 31>(v + 16 * g, c.step, shift, err);
            sc[g] = static_cast<int8_t>(c.sc[smallest<2>(err)]);
        }
        float inverse_step[16];
        for (int g = 0; g < 16; ++g) inverse_step[g] = inverse(d * static_cast<float>(sc[g]));
        uint8_t stored[kKQuantBlock];  // q + 32 (0..63) per element
        for (int g = 0; g < 16; ++g) {
            for (int i = 0; i < 16; ++i) {
                stored[16 * g + i] = static_cast<uint8_t>(
                    level_of<-32, 31>(v[16 * g + i], inverse_step[g], 0.0f) + 32);
            }
        }
        // Per half, element l + 32i (float_rows.h): ql[l] holds i = 0 (low) and 2 (high),
        // ql[l + 32] i = 1 and 3, qh[l] the top bits of i = 0..3 at bits 2i.
        for (int half = 0; half < 2; ++half) {
            const uint8_t* s = stored + 128 * half;
            uint8_t* ql = block + 64 * half;
            uint8_t* qh = block + 128 + 32 * half;
            for (int l = 0; l < 32; ++l) {
                ql[l] = static_cast<uint8_t>((s[l] & 0xF) | (s[l + 64] & 0xF) << 4);
                ql[l + 32] = static_cast<uint8_t>((s[l + 32] & 0xF) | (s[l + 96] & 0xF) << 4);
                qh[l] = static_cast<uint8_t>(s[l] >> 4 | (s[l + 32] >> 4) << 2 |
                                             (s[l + 64] >> 4) << 4 | (s[l + 96] >> 4) << 6);
            }
        }
    }
}

void quantize_row_q4_k(const float* x, int64_t k, uint8_t* out) {
    for (int64_t b = 0; b < k / kKQuantBlock; ++b) {
        const float* v = x + kKQuantBlock * b;
        uint8_t* block = out + kQ4KBlockBytes * b;
        std::memset(block, 0, kQ4KBlockBytes);
        float scale[8], offset[8], max_scale = 0.0f, max_offset = 0.0f;
        for (int j = 0; j < 8; ++j) {
            float lo = 0.0f, hi = v[32 * j];
            for (int i = 0; i < 32; ++i) {
                const float value = v[32 * j + i];
                lo = value < lo ? value : lo;
                hi = value > hi ? value : hi;
            }
            scale[j] = (hi - lo) / 15.0f;
            offset[j] = -lo;
            max_scale = scale[j] > max_scale ? scale[j] : max_scale;
            max_offset = offset[j] > max_offset ? offset[j] : max_offset;
        }
        store_half(block, max_scale / 63.0f);
        store_half(block + 2, max_offset / 63.0f);
        const float d = load_half(block), dmin = load_half(block + 2);
        int sc[8], m[8];
        for (int j = 0; j < 8; ++j) {
            // Scale and min each rounded down or up, whichever pair decodes the group closest.
            const Q4KCandidates c = q4_k_candidates(scale[j], offset[j], d, dmin);
            float err[4];
            group_errors<32, 4, 0, 15>(v + 32 * j, c.step, c.shift, err);
            const int best = smallest<4>(err);
            sc[j] = c.sc[best];
            m[j] = c.m[best];
        }
        pack_q4_k_scales(sc, m, block + 4);
        for (int j = 0; j < 8; ++j) {
            const float inverse_step = inverse(d * static_cast<float>(sc[j]));
            const float shift = dmin * static_cast<float>(m[j]);
            uint8_t* qs = block + 16 + 32 * (j / 2);
            const int nibble = j % 2 == 0 ? 0 : 4;  // groups 2p, 2p + 1: low, high nibbles
            for (int l = 0; l < 32; ++l) {
                const int q = level_of<0, 15>(v[32 * j + l], inverse_step, shift);
                qs[l] = static_cast<uint8_t>(qs[l] | q << nibble);
            }
        }
    }
}

}  // namespace tern::kernels
