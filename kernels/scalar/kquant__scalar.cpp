// The k-quant definitions of kquant.h: Q8_K activations, the canonical Q6_K / Q4_K dots, and the
// load-time Q6_K / Q4_K quantizers.
#include "kernels/float_kernels.h"
#include "kernels/fp16.h"
#include "kernels/kquant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace tern::kernels {

namespace {

constexpr int64_t kQ6KBytes = 210;  // u8 ql[128]; u8 qh[64]; i8 scales[16]; fp16 d
constexpr int64_t kQ4KBytes = 144;  // fp16 d; fp16 dmin; u8 scales[12]; u8 qs[128]

float load_half(const uint8_t* at) {
    uint16_t h;
    std::memcpy(&h, at, 2);
    return half_to_float(h);
}

void store_half(uint8_t* at, float value) {
    const uint16_t h = float_to_half(value);
    std::memcpy(at, &h, 2);
}

int nearest_in(float v, int lo, int hi) {
    return static_cast<int>(
        std::fmin(std::fmax(std::nearbyint(v), static_cast<float>(lo)), static_cast<float>(hi)));
}

// Byte offset in a Q6_K block's ql of element e (0..255) and whether it is the high nibble, and
// its qh byte and shift (float_rows.h: per half, element l + 32i).
struct Q6KPlace {
    int ql, qh, shift;
    bool high;
};

Q6KPlace q6_k_place(int e) {
    const int half = e / 128, l = e % 32, i = (e % 128) / 32;
    return {64 * half + l + 32 * (i & 1), 128 + 32 * half + l, 2 * i, i >= 2};
}

// The stored 6-bit value of element e (q + 32, 0..63).
int q6_k_stored(const uint8_t* block, int e) {
    const Q6KPlace p = q6_k_place(e);
    const int low = p.high ? block[p.ql] >> 4 : block[p.ql] & 0xF;
    return low | ((block[p.qh] >> p.shift) & 3) << 4;
}

// A Q6_K element's level (-32..31) for x = step * q, and a group's squared error with it.
int q6_k_level(float x, float step) {
    return step == 0.0f ? 0 : nearest_in(x / step, -32, 31);
}

double q6_k_group_error(const float* v, float step) {
    double err = 0;
    for (int i = 0; i < 16; ++i) {
        const double e =
            static_cast<double>(step * static_cast<float>(q6_k_level(v[i], step)) - v[i]);
        err += e * e;
    }
    return err;
}

// A Q4_K element's 4-bit level for x = step * q - shift, and a group's squared error with them.
int q4_k_level(float x, float step, float shift) {
    return step == 0.0f ? 0 : nearest_in((x + shift) / step, 0, 15);
}

double q4_k_group_error(const float* v, float step, float shift) {
    double err = 0;
    for (int i = 0; i < 32; ++i) {
        const double e = static_cast<double>(
            step * static_cast<float>(q4_k_level(v[i], step, shift)) - shift - v[i]);
        err += e * e;
    }
    return err;
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
        const uint8_t* block = row + kQ6KBytes * b;
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
        const uint8_t* block = row + kQ4KBytes * b;
        const int8_t* xq = x.q + kKQuantBlock * b;
        int32_t sum = 0, min_sum = 0;
        for (int j = 0; j < 8; ++j) {
            int sc, m;
            q4_k_scale_min(block + 4, j, &sc, &m);
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
        uint8_t* block = out + kQ6KBytes * b;
        std::memset(block, 0, kQ6KBytes);
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
            const float exact = scale[g] / d;
            const float down = std::trunc(exact), up = down + (exact < 0.0f ? -1.0f : 1.0f);
            double best = -1.0;
            for (const float candidate : {down, up}) {
                const int c = nearest_in(candidate, -128, 127);
                const double err = q6_k_group_error(v + 16 * g, d * static_cast<float>(c));
                if (best < 0 || err < best) {
                    best = err;
                    sc[g] = static_cast<int8_t>(c);
                }
            }
        }
        for (int e = 0; e < kKQuantBlock; ++e) {
            const int stored = q6_k_level(v[e], d * static_cast<float>(sc[e / 16])) + 32;
            const Q6KPlace p = q6_k_place(e);
            block[p.ql] |= static_cast<uint8_t>(p.high ? (stored & 0xF) << 4 : stored & 0xF);
            block[p.qh] |= static_cast<uint8_t>((stored >> 4) << p.shift);
        }
    }
}

void quantize_row_q4_k(const float* x, int64_t k, uint8_t* out) {
    for (int64_t b = 0; b < k / kKQuantBlock; ++b) {
        const float* v = x + kKQuantBlock * b;
        uint8_t* block = out + kQ4KBytes * b;
        std::memset(block, 0, kQ4KBytes);
        float scale[8], offset[8], max_scale = 0.0f, max_offset = 0.0f;
        for (int j = 0; j < 8; ++j) {
            float lo = 0.0f, hi = v[32 * j];
            for (int i = 0; i < 32; ++i) {
                lo = std::fmin(lo, v[32 * j + i]);
                hi = std::fmax(hi, v[32 * j + i]);
            }
            scale[j] = (hi - lo) / 15.0f;
            offset[j] = -lo;
            max_scale = std::fmax(max_scale, scale[j]);
            max_offset = std::fmax(max_offset, offset[j]);
        }
        store_half(block, max_scale / 63.0f);
        store_half(block + 2, max_offset / 63.0f);
        const float d = load_half(block), dmin = load_half(block + 2);
        int sc[8], m[8];
        for (int j = 0; j < 8; ++j) {
            // Scale and min each rounded down or up, whichever pair decodes the group closest.
            const float exact_sc = d == 0.0f ? 0.0f : scale[j] / d;
            const float exact_m = dmin == 0.0f ? 0.0f : offset[j] / dmin;
            double best = -1.0;
            for (const float try_sc : {std::floor(exact_sc), std::floor(exact_sc) + 1.0f}) {
                for (const float try_m : {std::floor(exact_m), std::floor(exact_m) + 1.0f}) {
                    const int c = nearest_in(try_sc, 0, 63), n = nearest_in(try_m, 0, 63);
                    const double err = q4_k_group_error(v + 32 * j, d * static_cast<float>(c),
                                                        dmin * static_cast<float>(n));
                    if (best < 0 || err < best) {
                        best = err;
                        sc[j] = c;
                        m[j] = n;
                    }
                }
            }
        }
        uint8_t* scales = block + 4;
        for (int j = 0; j < 4; ++j) {
            scales[j] = static_cast<uint8_t>(sc[j] | (sc[j + 4] >> 4) << 6);
            scales[j + 4] = static_cast<uint8_t>(m[j] | (m[j + 4] >> 4) << 6);
            scales[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | (m[j + 4] & 0xF) << 4);
        }
        for (int j = 0; j < 8; ++j) {
            const float step = d * static_cast<float>(sc[j]);
            const float shift = dmin * static_cast<float>(m[j]);
            uint8_t* qs = block + 16 + 32 * (j / 2);
            for (int l = 0; l < 32; ++l) {
                const int q = q4_k_level(v[32 * j + l], step, shift);
                qs[l] |= static_cast<uint8_t>(j % 2 == 0 ? q : q << 4);
            }
        }
    }
}

}  // namespace tern::kernels
