// Float weight rows stored as F32, F16, BF16, Q8_0, Q4_K or Q6_K (embeddings, output layer, float
// LLaMA models): row sizes and exact decoding to floats. The matmuls are in float_kernels.h.
//
// Block layouts (ggml's): Q8_0 = 32 elements in 34 bytes {fp16 d; int8 q[32]}, x = d*q.
// Q4_K = 256 elements in 144 bytes {fp16 d; fp16 dmin; u8 scales[12]; u8 qs[128]}: eight
// 32-element groups with 6-bit scale sc and min m (groups j < 4: sc = scales[j] & 63,
// m = scales[j+4] & 63; j >= 4: sc = (scales[j+4] & 15) | (scales[j-4] >> 6) << 4,
// m = (scales[j+4] >> 4) | (scales[j] >> 6) << 4); group pair (2p, 2p+1) reads qs[32p..32p+31],
// low nibbles then high nibbles; x = d*sc*q - dmin*m.
// Q6_K = 256 elements in 210 bytes {u8 ql[128]; u8 qh[64]; i8 scales[16]; fp16 d}: per half h
// (128 elements; ql += 64h, qh += 32h, scales += 8h), element l + 32i (l < 32, i < 4) has
// q = (low nibble of ql[l] for i=0, of ql[l+32] for i=1, high nibble of ql[l] for i=2, of
// ql[l+32] for i=3) | ((qh[l] >> 2i) & 3) << 4, minus 32; x = d * scales[l/16 + 2i] * q.
#pragma once

#include <cstdint>
#include <cstring>

namespace tern::kernels {

enum class FloatWeightFormat { f32, f16, bf16, q8_0, q4_k, q6_k };

constexpr int64_t kQ8BlockBytes = 34;    // bytes of one 32-element Q8_0 block: fp16 d, int8 q[32]
constexpr int64_t kQ4KBlockBytes = 144;  // bytes of one 256-element Q4_K block (above)
constexpr int64_t kQ6KBlockBytes = 210;  // bytes of one 256-element Q6_K block (above)

// Elements per block of a format: 1 for F32 / F16 / BF16, 32 for Q8_0, 256 for Q4_K and Q6_K.
int64_t float_format_block(FloatWeightFormat format);

// A Q4_K block's 6-bit scales and mins: bytes[j] = sc of group j, bytes[8 + j] = its m (j < 8),
// unpacked from the block's 12 scale bytes (above) four at a time in 32-bit words.
struct Q4KScales {
    uint8_t bytes[16];
};

inline Q4KScales q4_k_scales(const uint8_t* block) {
    uint32_t packed[3];
    std::memcpy(packed, block + 4, 12);
    const uint32_t words[4] = {
        packed[0] & 0x3F3F3F3F,
        (packed[2] & 0x0F0F0F0F) | ((packed[0] >> 6) & 0x03030303) << 4,
        packed[1] & 0x3F3F3F3F,
        ((packed[2] >> 4) & 0x0F0F0F0F) | ((packed[1] >> 6) & 0x03030303) << 4,
    };
    Q4KScales s;
    std::memcpy(s.bytes, words, 16);
    return s;
}

// "f32", "f16", "bf16", "q8_0", "q4_k" or "q6_k".
const char* float_format_name(FloatWeightFormat format);

// Bytes of one row of `k` elements (k must be a multiple of 32 for q8_0, 256 for the k-quants).
int64_t float_row_bytes(FloatWeightFormat format, int64_t k);

// Expands one stored row of `k` elements into floats.
void dequantize_row(FloatWeightFormat format, const uint8_t* row, int64_t k, float* out);

}  // namespace tern::kernels
