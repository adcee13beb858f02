// Names and byte sizes of tensor types, and their GGUF type ids.
#include <tern/gguf.h>
#include <tern/types.h>

#include <limits>

namespace tern {

std::string_view tensor_type_name(TensorType type) {
    switch (type) {
        case TensorType::f32:
            return "f32";
        case TensorType::f16:
            return "f16";
        case TensorType::bf16:
            return "bf16";
        case TensorType::q8_0:
            return "q8_0";
        case TensorType::q4_k:
            return "q4_k";
        case TensorType::q6_k:
            return "q6_k";
        case TensorType::tq1_0:
            return "tq1_0";
        case TensorType::tq2_0:
            return "tq2_0";
        case TensorType::i2_s:
            return "i2_s";
    }
    return "?";
}

bool is_ternary(TensorType type) {
    return type == TensorType::tq1_0 || type == TensorType::tq2_0 || type == TensorType::i2_s;
}

int64_t tensor_type_block_elements(TensorType type) {
    switch (type) {
        case TensorType::f32:
        case TensorType::f16:
        case TensorType::bf16:
            return 1;
        case TensorType::q8_0:
            return 32;
        case TensorType::q4_k:
        case TensorType::q6_k:
        case TensorType::tq1_0:
        case TensorType::tq2_0:
            return 256;
        case TensorType::i2_s:
            return 128;
    }
    return 1;
}

int64_t tensor_type_bytes(TensorType type, int64_t elements) {
    const int64_t block = tensor_type_block_elements(type);
    if (elements < 0 || elements % block != 0) return -1;
    const int64_t blocks = elements / block;
    int64_t block_bytes = 0;
    switch (type) {
        case TensorType::f32:
            block_bytes = 4;
            break;
        case TensorType::f16:
        case TensorType::bf16:
            block_bytes = 2;
            break;
        case TensorType::q8_0:
            block_bytes = 34;
            break;
        case TensorType::q4_k:
            block_bytes = 144;
            break;
        case TensorType::q6_k:
            block_bytes = 210;
            break;
        case TensorType::tq1_0:
            block_bytes = 54;
            break;
        case TensorType::tq2_0:
            block_bytes = 66;
            break;
        case TensorType::i2_s:
            block_bytes = 32;
            break;
    }
    if (blocks > (std::numeric_limits<int64_t>::max() - 64) / block_bytes) return -1;
    return blocks * block_bytes + (type == TensorType::i2_s ? 32 : 0);
}

uint32_t gguf_type_id(TensorType type) {
    switch (type) {
        case TensorType::f32:
            return 0;
        case TensorType::f16:
            return 1;
        case TensorType::q8_0:
            return 8;
        case TensorType::q4_k:
            return 12;
        case TensorType::q6_k:
            return 14;
        case TensorType::bf16:
            return 30;
        case TensorType::tq1_0:
            return 34;
        case TensorType::tq2_0:
            return 35;
        case TensorType::i2_s:
            return 36;
    }
    return 0;
}

std::string_view gguf_value_type_name(GgufValueType type) {
    switch (type) {
        case GgufValueType::u8:
            return "u8";
        case GgufValueType::i8:
            return "i8";
        case GgufValueType::u16:
            return "u16";
        case GgufValueType::i16:
            return "i16";
        case GgufValueType::u32:
            return "u32";
        case GgufValueType::i32:
            return "i32";
        case GgufValueType::f32:
            return "f32";
        case GgufValueType::boolean:
            return "bool";
        case GgufValueType::string:
            return "string";
        case GgufValueType::array:
            return "array";
        case GgufValueType::u64:
            return "u64";
        case GgufValueType::i64:
            return "i64";
        case GgufValueType::f64:
            return "f64";
    }
    return "?";
}

}  // namespace tern
