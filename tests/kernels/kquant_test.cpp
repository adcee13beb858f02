// K-quant output layers (--lm-head q6 / q4): the Q8_K activation rule, the load-time Q6_K / Q4_K
// quantizers against ggml's decoder (float_rows), the canonical dots against a double-precision
// sum of the decoded values, and every kernel set's GEMV against the definition bit for bit.
#include "kernels/kquant.h"
#include "kernels/dispatch.h"
#include "kernels/float_kernels.h"
#include "kernels/fp16.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

namespace tern::kernels {
namespace {

std::vector<float> gaussian(int64_t n, uint32_t seed, float sigma) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, sigma);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = d(rng);
    return v;
}

bool same_bits(float a, float b) {
    return std::memcmp(&a, &b, sizeof a) == 0;
}

// A token's activations and their storage.
struct Activations {
    std::vector<int8_t> q;
    std::vector<float> d;
    std::vector<int16_t> sums;
    Q8KActivations view() const { return {q.data(), d.data(), sums.data()}; }
};

Activations quantize(const std::vector<float>& x) {
    const auto n = static_cast<int64_t>(x.size());
    Activations a{std::vector<int8_t>(x.size()), std::vector<float>(x.size() / 256),
                  std::vector<int16_t>(x.size() / 16)};
    quantize_q8_k_activations(x.data(), n, a.q.data(), a.d.data(), a.sums.data());
    return a;
}

// Random Q6_K / Q4_K rows: every byte random (so every 6-bit value, scale and min occurs,
// sc = -128 included) except the fp16 scales, kept finite and of a realistic size.
std::vector<uint8_t> random_rows(FloatWeightFormat format, int64_t rows, int64_t k, uint32_t seed) {
    std::mt19937 rng(seed);
    const int64_t row_bytes = float_row_bytes(format, k);
    std::vector<uint8_t> w(static_cast<size_t>(rows * row_bytes));
    for (auto& byte : w) byte = static_cast<uint8_t>(rng());
    std::uniform_real_distribution<float> scale(1e-4f, 1e-2f);
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t b = 0; b < k / 256; ++b) {
            uint8_t* block =
                w.data() + r * row_bytes + b * (format == FloatWeightFormat::q6_k ? 210 : 144);
            const uint16_t d = float_to_half(scale(rng)), dmin = float_to_half(scale(rng));
            if (format == FloatWeightFormat::q6_k) {
                std::memcpy(block + 208, &d, 2);
            } else {
                std::memcpy(block, &d, 2);
                std::memcpy(block + 2, &dmin, 2);
            }
        }
    }
    return w;
}

TEST(KQuantGemv, Q8KActivationsFollowTheirDefinition) {
    std::vector<float> x = gaussian(768, 3, 2.0f);
    std::fill(x.begin() + 256, x.begin() + 512, 0.0f);  // an all-zero block: d = 0, q = 0
    x[600] = -300.0f;                                   // the third block's max: q = -127
    const Activations a = quantize(x);
    for (int b = 0; b < 3; ++b) {
        float amax = 0.0f;
        for (int i = 0; i < 256; ++i)
            amax = std::max(amax, std::fabs(x[static_cast<size_t>(256 * b + i)]));
        EXPECT_EQ(a.d[static_cast<size_t>(b)], amax / 127.0f);
    }
    EXPECT_EQ(a.d[1], 0.0f);
    EXPECT_EQ(a.q[600], -127);
    for (int i = 0; i < 768; ++i) {
        const float d = a.d[static_cast<size_t>(i / 256)];
        const float expected = d == 0.0f ? 0.0f : std::nearbyint(x[static_cast<size_t>(i)] / d);
        EXPECT_EQ(a.q[static_cast<size_t>(i)], static_cast<int8_t>(expected)) << i;
    }
    for (int g = 0; g < 48; ++g) {
        int sum = 0;
        for (int i = 0; i < 16; ++i) sum += a.q[static_cast<size_t>(16 * g + i)];
        EXPECT_EQ(a.sums[static_cast<size_t>(g)], sum) << g;
    }
}

// Quantizes a row, decodes it with float_rows' decoder, and checks each element's error against
// its group's step, and the whole row's relative RMS error.
void check_round_trip(FloatWeightFormat format, int group, double max_relative_rms) {
    const int64_t k = 2560;
    std::vector<float> x = gaussian(k, 5, 0.02f);
    x[7] = 0.5f;                                        // an outlier (Q6_K: its group's peak)
    std::fill(x.begin() + 512, x.begin() + 768, 0.0f);  // an all-zero block
    for (int i = 1024; i < 1056; ++i)
        x[static_cast<size_t>(i)] = -0.01f - 1e-4f * i;  // all negative
    std::vector<uint8_t> row(static_cast<size_t>(float_row_bytes(format, k)));
    if (format == FloatWeightFormat::q6_k)
        quantize_row_q6_k(x.data(), k, row.data());
    else
        quantize_row_q4_k(x.data(), k, row.data());
    std::vector<float> y(static_cast<size_t>(k));
    dequantize_row(format, row.data(), k, y.data());
    double err2 = 0, sig2 = 0;
    for (int64_t g = 0; g < k / group; ++g) {
        float lo = 0.0f, hi = 0.0f;
        for (int i = 0; i < group; ++i) {
            lo = std::min(lo, x[static_cast<size_t>(g * group + i)]);
            hi = std::max(hi, x[static_cast<size_t>(g * group + i)]);
        }
        // Q6_K: 64 steps over +-peak; Q4_K: 15 over the range from min(0, min).
        const float range = format == FloatWeightFormat::q6_k ? 2 * std::max(-lo, hi) : hi - lo;
        const float levels = format == FloatWeightFormat::q6_k ? 63.0f : 15.0f;
        for (int i = 0; i < group; ++i) {
            const auto at = static_cast<size_t>(g * group + i);
            const double err = std::fabs(static_cast<double>(y[at]) - x[at]);
            // Half a step, plus the rounding of the 6-bit scales (the smallest groups' scales
            // round by up to half their value) and the fp16 block scales.
            EXPECT_LE(err, range / levels * 1.05 + 2e-3 * range + 1e-6) << "element " << at;
            err2 += err * err;
            sig2 += static_cast<double>(x[at]) * x[at];
        }
    }
    for (int i = 512; i < 768; ++i) EXPECT_EQ(y[static_cast<size_t>(i)], 0.0f);
    EXPECT_LT(std::sqrt(err2 / sig2), max_relative_rms);
}

TEST(KQuantGemv, Q6KQuantizerRoundTripsThroughTheDecoder) {
    check_round_trip(FloatWeightFormat::q6_k, 16, 0.02);
}

TEST(KQuantGemv, Q4KQuantizerRoundTripsThroughTheDecoder) {
    check_round_trip(FloatWeightFormat::q4_k, 32, 0.12);
}

// Non-finite and huge weights (a damaged file's embedding) quantize without undefined behaviour
// (UBSan checks the float-to-int conversions in CI), and the blocks without them are unaffected.
TEST(KQuantGemv, QuantizersSurviveNonFiniteWeights) {
    const int64_t k = 1024;
    const std::vector<float> clean = gaussian(k, 8, 0.02f);
    std::vector<float> x = clean;
    x[3] = std::numeric_limits<float>::quiet_NaN();
    x[300] = std::numeric_limits<float>::infinity();
    x[301] = -std::numeric_limits<float>::infinity();
    x[600] = 3e38f;
    x[601] = -3e38f;
    for (FloatWeightFormat format : {FloatWeightFormat::q6_k, FloatWeightFormat::q4_k}) {
        std::vector<uint8_t> dirty_row(static_cast<size_t>(float_row_bytes(format, k)));
        std::vector<uint8_t> clean_row(dirty_row.size());
        const auto quantize =
            format == FloatWeightFormat::q6_k ? quantize_row_q6_k : quantize_row_q4_k;
        quantize(x.data(), k, dirty_row.data());
        quantize(clean.data(), k, clean_row.data());
        const int64_t block_bytes = float_row_bytes(format, 256);
        // Blocks 0-2 hold the bad values; block 3 must come out as from the clean row.
        EXPECT_TRUE(std::equal(dirty_row.begin() + 3 * block_bytes, dirty_row.end(),
                               clean_row.begin() + 3 * block_bytes));
    }
}

// Rows that reach every branch of the Q6_K and Q4_K quantizers' choices: gaussian groups of
// several sizes, ties of magnitude (+a before -a and after), all-zero, signed-zero and all-positive
// groups and blocks, a NaN first element (Q4_K's running maximum starts there),
// NaN, infinities, huge values whose scale overflows fp16, values below fp16's smallest scale,
// and values on the rounding boundaries of their level.
std::vector<float> k_quant_edge_rows(int64_t k) {
    std::vector<float> x = gaussian(k, 21, 0.02f);
    std::mt19937 rng(22);
    for (int64_t g = 0; g < k / 16; ++g) {
        float* v = x.data() + 16 * g;
        switch (g % 16) {
            case 0:
                v[3] = 0.7f, v[9] = -0.7f;
                break;  // tie: the first wins
            case 1:
                v[2] = -0.7f, v[11] = 0.7f;
                break;  // tie the other way
            case 2:
                std::fill(v, v + 16, 0.0f);
                break;  // an all-zero group
            case 3:
                std::fill(v, v + 16, -0.0f);
                break;  // signed zeros
            case 4:
                v[5] = std::numeric_limits<float>::quiet_NaN();
                break;
            case 5:
                for (int i = 0; i < 16; ++i) v[i] *= 1e-9f;
                break;  // below fp16 scales
            case 6:
                for (int i = 0; i < 16; ++i) v[i] = 0.01f * (i - 8) + 0.005f;
                break;  // x.5 steps
            case 7:     // a large group, in one block only (it sets its block's scale)
                if (g / 16 == 3)
                    for (int i = 0; i < 16; ++i) v[i] *= 100.0f;
                break;
            case 8:
                v[rng() % 16] = 0.31f;
                break;  // one outlier
            case 9:
                for (int i = 0; i < 16; ++i) v[i] = std::fabs(v[i]);
                break;  // all positive: Q4_K's min is 0
            case 10:
                v[0] = std::numeric_limits<float>::quiet_NaN();
                break;  // a NaN first element of a 32-element group
            case 12:
            case 13:  // one 32-element group at most 0, its zeros of both signs
                for (int i = 0; i < 16; ++i) v[i] = -std::fabs(v[i]);
                v[3] = 0.0f, v[7] = -0.0f, v[12] = 0.0f;
                break;
            default:
                break;
        }
    }
    // Whole blocks: all zero, all NaN, an infinity, a value whose scale overflows fp16.
    if (k >= 1280) {
        std::fill(x.begin() + 256, x.begin() + 512, 0.0f);
        std::fill(x.begin() + 512, x.begin() + 768, std::numeric_limits<float>::quiet_NaN());
        x[800] = std::numeric_limits<float>::infinity();
        x[1100] = -3e38f;
    }
    return x;
}

TEST(KQuantGemv, QuantizersOfEverySetAreTheDefinitionBitForBit) {
    for (FloatWeightFormat format : {FloatWeightFormat::q6_k, FloatWeightFormat::q4_k}) {
        const bool q6 = format == FloatWeightFormat::q6_k;
        for (int64_t k : {256, 2560}) {
            const std::vector<float> x = k_quant_edge_rows(k);  // k = 256: the group cases only
            const int64_t row_bytes = float_row_bytes(format, k), block_bytes = q6 ? 210 : 144;
            std::vector<uint8_t> expected(static_cast<size_t>(row_bytes));
            (q6 ? quantize_row_q6_k : quantize_row_q4_k)(x.data(), k, expected.data());
            for (const KernelSet* set : supported_kernel_sets()) {
                SCOPED_TRACE(testing::Message()
                             << set->floats->isa << (q6 ? " q6_k" : " q4_k") << " k=" << k);
                std::vector<uint8_t> got(static_cast<size_t>(row_bytes), 0xAA);
                (q6 ? set->floats->quantize_q6_k : set->floats->quantize_q4_k)(x.data(), k,
                                                                               got.data());
                for (int64_t i = 0; i < row_bytes; ++i) {
                    EXPECT_EQ(got[static_cast<size_t>(i)], expected[static_cast<size_t>(i)])
                        << "byte " << i % block_bytes << " of block " << i / block_bytes;
                }
            }
        }
    }
}

// The definition against the decoded weights times the dequantised activations, in double.
TEST(KQuantGemv, CanonicalDotsEqualTheDecodedSum) {
    for (FloatWeightFormat format : {FloatWeightFormat::q6_k, FloatWeightFormat::q4_k}) {
        SCOPED_TRACE(format == FloatWeightFormat::q6_k ? "q6_k" : "q4_k");
        const int64_t k = 1024;
        const auto w = random_rows(format, 1, k, 9);
        const Activations a = quantize(gaussian(k, 10, 1.0f));
        std::vector<float> decoded(static_cast<size_t>(k));
        dequantize_row(format, w.data(), k, decoded.data());
        double expected = 0, magnitude = 0;
        for (int64_t i = 0; i < k; ++i) {
            const double term = static_cast<double>(decoded[static_cast<size_t>(i)]) *
                                a.q[static_cast<size_t>(i)] * a.d[static_cast<size_t>(i / 256)];
            expected += term;
            magnitude += std::fabs(term);
        }
        const float got = format == FloatWeightFormat::q6_k ? dot_q6_k_q8_k(w.data(), k, a.view())
                                                            : dot_q4_k_q8_k(w.data(), k, a.view());
        EXPECT_NEAR(got, expected, 1e-5 * magnitude);
        EXPECT_GT(std::fabs(expected), 1e-3 * magnitude);  // not a sum that cancels to nothing
    }
}

TEST(KQuantGemv, GemvOfEverySetIsTheDefinitionBitForBit) {
    for (const KernelSet* set : supported_kernel_sets()) {
        const FloatKernels& kernels = *set->floats;
        SCOPED_TRACE(kernels.isa);
        for (FloatWeightFormat format : {FloatWeightFormat::q6_k, FloatWeightFormat::q4_k}) {
            for (int64_t k : {256, 512, 2560}) {
                for (int64_t rows : {1, 3, 37}) {
                    SCOPED_TRACE(testing::Message()
                                 << (format == FloatWeightFormat::q6_k ? "q6_k " : "q4_k ") << rows
                                 << "x" << k);
                    const auto w = random_rows(format, rows, k, static_cast<uint32_t>(rows + k));
                    auto x = gaussian(k, static_cast<uint32_t>(k), 2.0f);
                    x[0] = 1000.0f;  // one block whose other values quantise to small integers
                    for (int64_t i = 256; i < std::min<int64_t>(k, 272); ++i)
                        x[static_cast<size_t>(i)] = -1000.0f;  // a group of -127s
                    const Activations a = quantize(x);
                    const int64_t row_bytes = float_row_bytes(format, k);
                    std::vector<float> out(static_cast<size_t>(rows)),
                        ref(static_cast<size_t>(rows));
                    kernels.gemv_k_q8(format, w.data(), row_bytes, rows, k, a.view(), out.data());
                    gemv_k_q8_by_definition(format, w.data(), row_bytes, rows, k, a.view(),
                                            ref.data());
                    for (int64_t r = 0; r < rows; ++r) {
                        const auto at = static_cast<size_t>(r);
                        EXPECT_TRUE(same_bits(out[at], ref[at]))
                            << "row " << r << ": " << out[at] << " vs " << ref[at];
                    }
                }
            }
        }
    }
}

}  // namespace
}  // namespace tern::kernels
