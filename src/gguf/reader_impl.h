// Internals of the GGUF reader: the validated file state and the bounds-checked parser.
#pragma once

#include "util/mapped_file.h"

#include <tern/error.h>
#include <tern/gguf.h>

#include <cstring>
#include <optional>
#include <string>
#include <unordered_map>

namespace tern {

struct GgufFile::Impl {
    std::string name;
    std::optional<MappedFile> mapping;  // absent for parse() of caller-owned bytes
    std::span<const uint8_t> bytes;
    uint32_t version = 0;
    uint32_t alignment = 32;
    uint64_t data_offset = 0;
    std::vector<std::pair<std::string_view, GgufValue>> metadata;
    std::unordered_map<std::string_view, size_t> index;  // key -> position in metadata
    std::vector<TensorView> tensors;
    std::unordered_map<std::string_view, size_t> tensor_index;  // name -> position in tensors
};

// Reads a GGUF image front to back; every read is bounds-checked and every failure throws Error
// with the file name and the offset or item concerned.
class GgufParser {
public:
    GgufParser(std::span<const uint8_t> bytes, const std::string& name);
    void parse(GgufFile::Impl& out);

private:
    [[noreturn]] void fail(ErrorCode code, const std::string& what) const;
    void need(uint64_t n, const char* what) const;

    template <typename T>
    T read(const char* what) {
        need(sizeof(T), what);
        T value;
        std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return value;
    }

    std::string_view read_string(const char* what, uint64_t max_bytes);
    GgufValue read_value(GgufValueType type, int depth, std::string_view key);
    GgufArray read_array(int depth, std::string_view key);
    void read_tensor_infos(GgufFile::Impl& out, uint64_t tensor_count, std::string_view arch,
                           bool bitnet_types);
    TensorType tensor_type_from_id(uint32_t id, std::string_view tensor, std::string_view arch,
                                   bool bitnet_types) const;

    std::span<const uint8_t> bytes_;
    const std::string& name_;
    uint64_t pos_ = 0;
};

}  // namespace tern
