// Decoding F32 / F16 / BF16 / Q8_0 / Q4_K / Q6_K weight rows to floats.
#include "kernels/float_rows.h"

#include "kernels/fp16.h"

#include <cstring>

namespace tern::kernels {

namespace {

constexpr int64_t kQ8Block = 32;
constexpr int64_t kKBlock = 256;

void dequantize_q4_k_block(const uint8_t* block, float* out) {
    const float d = load_half(block), dmin = load_half(block + 2);
    const Q4KScales s = q4_k_scales(block);
    const uint8_t* qs = block + 16;
    for (int pair = 0; pair < 4; ++pair) {
        const int lo = 2 * pair, hi = 2 * pair + 1;
        const float d_lo = d * static_cast<float>(s.bytes[lo]);
        const float min_lo = dmin * static_cast<float>(s.bytes[8 + lo]);
        const float d_hi = d * static_cast<float>(s.bytes[hi]);
        const float min_hi = dmin * static_cast<float>(s.bytes[8 + hi]);
        const uint8_t* q = qs + 32 * pair;
        for (int l = 0; l < 32; ++l)
            out[64 * pair + l] = d_lo * static_cast<float>(q[l] & 0xF) - min_lo;
        for (int l = 0; l < 32; ++l)
            out[64 * pair + 32 + l] = d_hi * static_cast<float>(q[l] >> 4) - min_hi;
    }
}

void dequantize_q6_k_block(const uint8_t* block, float* out) {
    const float d = load_half(block + 208);
    for (int half = 0; half < 2; ++half) {
        const uint8_t* ql = block + 64 * half;
        const uint8_t* qh = block + 128 + 32 * half;
        const auto* sc = reinterpret_cast<const int8_t*>(block + 192 + 8 * half);
        float* y = out + 128 * half;
        for (int l = 0; l < 32; ++l) {
            const int is = l / 16;
            const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
            const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
            const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
            y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
            y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
            y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
        }
    }
}

}  // namespace

int64_t float_format_block(FloatWeightFormat format) {
    switch (format) {
        case FloatWeightFormat::q8_0:
            return kQ8Block;
        case FloatWeightFormat::q4_k:
        case FloatWeightFormat::q6_k:
            return kKBlock;
        default:
            return 1;
    }
}

const char* float_format_name(FloatWeightFormat format) {
    switch (format) {
        case FloatWeightFormat::f32:
            return "f32";
        case FloatWeightFormat::f16:
            return "f16";
        case FloatWeightFormat::bf16:
            return "bf16";
        case FloatWeightFormat::q8_0:
            return "q8_0";
        case FloatWeightFormat::q4_k:
            return "q4_k";
        case FloatWeightFormat::q6_k:
            return "q6_k";
    }
    return "?";
}

int64_t float_row_bytes(FloatWeightFormat format, int64_t k) {
    switch (format) {
        case FloatWeightFormat::f32:
            return 4 * k;
        case FloatWeightFormat::f16:
        case FloatWeightFormat::bf16:
            return 2 * k;
        case FloatWeightFormat::q8_0:
            return k / kQ8Block * kQ8BlockBytes;
        case FloatWeightFormat::q4_k:
            return k / kKBlock * kQ4KBlockBytes;
        case FloatWeightFormat::q6_k:
            return k / kKBlock * kQ6KBlockBytes;
    }
    return 0;
}

void dequantize_row(FloatWeightFormat format, const uint8_t* row, int64_t k, float* out) {
    switch (format) {
        case FloatWeightFormat::f32:
            std::memcpy(out, row, static_cast<size_t>(4 * k));
            return;
        case FloatWeightFormat::f16:
            for (int64_t i = 0; i < k; ++i) {
                uint16_t h;
                std::memcpy(&h, row + 2 * i, 2);
                out[i] = half_to_float(h);
            }
            return;
        case FloatWeightFormat::bf16:
            for (int64_t i = 0; i < k; ++i) {
                uint16_t b;
                std::memcpy(&b, row + 2 * i, 2);
                out[i] = bf16_to_float(b);
            }
            return;
        case FloatWeightFormat::q8_0:
            for (int64_t b = 0; b < k / kQ8Block; ++b) {
                const uint8_t* block = row + b * kQ8BlockBytes;
                uint16_t h;
                std::memcpy(&h, block, 2);
                const float d = half_to_float(h);
                const auto* q = reinterpret_cast<const int8_t*>(block + 2);
                for (int64_t i = 0; i < kQ8Block; ++i) out[b * kQ8Block + i] = d * q[i];
            }
            return;
        case FloatWeightFormat::q4_k:
            for (int64_t b = 0; b < k / kKBlock; ++b) {
                dequantize_q4_k_block(row + b * kQ4KBlockBytes, out + b * kKBlock);
            }
            return;
        case FloatWeightFormat::q6_k:
            for (int64_t b = 0; b < k / kKBlock; ++b) {
                dequantize_q6_k_block(row + b * kQ6KBlockBytes, out + b * kKBlock);
            }
            return;
    }
}

}  // namespace tern::kernels
