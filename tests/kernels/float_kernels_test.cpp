// Float kernels: every kernel set reproduces the scalar canonical order bit for bit, and the
// canonical exp is accurate.
#include "kernels/dispatch.h"
#include "kernels/float_kernels.h"
#include "kernels/fp16.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace tern::kernels {
namespace {

std::vector<float> random_floats(int64_t n, uint32_t seed, float sigma = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, sigma);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = d(rng);
    return v;
}

std::vector<uint16_t> to_half(const std::vector<float>& v) {
    std::vector<uint16_t> h(v.size());
    for (size_t i = 0; i < v.size(); ++i) h[i] = float_to_half(v[i]);
    return h;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(FloatKernels, EverySetMatchesTheScalarOrderBitForBit) {
    const FloatKernels& ref = scalar_float_kernels();
    for (const KernelSet* set : supported_kernel_sets()) {
        const FloatKernels& k = *set->floats;
        SCOPED_TRACE(k.isa);
        for (int64_t n : {1, 7, 31, 32, 33, 64, 100, 128, 255, 2560, 6912}) {
            SCOPED_TRACE(n);
            const auto a = random_floats(n, static_cast<uint32_t>(n)), b = random_floats(n, static_cast<uint32_t>(n + 1));
            const auto bh = to_half(b);
            EXPECT_TRUE(same_bits(k.dot_f32(a.data(), b.data(), n), ref.dot_f32(a.data(), b.data(), n)));
            EXPECT_TRUE(same_bits(k.dot_f16(a.data(), bh.data(), n), ref.dot_f16(a.data(), bh.data(), n)));
            EXPECT_TRUE(same_bits(k.sum_squares(a.data(), n), ref.sum_squares(a.data(), n)));
            auto e1 = random_floats(n, 7, 20.0f), e2 = e1;
            EXPECT_TRUE(same_bits(k.exp_shift_sum(e1.data(), n, 3.0f), ref.exp_shift_sum(e2.data(), n, 3.0f)));
            EXPECT_EQ(e1, e2);
            auto g1 = random_floats(n, 8, 4.0f), g2 = g1;
            k.silu_mul(g1.data(), b.data(), n);
            ref.silu_mul(g2.data(), b.data(), n);
            EXPECT_EQ(g1, g2);
            g1 = g2 = random_floats(n, 9, 4.0f);
            k.relu_squared_mul(g1.data(), b.data(), n);
            ref.relu_squared_mul(g2.data(), b.data(), n);
            EXPECT_EQ(g1, g2);
            std::vector<float> y1 = a, y2 = a;
            k.axpy_f32(y1.data(), 0.37f, b.data(), n);
            ref.axpy_f32(y2.data(), 0.37f, b.data(), n);
            EXPECT_EQ(y1, y2);
            k.axpy_f16(y1.data(), -1.5f, bh.data(), n);
            ref.axpy_f16(y2.data(), -1.5f, bh.data(), n);
            EXPECT_EQ(y1, y2);
            k.scale_mul(a.data(), 0.11f, b.data(), y1.data(), n);
            ref.scale_mul(a.data(), 0.11f, b.data(), y2.data(), n);
            EXPECT_EQ(y1, y2);
            std::vector<uint16_t> h1(static_cast<size_t>(n)), h2(static_cast<size_t>(n));
            k.to_f16(a.data(), h1.data(), n);
            ref.to_f16(a.data(), h2.data(), n);
            EXPECT_EQ(h1, h2);
        }
        // GEMV over every stored format, odd row counts.
        const int64_t rows = 37, cols = 512;
        const auto x = random_floats(cols, 3);
        for (FloatWeightFormat f : {FloatWeightFormat::f32, FloatWeightFormat::f16, FloatWeightFormat::bf16,
                                    FloatWeightFormat::q8_0, FloatWeightFormat::q4_k, FloatWeightFormat::q6_k}) {
            const int64_t row_bytes = float_row_bytes(f, cols);
            std::vector<uint8_t> w(static_cast<size_t>(rows * row_bytes));
            std::mt19937 rng(5);
            for (auto& byte : w) byte = static_cast<uint8_t>(rng());
            if (f == FloatWeightFormat::f16 || f == FloatWeightFormat::bf16 || f == FloatWeightFormat::f32) {
                const auto v = random_floats(rows * cols, 4);
                for (int64_t i = 0; i < rows * cols; ++i) {
                    if (f == FloatWeightFormat::f32) std::memcpy(w.data() + 4 * i, &v[static_cast<size_t>(i)], 4);
                    const uint16_t h = f == FloatWeightFormat::f16 ? float_to_half(v[static_cast<size_t>(i)])
                                                                  : float_to_bf16(v[static_cast<size_t>(i)]);
                    if (f != FloatWeightFormat::f32) std::memcpy(w.data() + 2 * i, &h, 2);
                }
            } else {  // block scales must be finite: set every block's fp16 scale fields
                const int64_t block = f == FloatWeightFormat::q8_0 ? 34 : f == FloatWeightFormat::q4_k ? 144 : 210;
                const int64_t d_at = f == FloatWeightFormat::q6_k ? 208 : 0;
                for (int64_t b = 0; b < rows * row_bytes / block; ++b) {
                    const uint16_t d = float_to_half(0.01f);
                    std::memcpy(w.data() + b * block + d_at, &d, 2);
                    if (f == FloatWeightFormat::q4_k) std::memcpy(w.data() + b * block + 2, &d, 2);
                }
            }
            std::vector<float> o1(rows), o2(rows);
            k.gemv(f, w.data(), row_bytes, rows, cols, x.data(), o1.data());
            ref.gemv(f, w.data(), row_bytes, rows, cols, x.data(), o2.data());
            EXPECT_EQ(o1, o2) << "format " << static_cast<int>(f);
        }
    }
}

TEST(FloatKernels, CanonicalExpIsAccurate) {
    double worst = 0;
    for (float x = -80.0f; x < 80.0f; x += 0.0173f) {
        const double expected = std::exp(static_cast<double>(x));
        worst = std::max(worst, std::fabs(canonical_exp(x) - expected) / expected);
    }
    EXPECT_LT(worst, 4e-7);  // a few float ulps
    EXPECT_EQ(canonical_exp(0.0f), 1.0f);
    EXPECT_GT(canonical_exp(-200.0f), 0.0f);
    EXPECT_LT(canonical_exp(-200.0f), 1e-37f);
}

}  // namespace
}  // namespace tern::kernels
