// Tensor element types tern understands, and the byte size of a tensor of each type.
#pragma once

#include <cstdint>
#include <string_view>

namespace tern {

using Token = int32_t;

// Tensor storage types. The numeric values are tern's own, not GGUF type ids: GGUF ids 36/38/39
// mean different things in bitnet.cpp files and in upstream ggml (see gguf.h).
enum class TensorType : uint8_t {
    f32,    // IEEE binary32
    f16,    // IEEE binary16
    bf16,   // bfloat16
    q8_0,   // blocks of 32: fp16 scale d, int8 q[32]; x = d * q
    q4_k,   // ggml k-quant, blocks of 256 in 144 bytes (embeddings / output layers of llama.cpp
            // files)
    q6_k,   // ggml k-quant, blocks of 256 in 210 bytes
    tq1_0,  // ternary, blocks of 256 in 54 bytes: base-3 packed trits + fp16 scale
    tq2_0,  // ternary, blocks of 256 in 66 bytes: 2-bit trits (low bits first) + fp16 scale
    i2_s,   // bitnet.cpp ternary: 2-bit codes in 128-element/32-byte interleaved blocks over the
            // flattened tensor, then one float32 scale (32-byte tail)
};

// Lower-case name as printed by tools ("i2_s", "tq2_0", ...).
std::string_view tensor_type_name(TensorType type);

// True for the ternary weight formats (tq1_0, tq2_0, i2_s).
bool is_ternary(TensorType type);

// Elements per block (1 for scalar types, 128 for i2_s's interleave, 32 / 256 for block types).
int64_t tensor_type_block_elements(TensorType type);

// Bytes a tensor of `elements` elements occupies, or -1 if `elements` is not a legal count for the
// type (not a whole number of blocks, or so large the size overflows).
int64_t tensor_type_bytes(TensorType type, int64_t elements);

}  // namespace tern
