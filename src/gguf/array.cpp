// GgufArray element access with type conversion and range checks.
#include "util/strings.h"

#include <tern/error.h>
#include <tern/gguf.h>

#include <cstring>
#include <limits>

namespace tern {

namespace {

template <typename T>
T load(const uint8_t* base, uint64_t i) {
    T value;
    std::memcpy(&value, base + i * sizeof(T), sizeof(T));
    return value;
}

[[noreturn]] void bad_access(const char* what, GgufValueType type, uint64_t i, uint64_t size) {
    if (i >= size) {
        throw Error(ErrorCode::invalid_argument,
                    cat("array index ", i, " out of range (size ", size, ")"));
    }
    throw Error(ErrorCode::format, cat("array of ", gguf_value_type_name(type), " read as ", what));
}

}  // namespace

int64_t GgufArray::int_at(uint64_t i) const {
    if (i >= count_) bad_access("integers", element_type_, i, count_);
    switch (element_type_) {
        case GgufValueType::u8:
            return load<uint8_t>(fixed_, i);
        case GgufValueType::i8:
            return load<int8_t>(fixed_, i);
        case GgufValueType::u16:
            return load<uint16_t>(fixed_, i);
        case GgufValueType::i16:
            return load<int16_t>(fixed_, i);
        case GgufValueType::u32:
            return load<uint32_t>(fixed_, i);
        case GgufValueType::i32:
            return load<int32_t>(fixed_, i);
        case GgufValueType::i64:
            return load<int64_t>(fixed_, i);
        case GgufValueType::u64: {
            const auto v = load<uint64_t>(fixed_, i);
            if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
                throw Error(ErrorCode::format,
                            cat("array element ", i, " value ", v, " is too large"));
            }
            return static_cast<int64_t>(v);
        }
        default:
            bad_access("integers", element_type_, i, count_);
    }
}

double GgufArray::float_at(uint64_t i) const {
    if (i >= count_) bad_access("numbers", element_type_, i, count_);
    if (element_type_ == GgufValueType::f32) return load<float>(fixed_, i);
    if (element_type_ == GgufValueType::f64) return load<double>(fixed_, i);
    return static_cast<double>(int_at(i));
}

bool GgufArray::bool_at(uint64_t i) const {
    if (i >= count_ || element_type_ != GgufValueType::boolean)
        bad_access("bools", element_type_, i, count_);
    return fixed_[i] != 0;
}

std::string_view GgufArray::string_at(uint64_t i) const {
    if (i >= count_ || element_type_ != GgufValueType::string)
        bad_access("strings", element_type_, i, count_);
    return strings_[i];
}

const GgufArray& GgufArray::array_at(uint64_t i) const {
    if (i >= count_ || element_type_ != GgufValueType::array)
        bad_access("arrays", element_type_, i, count_);
    return arrays_[i];
}

}  // namespace tern
