// Float kernels: every kernel set reproduces the scalar canonical order bit for bit (and the Q8
// output-layer GEMV its written-out definition), and the canonical exp is accurate.
#include "kernels/float_kernels.h"
#include "kernels/dispatch.h"
#include "kernels/float_rows.h"
#include "kernels/fp16.h"

#include <gtest/gtest.h>

#include <algorithm>
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

bool same_bits(float a, float b) {
    return std::memcmp(&a, &b, sizeof a) == 0;
}

TEST(FloatKernels, EverySetMatchesTheScalarOrderBitForBit) {
    const FloatKernels& ref = scalar_float_kernels();
    for (const KernelSet* set : supported_kernel_sets()) {
        const FloatKernels& k = *set->floats;
        SCOPED_TRACE(k.isa);
        for (int64_t n : {1, 7, 31, 32, 33, 64, 100, 128, 255, 2560, 6912}) {
            SCOPED_TRACE(n);
            const auto a = random_floats(n, static_cast<uint32_t>(n)),
                       b = random_floats(n, static_cast<uint32_t>(n + 1));
            const auto bh = to_half(b);
            EXPECT_TRUE(
                same_bits(k.dot_f32(a.data(), b.data(), n), ref.dot_f32(a.data(), b.data(), n)));
            EXPECT_TRUE(
                same_bits(k.dot_f16(a.data(), bh.data(), n), ref.dot_f16(a.data(), bh.data(), n)));
            EXPECT_TRUE(same_bits(k.sum_squares(a.data(), n), ref.sum_squares(a.data(), n)));
            auto e1 = random_floats(n, 7, 20.0f), e2 = e1;
            EXPECT_TRUE(same_bits(k.exp_shift_sum(e1.data(), n, 3.0f),
                                  ref.exp_shift_sum(e2.data(), n, 3.0f)));
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
        // GEMV over every stored format, row counts below, at and past a multiple of the GEMVs'
        // streams (rows are read as up to 4 far-apart streams); the float formats also with a
        // tail.
        for (int64_t rows : {1, 3, 8, 37})
            for (int64_t cols : {512, 100})
                for (FloatWeightFormat f :
                     {FloatWeightFormat::f32, FloatWeightFormat::f16, FloatWeightFormat::bf16,
                      FloatWeightFormat::q8_0, FloatWeightFormat::q4_k, FloatWeightFormat::q6_k}) {
                    if (cols % 256 != 0 &&
                        !(f == FloatWeightFormat::f32 || f == FloatWeightFormat::f16 ||
                          f == FloatWeightFormat::bf16)) {
                        continue;  // block formats: whole blocks only
                    }
                    SCOPED_TRACE(cols);
                    const auto x = random_floats(cols, 3);
                    const int64_t row_bytes = float_row_bytes(f, cols);
                    std::vector<uint8_t> w(static_cast<size_t>(rows * row_bytes));
                    std::mt19937 rng(5);
                    for (auto& byte : w) byte = static_cast<uint8_t>(rng());
                    if (f == FloatWeightFormat::f16 || f == FloatWeightFormat::bf16 ||
                        f == FloatWeightFormat::f32) {
                        const auto v = random_floats(rows * cols, 4);
                        for (int64_t i = 0; i < rows * cols; ++i) {
                            if (f == FloatWeightFormat::f32)
                                std::memcpy(w.data() + 4 * i, &v[static_cast<size_t>(i)], 4);
                            const uint16_t h = f == FloatWeightFormat::f16
                                                   ? float_to_half(v[static_cast<size_t>(i)])
                                                   : float_to_bf16(v[static_cast<size_t>(i)]);
                            if (f != FloatWeightFormat::f32) std::memcpy(w.data() + 2 * i, &h, 2);
                        }
                    } else {  // block scales must be finite: set every block's fp16 scale fields
                        const int64_t block = f == FloatWeightFormat::q8_0   ? 34
                                              : f == FloatWeightFormat::q4_k ? 144
                                                                             : 210;
                        const int64_t d_at = f == FloatWeightFormat::q6_k ? 208 : 0;
                        for (int64_t b = 0; b < rows * row_bytes / block; ++b) {
                            const uint16_t d = float_to_half(0.01f);
                            std::memcpy(w.data() + b * block + d_at, &d, 2);
                            if (f == FloatWeightFormat::q4_k)
                                std::memcpy(w.data() + b * block + 2, &d, 2);
                        }
                    }
                    std::vector<float> o1(rows), o2(rows);
                    k.gemv(f, w.data(), row_bytes, rows, cols, x.data(), o1.data());
                    ref.gemv(f, w.data(), row_bytes, rows, cols, x.data(), o2.data());
                    for (int64_t r = 0; r < rows; ++r) {
                        EXPECT_TRUE(
                            same_bits(o1[static_cast<size_t>(r)], o2[static_cast<size_t>(r)]))
                            << "format " << static_cast<int>(f) << " row " << r;
                    }
                }
    }
}

// Q8_0 quantization at load: every set writes the scalar definition's bytes, for plain values,
// exact ties of x / d at .5, all-zero and single-value blocks, subnormals, huge values, and NaN
// and infinity (which the max skips or saturates).
TEST(FloatKernels, Q8_0QuantizationOfEverySetIsTheScalarsBitForBit) {
    std::vector<float> x = random_floats(32 * 64, 11);
    for (int i = 0; i < 32; ++i) x[32 + static_cast<size_t>(i)] = 0.0f;  // block 1: zeros
    x[64 + 5] = -3.0f;                                                   // block 2: one value
    for (int i = 0; i < 32; ++i) {  // block 3: d = 0.5 and x / d = k + 0.5: ties
        x[96 + static_cast<size_t>(i)] = static_cast<float>(i - 16) * 0.5f + 0.25f;
    }
    x[96] = 127.0f / 2.0f;
    for (int i = 0; i < 32; ++i) x[128 + static_cast<size_t>(i)] *= 1e-41f;    // block 4: subnormal
    for (int i = 0; i < 32; ++i) x[160 + static_cast<size_t>(i)] *= 1e30f;     // block 5: huge
    x[192 + 3] = NAN;                                                          // block 6: a NaN
    x[224 + 7] = INFINITY;                                                     // block 7: +inf
    x[256 + 9] = -INFINITY;                                                    // block 8: -inf
    for (int i = 0; i < 32; ++i) x[288 + static_cast<size_t>(i)] = NAN;        // block 9: all NaN
    for (int i = 0; i < 32; ++i) x[320 + static_cast<size_t>(i)] *= 70000.0f;  // fp16 overflow
    const int64_t n = static_cast<int64_t>(x.size());
    std::vector<uint8_t> expected(static_cast<size_t>(n / 32 * kQ8BlockBytes));
    quantize_q8_0(x.data(), n, expected.data());
    EXPECT_EQ(expected[3 * kQ8BlockBytes + 2 + 0], 127);  // the block's largest value
    EXPECT_EQ(expected[3 * kQ8BlockBytes + 2 + 1], static_cast<uint8_t>(-14));  // -14.5 to even
    EXPECT_EQ(expected[3 * kQ8BlockBytes + 2 + 2], static_cast<uint8_t>(-14));  // -13.5 to even
    for (const KernelSet* set : supported_kernel_sets()) {
        SCOPED_TRACE(set->floats->isa);
        for (int64_t length : {int64_t{32}, int64_t{96}, n}) {
            std::vector<uint8_t> got(static_cast<size_t>(length / 32 * kQ8BlockBytes), 0xAA);
            set->floats->quantize_q8_0(x.data(), length, got.data());
            EXPECT_TRUE(std::equal(got.begin(), got.end(), expected.begin())) << length;
        }
    }
}

// n cached rows of len values in `format`, row_bytes apart (padding between, as in the KV cache).
std::vector<uint8_t> cached_rows(FloatWeightFormat f, int64_t n, int64_t len, int64_t row_bytes,
                                 uint32_t seed) {
    std::vector<uint8_t> rows(static_cast<size_t>(n * row_bytes), 0xAB);
    const auto values = random_floats(n * len, seed, 2.0f);
    for (int64_t j = 0; j < n; ++j) {
        uint8_t* row = rows.data() + j * row_bytes;
        const float* v = values.data() + j * len;
        if (f == FloatWeightFormat::f32) std::memcpy(row, v, static_cast<size_t>(4 * len));
        if (f == FloatWeightFormat::f16) {
            for (int64_t d = 0; d < len; ++d) {
                const uint16_t h = float_to_half(v[d]);
                std::memcpy(row + 2 * d, &h, 2);
            }
        }
        if (f == FloatWeightFormat::q8_0) quantize_q8_0(v, len, row);
    }
    return rows;
}

// The weighted sum of cached values added onto y: every set gives exactly its own axpy of each
// row onto y in turn, which itself matches the scalar axpy; rows padded (row_bytes > the values)
// as in the KV cache, head sizes with and without tails.
TEST(FloatKernels, AddWeightedRowsIsTheAxpySequenceBitForBit) {
    const FloatKernels& ref = scalar_float_kernels();
    for (const KernelSet* set : supported_kernel_sets()) {
        const FloatKernels& k = *set->floats;
        SCOPED_TRACE(k.isa);
        for (FloatWeightFormat f :
             {FloatWeightFormat::f32, FloatWeightFormat::f16, FloatWeightFormat::q8_0}) {
            for (int64_t len : {32, 64, 80, 100, 128, 200, 256}) {
                if (f == FloatWeightFormat::q8_0 && len % 32 != 0) continue;
                for (int64_t n : {1, 2, 7, 300}) {
                    SCOPED_TRACE(testing::Message() << "format " << static_cast<int>(f) << " len "
                                                    << len << " n " << n);
                    const int64_t row_bytes = float_row_bytes(f, len) + 64;  // other heads follow
                    const auto rows =
                        cached_rows(f, n, len, row_bytes, static_cast<uint32_t>(len + n));
                    auto p = random_floats(n, 11, 1.0f);
                    for (auto& x : p) x = std::fabs(x) / static_cast<float>(n);
                    // Added onto a y already holding values (the sum of earlier rows).
                    const std::vector<float> y0 = random_floats(len, 5, 1.0f);
                    std::vector<float> got = y0, want = y0;
                    k.add_weighted_rows(f, p.data(), n, rows.data(), row_bytes, len, got.data());
                    for (int64_t j = 0; j < n; ++j) {
                        const uint8_t* row = rows.data() + j * row_bytes;
                        if (f == FloatWeightFormat::f32)
                            ref.axpy_f32(want.data(), p[j], reinterpret_cast<const float*>(row),
                                         len);
                        if (f == FloatWeightFormat::f16)
                            ref.axpy_f16(want.data(), p[j], reinterpret_cast<const uint16_t*>(row),
                                         len);
                        if (f == FloatWeightFormat::q8_0)
                            ref.axpy_q8_0(want.data(), p[j], row, len);
                    }
                    for (int64_t d = 0; d < len; ++d) {
                        ASSERT_TRUE(
                            same_bits(got[static_cast<size_t>(d)], want[static_cast<size_t>(d)]))
                            << "value " << d << ": " << got[static_cast<size_t>(d)] << " vs "
                            << want[static_cast<size_t>(d)];
                    }
                }
            }
        }
    }
}

// Attention's kernels for the query heads sharing a KV head give each head exactly what the
// one-head kernels of the scalar set give it alone: every head count up to past two passes of
// four, head sizes with and without tails, strides wider than the values.
TEST(FloatKernels, HeadsAtOnceAreEachHeadAloneBitForBit) {
    const FloatKernels& ref = scalar_float_kernels();
    for (const KernelSet* set : supported_kernel_sets()) {
        const FloatKernels& k = *set->floats;
        SCOPED_TRACE(k.isa);
        for (FloatWeightFormat f :
             {FloatWeightFormat::f32, FloatWeightFormat::f16, FloatWeightFormat::q8_0}) {
            for (int64_t len : {8, 32, 48, 64, 80, 96, 100, 128, 256}) {
                if (f == FloatWeightFormat::q8_0 && len % 32 != 0) continue;
                for (int64_t heads : {1, 2, 3, 4, 5, 8, 9}) {
                    const int64_t n = 37;
                    SCOPED_TRACE(testing::Message() << "format " << static_cast<int>(f) << " len "
                                                    << len << " heads " << heads);
                    const int64_t row_bytes = float_row_bytes(f, len) + 64;
                    const auto rows = cached_rows(f, n, len, row_bytes, static_cast<uint32_t>(len));
                    // Scores: x rows len + 3 apart, out rows n + 5 apart.
                    const int64_t x_stride = len + 3, out_stride = n + 5;
                    const auto x = random_floats(heads * x_stride, 21, 1.0f);
                    std::vector<float> got(static_cast<size_t>(heads * out_stride), -7.0f),
                        want = got;
                    k.gemv_heads(f, rows.data(), row_bytes, n, len, x.data(), x_stride, heads,
                                 got.data(), out_stride);
                    for (int64_t h = 0; h < heads; ++h)
                        ref.gemv(f, rows.data(), row_bytes, n, len, x.data() + h * x_stride,
                                 want.data() + h * out_stride);
                    for (size_t i = 0; i < got.size(); ++i)
                        ASSERT_TRUE(same_bits(got[i], want[i])) << "score " << i;
                    // Weighted sums onto y already holding values: p rows n + 2 apart, y rows
                    // len + 1 apart.
                    const int64_t p_stride = n + 2, y_stride = len + 1;
                    auto p = random_floats(heads * p_stride, 22, 1.0f);
                    for (auto& v : p) v = std::fabs(v) / static_cast<float>(n);
                    const auto y0 = random_floats(heads * y_stride, 23, 1.0f);
                    std::vector<float> got_y = y0, want_y = y0;
                    k.add_weighted_rows_heads(f, p.data(), p_stride, n, rows.data(), row_bytes, len,
                                              got_y.data(), y_stride, heads);
                    for (int64_t h = 0; h < heads; ++h)
                        ref.add_weighted_rows(f, p.data() + h * p_stride, n, rows.data(), row_bytes,
                                              len, want_y.data() + h * y_stride);
                    for (size_t i = 0; i < got_y.size(); ++i)
                        ASSERT_TRUE(same_bits(got_y[i], want_y[i])) << "value " << i;
                }
            }
        }
    }
}

// Q8_0 rows with random bytes (every int8 value, -128 included) and finite block scales.
std::vector<uint8_t> random_q8_0_rows(int64_t rows, int64_t cols, uint32_t seed) {
    std::vector<uint8_t> w(static_cast<size_t>(rows * cols / 32 * 34));
    std::mt19937 rng(seed);
    for (auto& byte : w) byte = static_cast<uint8_t>(rng());
    std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
    for (size_t b = 0; b < w.size() / 34; ++b) {
        const uint16_t d = float_to_half(b % 7 == 3 ? 0.0f : scale(rng));
        std::memcpy(w.data() + 34 * b, &d, 2);
    }
    return w;
}

// The canonical Q8_0 x Q8 order of float_kernels.h, written out independently of the kernels.
float q8_dot_by_the_definition(const uint8_t* row, const int8_t* xq, const float* xd, int64_t k) {
    float even[8] = {}, odd[8] = {};
    for (int64_t b = 0; b < k / 32; ++b) {
        uint16_t h;
        std::memcpy(&h, row + 34 * b, 2);
        const float d = half_to_float(h) * xd[b];
        for (int j = 0; j < 8; ++j) {
            int32_t s = 0;
            for (int i = 0; i < 4; ++i) {
                const auto w = static_cast<int8_t>(row[34 * b + 2 + 4 * j + i]);
                s += w * xq[32 * b + 4 * j + i];
            }
            const float p = static_cast<float>(s) * d;
            float& acc = b % 2 == 0 ? even[j] : odd[j];
            acc = acc + p;
        }
    }
    float a[8];
    for (int j = 0; j < 8; ++j) a[j] = even[j] + odd[j];
    const float left = (a[0] + a[4]) + (a[2] + a[6]);
    const float right = (a[1] + a[5]) + (a[3] + a[7]);
    return left + right;
}

TEST(FloatKernels, Q8ActivationsFollowTheirDefinition) {
    std::vector<float> x = random_floats(96, 11, 3.0f);
    for (int i = 32; i < 64; ++i)
        x[static_cast<size_t>(i)] = 0.0f;  // an all-zero block: d = 0, q = 0
    x[70] = -1e-3f;
    x[71] = 250.0f;  // the block's max: q = 127, and -1e-3 rounds to 0
    std::vector<int8_t> q(96);
    std::vector<float> d(3);
    quantize_q8_activations(x.data(), 96, q.data(), d.data());
    for (int b = 0; b < 3; ++b) {
        float amax = 0.0f;
        for (int i = 0; i < 32; ++i)
            amax = std::max(amax, std::fabs(x[static_cast<size_t>(32 * b + i)]));
        EXPECT_EQ(d[static_cast<size_t>(b)], amax / 127.0f);
    }
    EXPECT_EQ(d[1], 0.0f);
    for (int i = 32; i < 64; ++i) EXPECT_EQ(q[static_cast<size_t>(i)], 0);
    EXPECT_EQ(q[71], 127);
    EXPECT_EQ(q[70], 0);
    for (int i = 0; i < 96; ++i) {
        const float di = d[static_cast<size_t>(i / 32)];
        if (di == 0.0f) continue;
        const float expected = std::nearbyint(x[static_cast<size_t>(i)] / di);
        EXPECT_EQ(q[static_cast<size_t>(i)], static_cast<int8_t>(expected)) << i;
        EXPECT_LE(std::fabs(q[static_cast<size_t>(i)] * di - x[static_cast<size_t>(i)]),
                  0.5f * di * 1.0001f)
            << i;
    }
}

TEST(FloatKernels, Q8GemvOfEverySetIsTheCanonicalQ8DotBitForBit) {
    for (const KernelSet* set : supported_kernel_sets()) {
        const FloatKernels& k = *set->floats;
        SCOPED_TRACE(k.isa);
        for (int64_t cols : {32, 64, 96, 160, 2560}) {
            for (int64_t rows : {1, 3, 37}) {
                SCOPED_TRACE(testing::Message() << rows << "x" << cols);
                const auto w = random_q8_0_rows(rows, cols, static_cast<uint32_t>(rows + cols));
                auto x = random_floats(cols, static_cast<uint32_t>(cols), 2.0f);
                x[0] = 1000.0f;  // one block whose other values quantise to small integers
                std::vector<int8_t> xq(static_cast<size_t>(cols));
                std::vector<float> xd(static_cast<size_t>(cols / 32));
                quantize_q8_activations(x.data(), cols, xq.data(), xd.data());
                const int64_t row_bytes = cols / 32 * 34;
                std::vector<float> out(static_cast<size_t>(rows));
                k.gemv_q8_0_q8(w.data(), row_bytes, rows, cols, xq.data(), xd.data(), out.data());
                for (int64_t r = 0; r < rows; ++r) {
                    const float expected = q8_dot_by_the_definition(w.data() + r * row_bytes,
                                                                    xq.data(), xd.data(), cols);
                    EXPECT_TRUE(same_bits(out[static_cast<size_t>(r)], expected))
                        << "row " << r << ": " << out[static_cast<size_t>(r)] << " vs " << expected;
                }
            }
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
