// The ternary file formats (I2_S, TQ2_0, TQ1_0): canonical encoders and decoders of trits.
//
// These define the on-disk layouts; kernels never read them directly but repack from trits.
// Trits are int8 values in {-1, 0, +1}.
#pragma once

#include <cstdint>

namespace tern::kernels {

// ---- I2_S (bitnet.cpp, GGUF type 36) ------------------------------------------------------
// The tensor is flattened row-major and cut into 128-element blocks of 32 bytes. Element k of a
// block is stored in byte k % 32 at bit shift 6 - 2 * (k / 32), as the code w + 1
// (-1 -> 0b00, 0 -> 0b01, +1 -> 0b10; 0b11 is invalid). After numel/4 packed bytes comes a
// 32-byte tail whose first 4 bytes are the float32 per-tensor scale; the rest is zero.
// Blocks run across rows when the row length is not a multiple of 128.
constexpr int64_t kI2sBlock = 128;
constexpr int64_t kI2sBlockBytes = 32;
constexpr int64_t kI2sTailBytes = 32;

// Writes numel/4 + 32 bytes. numel must be a multiple of 128.
void i2s_encode(const int8_t* trits, int64_t numel, float scale, uint8_t* out);
// Decodes elements [first, first + count) of the flattened tensor into trits. Returns false if
// any decoded code is the invalid 0b11.
bool i2s_decode(const uint8_t* data, int64_t first, int64_t count, int8_t* trits);

float i2s_scale(const uint8_t* data, int64_t numel);

// ---- TQ2_0 (ggml, type 35) -------------------------------------------------------------------
// Blocks of 256 elements in 66 bytes: qs[64], then fp16 d. Byte qs[32 * h + m] (h = 0, 1) holds
// elements 128 * h + m + 32 * n in bits 2n..2n+1 (n = 0..3, low bits first) as the code t + 1.
// The element value is t * d.
constexpr int64_t kTqBlock = 256;
constexpr int64_t kTq2BlockBytes = 66;

void tq2_0_encode_block(const int8_t* trits, float d, uint8_t* out);
// Returns false if a code is the invalid 0b11. *d receives the block scale.
bool tq2_0_decode_block(const uint8_t* block, int8_t* trits, float* d);

// ---- TQ1_0 (ggml, type 34) -------------------------------------------------------------------
// Blocks of 256 elements in 54 bytes: qs[48], qh[4], fp16 d. Five trits per qs byte and four
// per qh byte, each byte storing ceil(v * 256 / 243) where v is the base-3 number of its trits
// (t + 1 each, first trit most significant; qh bytes get one extra factor 3). Element order:
// qs[m] (m < 32) holds elements m + 32n (n = 0..4); qs[32 + m] (m < 16) holds 160 + m + 16n;
// qh[j] holds 240 + j + 4n (n = 0..3). Trit n of a byte q is ((q * 3^n mod 256) * 3) >> 8.
constexpr int64_t kTq1BlockBytes = 54;

void tq1_0_encode_block(const int8_t* trits, float d, uint8_t* out);
void tq1_0_decode_block(const uint8_t* block, int8_t* trits, float* d);

}  // namespace tern::kernels
