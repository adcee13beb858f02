// The GGUF v3 writer: metadata and tensors laid out with alignment, written atomically.
#include "util/atomic_file.h"
#include "util/strings.h"

#include <tern/error.h>
#include <tern/gguf.h>

#include <bit>
#include <cstring>

namespace tern {

namespace {

template <typename T>
void append(std::vector<uint8_t>& out, T value) {
    const size_t at = out.size();
    out.resize(at + sizeof(T));
    std::memcpy(out.data() + at, &value, sizeof(T));
}

void append_string(std::vector<uint8_t>& out, std::string_view text) {
    append<uint64_t>(out, text.size());
    out.insert(out.end(), text.begin(), text.end());
}

template <typename T>
std::vector<uint8_t> encode_scalar(GgufValueType type, T value) {
    std::vector<uint8_t> out;
    append<uint32_t>(out, static_cast<uint32_t>(type));
    append<T>(out, value);
    return out;
}

void encode_array(std::vector<uint8_t>& out, const GgufArray& array);

// Appends a value's payload (without its type code) as read from another file.
void encode_payload(std::vector<uint8_t>& out, const GgufValue& value) {
    switch (value.type) {
        case GgufValueType::u8:
            append<uint8_t>(out, static_cast<uint8_t>(std::get<uint64_t>(value.data)));
            break;
        case GgufValueType::u16:
            append<uint16_t>(out, static_cast<uint16_t>(std::get<uint64_t>(value.data)));
            break;
        case GgufValueType::u32:
            append<uint32_t>(out, static_cast<uint32_t>(std::get<uint64_t>(value.data)));
            break;
        case GgufValueType::u64:
            append<uint64_t>(out, std::get<uint64_t>(value.data));
            break;
        case GgufValueType::i8:
            append<int8_t>(out, static_cast<int8_t>(std::get<int64_t>(value.data)));
            break;
        case GgufValueType::i16:
            append<int16_t>(out, static_cast<int16_t>(std::get<int64_t>(value.data)));
            break;
        case GgufValueType::i32:
            append<int32_t>(out, static_cast<int32_t>(std::get<int64_t>(value.data)));
            break;
        case GgufValueType::i64:
            append<int64_t>(out, std::get<int64_t>(value.data));
            break;
        case GgufValueType::f32:
            append<float>(out, static_cast<float>(std::get<double>(value.data)));
            break;
        case GgufValueType::f64:
            append<double>(out, std::get<double>(value.data));
            break;
        case GgufValueType::boolean:
            append<uint8_t>(out, std::get<bool>(value.data) ? 1 : 0);
            break;
        case GgufValueType::string:
            append_string(out, std::get<std::string_view>(value.data));
            break;
        case GgufValueType::array:
            encode_array(out, std::get<GgufArray>(value.data));
            break;
    }
}

void encode_array(std::vector<uint8_t>& out, const GgufArray& array) {
    append<uint32_t>(out, static_cast<uint32_t>(array.element_type()));
    append<uint64_t>(out, array.size());
    for (uint64_t i = 0; i < array.size(); ++i) {
        switch (array.element_type()) {
            case GgufValueType::u8:
                append<uint8_t>(out, static_cast<uint8_t>(array.int_at(i)));
                break;
            case GgufValueType::i8:
                append<int8_t>(out, static_cast<int8_t>(array.int_at(i)));
                break;
            case GgufValueType::u16:
                append<uint16_t>(out, static_cast<uint16_t>(array.int_at(i)));
                break;
            case GgufValueType::i16:
                append<int16_t>(out, static_cast<int16_t>(array.int_at(i)));
                break;
            case GgufValueType::u32:
                append<uint32_t>(out, static_cast<uint32_t>(array.int_at(i)));
                break;
            case GgufValueType::i32:
                append<int32_t>(out, static_cast<int32_t>(array.int_at(i)));
                break;
            case GgufValueType::u64:
                append<uint64_t>(out, static_cast<uint64_t>(array.int_at(i)));
                break;
            case GgufValueType::i64:
                append<int64_t>(out, array.int_at(i));
                break;
            case GgufValueType::f32:
                append<float>(out, static_cast<float>(array.float_at(i)));
                break;
            case GgufValueType::f64:
                append<double>(out, array.float_at(i));
                break;
            case GgufValueType::boolean:
                append<uint8_t>(out, array.bool_at(i) ? 1 : 0);
                break;
            case GgufValueType::string:
                append_string(out, array.string_at(i));
                break;
            case GgufValueType::array:
                encode_array(out, array.array_at(i));
                break;
        }
    }
}

uint64_t align_up(uint64_t value, uint64_t alignment) {
    return (value + alignment - 1) / alignment * alignment;
}

}  // namespace

GgufWriter::GgufWriter(uint32_t alignment) : alignment_(alignment) {
    if (alignment == 0 || alignment % 8 != 0 || !std::has_single_bit(alignment)) {
        throw Error(
            ErrorCode::invalid_argument,
            cat("GGUF alignment must be a power of two and a multiple of 8, got ", alignment));
    }
    if (alignment != 32) set_u32("general.alignment", alignment);
}

void GgufWriter::set_encoded(std::string_view key, std::vector<uint8_t> encoded) {
    for (auto& [existing, value] : kv_) {
        if (existing == key) {
            value = std::move(encoded);
            return;
        }
    }
    kv_.emplace_back(std::string(key), std::move(encoded));
}

void GgufWriter::set_u32(std::string_view key, uint32_t value) {
    set_encoded(key, encode_scalar(GgufValueType::u32, value));
}
void GgufWriter::set_i32(std::string_view key, int32_t value) {
    set_encoded(key, encode_scalar(GgufValueType::i32, value));
}
void GgufWriter::set_u64(std::string_view key, uint64_t value) {
    set_encoded(key, encode_scalar(GgufValueType::u64, value));
}
void GgufWriter::set_f32(std::string_view key, float value) {
    set_encoded(key, encode_scalar(GgufValueType::f32, value));
}
void GgufWriter::set_bool(std::string_view key, bool value) {
    set_encoded(key, encode_scalar<uint8_t>(GgufValueType::boolean, value ? 1 : 0));
}

void GgufWriter::set_string(std::string_view key, std::string_view value) {
    std::vector<uint8_t> out;
    append<uint32_t>(out, static_cast<uint32_t>(GgufValueType::string));
    append_string(out, value);
    set_encoded(key, std::move(out));
}

namespace {

// Encodes an array value: type code, element type, count, then each element via `put`.
template <typename T, typename Put>
std::vector<uint8_t> encode_array_of(GgufValueType element, std::span<const T> values, Put put) {
    std::vector<uint8_t> out;
    append<uint32_t>(out, static_cast<uint32_t>(GgufValueType::array));
    append<uint32_t>(out, static_cast<uint32_t>(element));
    append<uint64_t>(out, values.size());
    for (const T& value : values) put(out, value);
    return out;
}

}  // namespace

void GgufWriter::set_strings(std::string_view key, std::span<const std::string> values) {
    set_encoded(key, encode_array_of(GgufValueType::string, values,
                                     [](std::vector<uint8_t>& out, const std::string& v) {
                                         append_string(out, v);
                                     }));
}

void GgufWriter::set_f32s(std::string_view key, std::span<const float> values) {
    set_encoded(key,
                encode_array_of(GgufValueType::f32, values,
                                [](std::vector<uint8_t>& out, float v) { append<float>(out, v); }));
}

void GgufWriter::set_i32s(std::string_view key, std::span<const int32_t> values) {
    set_encoded(
        key, encode_array_of(GgufValueType::i32, values, [](std::vector<uint8_t>& out, int32_t v) {
            append<int32_t>(out, v);
        }));
}

void GgufWriter::set_raw(std::string_view key, GgufValueType type, std::vector<uint8_t> payload) {
    std::vector<uint8_t> out;
    append<uint32_t>(out, static_cast<uint32_t>(type));
    out.insert(out.end(), payload.begin(), payload.end());
    set_encoded(key, std::move(out));
}

void GgufWriter::copy_value(std::string_view key, const GgufValue& value) {
    std::vector<uint8_t> out;
    append<uint32_t>(out, static_cast<uint32_t>(value.type));
    encode_payload(out, value);
    set_encoded(key, std::move(out));
}

void GgufWriter::add_tensor(std::string_view name, TensorType type, std::span<const int64_t> ne,
                            Producer producer) {
    if (ne.empty() || ne.size() > 4) {
        throw Error(
            ErrorCode::invalid_argument,
            cat("tensor ", single_quoted(name), " must have 1 to 4 dimensions, got ", ne.size()));
    }
    int64_t numel = 1;
    for (int64_t extent : ne) numel *= extent;
    const int64_t bytes = tensor_type_bytes(type, numel);
    if (bytes < 0) {
        throw Error(ErrorCode::invalid_argument,
                    cat("tensor ", single_quoted(name), ": ", numel,
                        " elements is not a whole number of ", tensor_type_name(type), " blocks"));
    }
    for (const Tensor& tensor : tensors_) {
        if (tensor.name == name) {
            throw Error(ErrorCode::invalid_argument,
                        cat("duplicate tensor name ", single_quoted(name)));
        }
    }
    tensors_.push_back({std::string(name), type, std::vector<int64_t>(ne.begin(), ne.end()),
                        static_cast<uint64_t>(bytes), std::move(producer)});
}

void GgufWriter::add_tensor(std::string_view name, TensorType type, std::span<const int64_t> ne,
                            std::vector<uint8_t> bytes) {
    auto shared = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
    add_tensor(name, type, ne, [shared, name = std::string(name)](std::span<uint8_t> out) {
        if (out.size() != shared->size()) {
            throw Error(ErrorCode::invalid_argument,
                        cat("tensor ", single_quoted(name), " needs ", out.size(), " bytes, got ",
                            shared->size()));
        }
        std::memcpy(out.data(), shared->data(), out.size());
    });
}

void GgufWriter::write(const std::filesystem::path& path, const Progress& progress) const {
    std::vector<uint8_t> header;
    append<uint32_t>(header, 0x46554747);  // "GGUF"
    append<uint32_t>(header, 3);
    append<uint64_t>(header, tensors_.size());
    append<uint64_t>(header, kv_.size());
    for (const auto& [key, encoded] : kv_) {
        append_string(header, key);
        header.insert(header.end(), encoded.begin(), encoded.end());
    }
    uint64_t offset = 0;
    for (const Tensor& tensor : tensors_) {
        append_string(header, tensor.name);
        append<uint32_t>(header, static_cast<uint32_t>(tensor.ne.size()));
        for (int64_t extent : tensor.ne) append<uint64_t>(header, static_cast<uint64_t>(extent));
        append<uint32_t>(header, gguf_type_id(tensor.type));
        append<uint64_t>(header, offset);
        offset = align_up(offset + tensor.bytes, alignment_);
    }
    header.resize(align_up(header.size(), alignment_), 0);

    AtomicFile file(path);
    file.write(header.data(), header.size());
    std::vector<uint8_t> buffer;
    for (size_t i = 0; i < tensors_.size(); ++i) {
        const Tensor& tensor = tensors_[i];
        buffer.assign(align_up(tensor.bytes, alignment_), 0);
        tensor.producer(std::span<uint8_t>(buffer.data(), tensor.bytes));
        file.write(buffer.data(), buffer.size());
        if (progress) progress(i + 1, tensors_.size());
    }
    file.commit();
}

}  // namespace tern
