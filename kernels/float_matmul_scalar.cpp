// Scalar reference float matmul over F32 / F16 / BF16 / Q8_0 weight rows.
#include "kernels/float_matmul.h"

#include "kernels/fp16.h"

#include <cstring>
#include <vector>

namespace tern::kernels {

namespace {

constexpr int64_t kQ8Block = 32;
constexpr int64_t kQ8BlockBytes = 34;  // fp16 d, int8 q[32]

}  // namespace

int64_t float_row_bytes(FloatWeightFormat format, int64_t k) {
    switch (format) {
        case FloatWeightFormat::f32: return 4 * k;
        case FloatWeightFormat::f16:
        case FloatWeightFormat::bf16: return 2 * k;
        case FloatWeightFormat::q8_0: return k / kQ8Block * kQ8BlockBytes;
    }
    return 0;
}

void dequantize_row(FloatWeightFormat format, const uint8_t* row, int64_t k, float* out) {
    switch (format) {
        case FloatWeightFormat::f32: std::memcpy(out, row, static_cast<size_t>(4 * k)); return;
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
    }
}

namespace {

// Sum of x[c] * w[c] in the fixed order documented in the header.
float dot_fixed_order(const float* w, const float* x, int64_t k) {
    float partial[8] = {};
    int64_t c = 0;
    for (; c + 8 <= k; c += 8) {
        for (int j = 0; j < 8; ++j) partial[j] += w[c + j] * x[c + j];
    }
    for (int j = 0; c < k; ++c, ++j) partial[j] += w[c] * x[c];
    const float s01 = partial[0] + partial[1], s23 = partial[2] + partial[3];
    const float s45 = partial[4] + partial[5], s67 = partial[6] + partial[7];
    return (s01 + s23) + (s45 + s67);
}

}  // namespace

void float_gemm_ref(FloatWeightFormat format, const uint8_t* weights, int64_t row_bytes,
                    int64_t m_rows, int64_t k, const float* x, int64_t x_stride, int64_t n_tokens,
                    float* out, int64_t out_stride) {
    std::vector<float> row(static_cast<size_t>(k));
    for (int64_t m = 0; m < m_rows; ++m) {
        dequantize_row(format, weights + m * row_bytes, k, row.data());
        for (int64_t n = 0; n < n_tokens; ++n) {
            out[n * out_stride + m] = dot_fixed_order(row.data(), x + n * x_stride, k);
        }
    }
}

}  // namespace tern::kernels
