// Tests of the ternary file-format codecs, fp16/bf16 conversion and the reference kernels.
#include "kernels/activation_quant.h"
#include "kernels/float_rows.h"
#include "kernels/fp16.h"
#include "kernels/ternary_formats.h"
#include "kernels/ternary_ref.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace tern::kernels {
namespace {

std::vector<int8_t> random_trits(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> dist(-1, 1);
    std::vector<int8_t> t(n);
    for (auto& v : t) v = static_cast<int8_t>(dist(rng));
    return t;
}

TEST(I2sFormat, RoundTripsAndKeepsScale) {
    const int64_t n = 128 * 7;
    const auto trits = random_trits(n, 1);
    std::vector<uint8_t> bytes(n / 4 + kI2sTailBytes, 0xAA);
    i2s_encode(trits.data(), n, 0.625f, bytes.data());
    EXPECT_EQ(i2s_scale(bytes.data(), n), 0.625f);
    for (size_t i = n / 4 + 4; i < bytes.size(); ++i) EXPECT_EQ(bytes[i], 0) << "tail byte " << i;
    std::vector<int8_t> back(n);
    ASSERT_TRUE(i2s_decode(bytes.data(), 0, n, back.data()));
    EXPECT_EQ(back, trits);
    // A window that starts inside a block and crosses into the next (rows spanning blocks).
    std::vector<int8_t> window(200);
    ASSERT_TRUE(i2s_decode(bytes.data(), 100, 200, window.data()));
    EXPECT_TRUE(std::equal(window.begin(), window.end(), trits.begin() + 100));
}

TEST(I2sFormat, ByteLayoutMatchesBitnetCpp) {
    // Element k of a block sits in byte k % 32 at shift 6 - 2 * (k / 32); -1,0,+1 -> 00,01,10.
    std::vector<int8_t> trits(128, 0);
    trits[0] = 1;    // byte 0 bits 7:6 = 10
    trits[32] = -1;  // byte 0 bits 5:4 = 00
    trits[64] = 1;   // byte 0 bits 3:2 = 10
    trits[96] = 0;   // byte 0 bits 1:0 = 01
    trits[31] = -1;  // byte 31 bits 7:6 = 00, others 01
    std::vector<uint8_t> bytes(32 + 32);
    i2s_encode(trits.data(), 128, 1.0f, bytes.data());
    EXPECT_EQ(bytes[0], 0b10'00'10'01);
    EXPECT_EQ(bytes[1], 0b01'01'01'01);
    EXPECT_EQ(bytes[31], 0b00'01'01'01);
}

TEST(I2sFormat, RejectsCodeThree) {
    std::vector<uint8_t> bytes(64, 0x55);
    bytes[5] = 0xD5;  // top pair = 11
    std::vector<int8_t> t(128);
    EXPECT_FALSE(i2s_decode(bytes.data(), 0, 128, t.data()));
}

TEST(Tq2Format, RoundTripAndLayout) {
    const auto trits = random_trits(256, 2);
    uint8_t block[kTq2BlockBytes];
    tq2_0_encode_block(trits.data(), 0.5f, block);
    std::vector<int8_t> back(256);
    float d = 0;
    ASSERT_TRUE(tq2_0_decode_block(block, back.data(), &d));
    EXPECT_EQ(back, trits);
    EXPECT_EQ(d, 0.5f);
    // qs[32*h + m] holds element 128h + m + 32n in bits 2n..2n+1 (low bits first).
    for (int h = 0; h < 2; ++h) {
        for (int m = 0; m < 32; ++m) {
            for (int n = 0; n < 4; ++n) {
                EXPECT_EQ(((block[32 * h + m] >> (2 * n)) & 3) - 1, trits[128 * h + m + 32 * n]);
            }
        }
    }
}

TEST(Tq1Format, RoundTripAndFixedPointDigits) {
    for (uint32_t seed = 0; seed < 20; ++seed) {
        const auto trits = random_trits(256, seed);
        uint8_t block[kTq1BlockBytes];
        tq1_0_encode_block(trits.data(), 0.25f, block);
        std::vector<int8_t> back(256);
        float d = 0;
        tq1_0_decode_block(block, back.data(), &d);
        ASSERT_EQ(back, trits) << "seed " << seed;
        EXPECT_EQ(d, 0.25f);
    }
    // Byte for trits (t+1) = 2,1,0,2,1 (first most significant): v = 2*81 + 27 + 0 + 6 + 1 = 196,
    // stored as ceil(196 * 256 / 243) = 207.
    std::vector<int8_t> trits(256, 0);
    const int8_t digits[5] = {1, 0, -1, 1, 0};
    for (int n = 0; n < 5; ++n) trits[32 * n] = digits[n];
    uint8_t block[kTq1BlockBytes];
    tq1_0_encode_block(trits.data(), 1.0f, block);
    EXPECT_EQ(block[0], 207);
}

TEST(Fp16, EveryHalfRoundTripsThroughFloat) {
    for (uint32_t h = 0; h < 65536; ++h) {
        const float f = half_to_float(static_cast<uint16_t>(h));
        if (std::isnan(f)) {
            EXPECT_TRUE(std::isnan(half_to_float(float_to_half(f))));
            continue;
        }
        ASSERT_EQ(float_to_half(f), h) << "half 0x" << std::hex << h;
    }
}

TEST(Fp16, RoundsToNearestEven) {
    EXPECT_EQ(half_to_float(float_to_half(1.0f + 0x1.0p-11f)), 1.0f);  // tie -> even
    EXPECT_EQ(half_to_float(float_to_half(1.0f + 3 * 0x1.0p-11f)),
              1.0f + 0x1.0p-9f);  // tie -> even
    EXPECT_EQ(half_to_float(float_to_half(65520.0f)), INFINITY);
    EXPECT_EQ(half_to_float(float_to_half(65519.0f)), 65504.0f);
    EXPECT_EQ(half_to_float(float_to_half(0x1.0p-25f)), 0.0f);  // tie below min subnormal -> 0
    EXPECT_EQ(half_to_float(float_to_half(0x1.8p-25f)), 0x1.0p-24f);
    EXPECT_EQ(half_to_float(float_to_half(-2.0f)), -2.0f);
    EXPECT_EQ(bf16_to_float(float_to_bf16(1.00390625f)), 1.0f);  // tie -> even
    EXPECT_EQ(bf16_to_float(float_to_bf16(3.0f)), 3.0f);
}

TEST(ActivationQuant, MatchesTrainingFormula) {
    // max |x| = 127 -> scale exactly 1, so rounding is visible: half to even, like torch.round.
    const float x[] = {127.0f, 2.5f, 3.5f, -2.5f, -0.5f, 0.49f, -127.0f};
    int8_t q[7];
    const auto info = quantize_row_i8_scalar(x, 7, q);
    EXPECT_EQ(info.scale, 1.0f);
    const int8_t expected[] = {127, 2, 4, -2, 0, 0, -127};
    for (int i = 0; i < 7; ++i) EXPECT_EQ(q[i], expected[i]) << "element " << i;
    EXPECT_EQ(info.sum, 127 + 2 + 4 - 2 - 127);
    // max |x| = 2 -> scale 63.5: 1.0 * 63.5 = 63.5 -> 64 (even), -2 -> -127.
    const float y[] = {2.0f, -2.0f, 1.0f};
    const auto info2 = quantize_row_i8_scalar(y, 3, q);
    EXPECT_EQ(info2.scale, 63.5f);
    EXPECT_EQ(q[0], 127);
    EXPECT_EQ(q[1], -127);
    EXPECT_EQ(q[2], 64);
}

TEST(ActivationQuant, AllZeroRowUsesFloorScale) {
    const float x[4] = {};
    int8_t q[4];
    const auto info = quantize_row_i8_scalar(x, 4, q);
    EXPECT_EQ(info.scale, 127.0f / 1e-5f);
    EXPECT_EQ(info.sum, 0);
}

TEST(TernaryRef, MatchesNaiveSumsOnOddShapes) {
    std::mt19937 rng(3);
    std::uniform_int_distribution<int> act(-128, 127);
    for (int64_t k : {1, 3, 127, 128, 129, 300}) {
        const int64_t m = 5, n = 3;
        const int64_t rb = ternary_ref_row_bytes(k);
        std::vector<uint8_t> codes(static_cast<size_t>(m * rb));
        std::vector<std::vector<int8_t>> w(m);
        for (int64_t r = 0; r < m; ++r) {
            w[r] = random_trits(k, static_cast<uint32_t>(r + 10 * k));
            ternary_ref_pack_row(w[r].data(), k, codes.data() + r * rb);
        }
        std::vector<int8_t> a(static_cast<size_t>(n * k));
        for (auto& v : a) v = static_cast<int8_t>(act(rng));
        std::vector<int32_t> out(n * m);
        ternary_gemm_ref(codes.data(), rb, m, k, a.data(), k, n, out.data(), m);
        for (int64_t t = 0; t < n; ++t) {
            for (int64_t r = 0; r < m; ++r) {
                int32_t expected = 0;
                for (int64_t c = 0; c < k; ++c) expected += w[r][c] * a[t * k + c];
                EXPECT_EQ(out[t * m + r], expected) << "k=" << k << " row " << r << " token " << t;
            }
        }
    }
}

}  // namespace
}  // namespace tern::kernels

namespace tern::kernels {
namespace {

// Hand-built k-quant blocks, decoded element by element from the layout description.
TEST(KQuants, Q6KElementsFollowTheLayout) {
    std::vector<uint8_t> block(210, 0);
    const uint16_t d = float_to_half(0.5f);
    std::memcpy(block.data() + 208, &d, 2);
    for (int i = 0; i < 16; ++i) block[192 + i] = static_cast<uint8_t>(static_cast<int8_t>(i - 8));
    // Second half (elements 128..255), l = 17: element 128 + 17 + 32*2 = 209 uses the high
    // nibble of ql[64 + 17] and bits 4..5 of qh[32 + 17]; its scale is scales[8 + 17/16 + 4].
    block[64 + 17] = 0xA0;             // high nibble 10
    block[128 + 32 + 17] = 0b10'0000;  // bits 4..5 = 2 -> q = 10 | 2 << 4 = 42, minus 32 = 10
    std::vector<float> out(256);
    dequantize_row(FloatWeightFormat::q6_k, block.data(), 256, out.data());
    const int8_t scale = static_cast<int8_t>(8 + 1 + 4 - 8);  // scales[13] = 13 - 8 = 5
    EXPECT_EQ(out[209], 0.5f * scale * 10);
    EXPECT_EQ(out[0], 0.5f * -8 * -32);  // all-zero bits: q = -32, scales[0] = -8
    EXPECT_EQ(float_row_bytes(FloatWeightFormat::q6_k, 512), 420);
}

TEST(KQuants, Q4KElementsFollowTheLayout) {
    std::vector<uint8_t> block(144, 0);
    const uint16_t d = float_to_half(0.25f), dmin = float_to_half(2.0f);
    std::memcpy(block.data(), &d, 2);
    std::memcpy(block.data() + 2, &dmin, 2);
    uint8_t* scales = block.data() + 4;
    scales[1] = 5;                  // group 1 scale 5 (j < 4: scales[j] & 63)
    scales[5] = 3;                  // group 1 min 3 (scales[j + 4] & 63)
    scales[10] = 0x7 | (0x2 << 4);  // group 6: scale low 4 bits 7, min low 4 bits 2
    scales[2] = 0x40;  // group 6 scale high bits (scales[j - 4] >> 6 = 1) -> 16 + 7 = 23
    scales[6] = 0xC0;  // group 6 min high bits (scales[j] >> 6 = 3) -> 48 + 2 = 50
    uint8_t* qs = block.data() + 16;
    qs[32 * 0 + 4] = 0x90;  // group 1 (high nibbles of qs[0..31]), element 32 + 4: q = 9
    qs[32 * 3 + 7] = 0x0B;  // group 6 (low nibbles of qs[96..127]), element 192 + 7: q = 11
    std::vector<float> out(256);
    dequantize_row(FloatWeightFormat::q4_k, block.data(), 256, out.data());
    EXPECT_EQ(out[36], 0.25f * 5 * 9 - 2.0f * 3);
    EXPECT_EQ(out[199], 0.25f * 23 * 11 - 2.0f * 50);
    EXPECT_EQ(out[0], 0.0f);  // group 0: scale 0, min 0
}

}  // namespace
}  // namespace tern::kernels
