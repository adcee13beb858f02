// The GGUF reader: parses and validates a whole file image before anything is handed out.
#include "gguf/reader_impl.h"

#include "util/strings.h"

#include <tern/error.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

static_assert(std::endian::native == std::endian::little, "tern reads GGUF as little-endian");

namespace tern {

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint32_t kDefaultAlignment = 32;
constexpr int kMaxArrayDepth = 16;
constexpr uint64_t kMaxKeyBytes = 65535;
constexpr uint64_t kMaxTensorNameBytes = 255;
constexpr int kMaxDims = 4;

// Name of a GGUF tensor type id in upstream ggml, for messages about types tern cannot read.
std::string upstream_type_name(uint32_t id) {
    static constexpr const char* kNames[] = {"F32",
                                             "F16",
                                             "Q4_0",
                                             "Q4_1",
                                             "Q4_2 (removed)",
                                             "Q4_3 (removed)",
                                             "Q5_0",
                                             "Q5_1",
                                             "Q8_0",
                                             "Q8_1",
                                             "Q2_K",
                                             "Q3_K",
                                             "Q4_K",
                                             "Q5_K",
                                             "Q6_K",
                                             "Q8_K",
                                             "IQ2_XXS",
                                             "IQ2_XS",
                                             "IQ3_XXS",
                                             "IQ1_S",
                                             "IQ4_NL",
                                             "IQ3_S",
                                             "IQ2_S",
                                             "IQ4_XS",
                                             "I8",
                                             "I16",
                                             "I32",
                                             "I64",
                                             "F64",
                                             "IQ1_M",
                                             "BF16",
                                             "Q4_0_4_4 (removed)",
                                             "Q4_0_4_8 (removed)",
                                             "Q4_0_8_8 (removed)",
                                             "TQ1_0",
                                             "TQ2_0",
                                             "IQ4_NL_4_4 (removed)",
                                             "IQ4_NL_4_8 (removed)",
                                             "IQ4_NL_8_8 (removed)",
                                             "MXFP4"};
    if (id < std::size(kNames)) return kNames[id];
    return "unknown";
}

bool is_bitnet_family(std::string_view arch) {
    return arch == "bitnet" || arch == "bitnet-b1.58" || arch == "bitnet-25";
}

size_t fixed_value_size(GgufValueType type) {
    switch (type) {
        case GgufValueType::u8:
        case GgufValueType::i8:
        case GgufValueType::boolean:
            return 1;
        case GgufValueType::u16:
        case GgufValueType::i16:
            return 2;
        case GgufValueType::u32:
        case GgufValueType::i32:
        case GgufValueType::f32:
            return 4;
        case GgufValueType::u64:
        case GgufValueType::i64:
        case GgufValueType::f64:
            return 8;
        case GgufValueType::string:
        case GgufValueType::array:
            return 0;
    }
    return 0;
}

bool valid_value_type(uint32_t raw) {
    return raw <= static_cast<uint32_t>(GgufValueType::f64);
}

}  // namespace

GgufParser::GgufParser(std::span<const uint8_t> bytes, const std::string& name)
    : bytes_(bytes), name_(name) {}

void GgufParser::fail(ErrorCode code, const std::string& what) const {
    throw Error(code, cat(name_, ": ", what));
}

void GgufParser::need(uint64_t n, const char* what) const {
    if (n > bytes_.size() - pos_) {
        fail(ErrorCode::format, cat("truncated file: ", what, " needs ", n, " bytes at offset ",
                                    pos_, " but the file is ", bytes_.size(), " bytes"));
    }
}

std::string_view GgufParser::read_string(const char* what, uint64_t max_bytes) {
    const auto length = read<uint64_t>(what);
    if (length > max_bytes) {
        fail(ErrorCode::format, cat(what, " at offset ", pos_ - 8, " claims ", length,
                                    " bytes (limit ", max_bytes, ")"));
    }
    need(length, what);
    std::string_view text(reinterpret_cast<const char*>(bytes_.data() + pos_), length);
    pos_ += length;
    return text;
}

GgufValue GgufParser::read_value(GgufValueType type, int depth, std::string_view key) {
    GgufValue value;
    value.type = type;
    switch (type) {
        case GgufValueType::u8:
            value.data = uint64_t{read<uint8_t>("a u8 value")};
            break;
        case GgufValueType::u16:
            value.data = uint64_t{read<uint16_t>("a u16 value")};
            break;
        case GgufValueType::u32:
            value.data = uint64_t{read<uint32_t>("a u32 value")};
            break;
        case GgufValueType::u64:
            value.data = read<uint64_t>("a u64 value");
            break;
        case GgufValueType::i8:
            value.data = int64_t{read<int8_t>("an i8 value")};
            break;
        case GgufValueType::i16:
            value.data = int64_t{read<int16_t>("an i16 value")};
            break;
        case GgufValueType::i32:
            value.data = int64_t{read<int32_t>("an i32 value")};
            break;
        case GgufValueType::i64:
            value.data = read<int64_t>("an i64 value");
            break;
        case GgufValueType::f32:
            value.data = double{read<float>("an f32 value")};
            break;
        case GgufValueType::f64:
            value.data = read<double>("an f64 value");
            break;
        case GgufValueType::boolean: {
            const auto b = read<uint8_t>("a bool value");
            if (b > 1) {
                fail(ErrorCode::format, cat("metadata key ", single_quoted(key), " has bool value ",
                                            int{b}, " (must be 0 or 1)"));
            }
            value.data = b == 1;
            break;
        }
        case GgufValueType::string:
            value.data = read_string("a string value", bytes_.size());
            break;
        case GgufValueType::array:
            value.data = read_array(depth + 1, key);
            break;
    }
    return value;
}

GgufArray GgufParser::read_array(int depth, std::string_view key) {
    if (depth > kMaxArrayDepth) {
        fail(ErrorCode::format, cat("metadata key ", single_quoted(key), " nests arrays more than ",
                                    kMaxArrayDepth, " deep"));
    }
    const auto raw_type = read<uint32_t>("an array element type");
    if (!valid_value_type(raw_type)) {
        fail(ErrorCode::format, cat("metadata key ", single_quoted(key),
                                    " is an array of unknown value type ", raw_type));
    }
    GgufArray array;
    array.element_type_ = static_cast<GgufValueType>(raw_type);
    array.count_ = read<uint64_t>("an array length");
    const uint64_t left = bytes_.size() - pos_;
    const size_t size = fixed_value_size(array.element_type_);
    // The smallest encoding of one element bounds how many can fit in what is left of the file.
    const uint64_t min_element_bytes =
        size != 0 ? size : (array.element_type_ == GgufValueType::string ? 8 : 12);
    if (array.count_ > left / min_element_bytes) {
        fail(ErrorCode::format, cat("metadata key ", single_quoted(key), " claims ", array.count_,
                                    " array elements but only ", left, " bytes remain"));
    }
    if (size != 0) {
        array.fixed_ = bytes_.data() + pos_;
        if (array.element_type_ == GgufValueType::boolean) {
            for (uint64_t i = 0; i < array.count_; ++i) {
                if (array.fixed_[i] > 1) {
                    fail(ErrorCode::format, cat("metadata key ", single_quoted(key), " element ", i,
                                                " is bool value ", int{array.fixed_[i]}));
                }
            }
        }
        pos_ += array.count_ * size;
    } else if (array.element_type_ == GgufValueType::string) {
        array.strings_.reserve(array.count_);
        for (uint64_t i = 0; i < array.count_; ++i) {
            array.strings_.push_back(read_string("an array string", bytes_.size()));
        }
    } else {
        array.arrays_.reserve(array.count_);
        for (uint64_t i = 0; i < array.count_; ++i)
            array.arrays_.push_back(read_array(depth + 1, key));
    }
    return array;
}

void GgufParser::parse(GgufFile::Impl& out) {
    out.bytes = bytes_;
    if (bytes_.size() < 24) {
        fail(ErrorCode::format,
             cat("not a GGUF file: ", bytes_.size(), " bytes is too short for a header"));
    }
    const auto magic = read<uint32_t>("the magic");
    if (magic != kMagic) {
        fail(ErrorCode::format,
             cat("not a GGUF file: the magic is ",
                 single_quoted(std::string_view(reinterpret_cast<const char*>(bytes_.data()), 4)),
                 ", expected 'GGUF'"));
    }
    out.version = read<uint32_t>("the version");
    if (out.version == 0x03000000u || out.version == 0x02000000u) {
        fail(ErrorCode::unsupported, "big-endian GGUF files are not supported");
    }
    if (out.version != 2 && out.version != 3) {
        fail(ErrorCode::unsupported,
             cat("unsupported GGUF version ", out.version, " (tern reads versions 2 and 3)"));
    }
    const auto tensor_count = read<uint64_t>("the tensor count");
    const auto kv_count = read<uint64_t>("the metadata count");
    // Each metadata pair takes at least 13 bytes and each tensor record at least 24.
    if (kv_count > (bytes_.size() - pos_) / 13) {
        fail(ErrorCode::format, cat("header claims ", kv_count, " metadata pairs, more than a ",
                                    bytes_.size(), "-byte file can hold"));
    }
    if (tensor_count > (bytes_.size() - pos_) / 24) {
        fail(ErrorCode::format, cat("header claims ", tensor_count, " tensors, more than a ",
                                    bytes_.size(), "-byte file can hold"));
    }

    out.metadata.reserve(kv_count);
    for (uint64_t i = 0; i < kv_count; ++i) {
        const std::string_view key = read_string("a metadata key", kMaxKeyBytes);
        if (key.empty()) fail(ErrorCode::format, cat("metadata pair ", i, " has an empty key"));
        const auto raw_type = read<uint32_t>("a metadata value type");
        if (!valid_value_type(raw_type)) {
            fail(ErrorCode::format,
                 cat("metadata key ", single_quoted(key), " has unknown value type ", raw_type));
        }
        GgufValue value = read_value(static_cast<GgufValueType>(raw_type), 0, key);
        if (!out.index.emplace(key, out.metadata.size()).second) {
            fail(ErrorCode::format, cat("duplicate metadata key ", single_quoted(key)));
        }
        out.metadata.emplace_back(key, std::move(value));
    }

    out.alignment = kDefaultAlignment;
    if (auto it = out.index.find("general.alignment"); it != out.index.end()) {
        const GgufValue& value = out.metadata[it->second].second;
        const auto* number = std::get_if<uint64_t>(&value.data);
        if (value.type != GgufValueType::u32 || number == nullptr || *number == 0 ||
            *number % 8 != 0 || !std::has_single_bit(*number) || *number > 65536) {
            fail(ErrorCode::format,
                 "general.alignment must be a u32 power of two between 8 and 65536");
        }
        out.alignment = static_cast<uint32_t>(*number);
    }

    std::string_view arch;
    if (auto it = out.index.find("general.architecture"); it != out.index.end()) {
        if (const auto* text =
                std::get_if<std::string_view>(&out.metadata[it->second].second.data)) {
            arch = *text;
        }
    }
    bool bitnet_types = is_bitnet_family(arch);
    if (auto it = out.index.find("general.file_type"); it != out.index.end()) {
        // bitnet.cpp writes LLaMA-architecture ternary models (Falcon3-1.58bit, Llama3-8B-1.58)
        // with its MOSTLY_I2_S file type 40, which upstream llama.cpp does not use.
        if (const auto* number = std::get_if<uint64_t>(&out.metadata[it->second].second.data)) {
            bitnet_types = bitnet_types || *number == 40;
        }
    }

    read_tensor_infos(out, tensor_count, arch, bitnet_types);
}

void GgufParser::read_tensor_infos(GgufFile::Impl& out, uint64_t tensor_count,
                                   std::string_view arch, bool bitnet_types) {
    out.tensors.reserve(tensor_count);
    for (uint64_t i = 0; i < tensor_count; ++i) {
        TensorView tensor;
        tensor.name = read_string("a tensor name", kMaxTensorNameBytes);
        const auto n_dims = read<uint32_t>("a tensor's dimension count");
        if (n_dims == 0 || n_dims > kMaxDims) {
            fail(ErrorCode::format, cat("tensor ", single_quoted(tensor.name), " has ", n_dims,
                                        " dimensions (1 to 4 allowed)"));
        }
        tensor.n_dims = static_cast<int>(n_dims);
        tensor.ne = {1, 1, 1, 1};
        int64_t numel = 1;
        for (uint32_t d = 0; d < n_dims; ++d) {
            const auto extent = read<uint64_t>("a tensor dimension");
            if (extent > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
                (extent != 0 &&
                 static_cast<uint64_t>(numel) >
                     static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / 4) / extent)) {
                fail(ErrorCode::format, cat("tensor ", single_quoted(tensor.name),
                                            " has dimensions whose product overflows"));
            }
            tensor.ne[d] = static_cast<int64_t>(extent);
            numel *= tensor.ne[d];
        }
        tensor.gguf_type_id = read<uint32_t>("a tensor type");
        tensor.type = tensor_type_from_id(tensor.gguf_type_id, tensor.name, arch, bitnet_types);
        tensor.offset = read<uint64_t>("a tensor offset");
        const int64_t block = tensor_type_block_elements(tensor.type);
        const int64_t bytes = tensor_type_bytes(tensor.type, numel);
        // Block types need whole blocks per row, except I2_S whose blocks span the flat tensor.
        const bool rows_ok = tensor.type == TensorType::i2_s || tensor.ne[0] % block == 0;
        if (bytes < 0 || !rows_ok) {
            fail(ErrorCode::format,
                 cat("tensor ", single_quoted(tensor.name), " of type ",
                     tensor_type_name(tensor.type), " has ", numel, " elements (row ", tensor.ne[0],
                     "), not a whole number of ", block, "-element blocks"));
        }
        if (tensor.offset % out.alignment != 0) {
            fail(ErrorCode::format,
                 cat("tensor ", single_quoted(tensor.name), " offset ", tensor.offset,
                     " is not a multiple of the alignment ", out.alignment));
        }
        tensor.data = {static_cast<const uint8_t*>(nullptr), static_cast<size_t>(bytes)};
        if (!out.tensor_index.emplace(tensor.name, out.tensors.size()).second) {
            fail(ErrorCode::format, cat("duplicate tensor name ", single_quoted(tensor.name)));
        }
        out.tensors.push_back(tensor);
    }

    const uint64_t align = out.alignment;
    out.data_offset = (pos_ + align - 1) / align * align;
    const uint64_t file_size = bytes_.size();
    for (TensorView& tensor : out.tensors) {
        const uint64_t size = tensor.data.size();
        if (out.data_offset > file_size || tensor.offset > file_size - out.data_offset ||
            size > file_size - out.data_offset - tensor.offset) {
            fail(ErrorCode::format,
                 cat("tensor ", single_quoted(tensor.name), " (", size, " bytes at data offset ",
                     tensor.offset, ") lies outside the file (truncated?): the data section holds ",
                     out.data_offset > file_size ? 0 : file_size - out.data_offset, " bytes"));
        }
        tensor.data = {bytes_.data() + out.data_offset + tensor.offset, size};
    }

    std::vector<const TensorView*> by_offset;
    by_offset.reserve(out.tensors.size());
    for (const TensorView& tensor : out.tensors) by_offset.push_back(&tensor);
    std::sort(by_offset.begin(), by_offset.end(),
              [](const TensorView* a, const TensorView* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i) {
        const TensorView& prev = *by_offset[i - 1];
        const TensorView& next = *by_offset[i];
        if (prev.offset + prev.data.size() > next.offset && !next.data.empty() &&
            !prev.data.empty()) {
            fail(ErrorCode::format, cat("tensors ", single_quoted(prev.name), " and ",
                                        single_quoted(next.name), " overlap"));
        }
    }
}

TensorType GgufParser::tensor_type_from_id(uint32_t id, std::string_view tensor,
                                           std::string_view arch, bool bitnet_types) const {
    switch (id) {
        case 0:
            return TensorType::f32;
        case 1:
            return TensorType::f16;
        case 8:
            return TensorType::q8_0;
        case 12:
            return TensorType::q4_k;
        case 14:
            return TensorType::q6_k;
        case 30:
            return TensorType::bf16;
        case 34:
            return TensorType::tq1_0;
        case 35:
            return TensorType::tq2_0;
        default:
            break;
    }
    if (id == 36 || id == 38 || id == 39) {
        if (!bitnet_types) {
            fail(ErrorCode::unsupported,
                 cat("tensor ", single_quoted(tensor), " has type id ", id,
                     ", which is a bitnet.cpp type (I2_S/TL1/TL2) only in bitnet-family files; "
                     "this file's architecture is ",
                     arch.empty() ? std::string("missing") : single_quoted(arch),
                     " and upstream ggml reads id ", id, " as ", upstream_type_name(id)));
        }
        if (id == 36) return TensorType::i2_s;
        fail(ErrorCode::unsupported,
             cat("tensor ", single_quoted(tensor), " is bitnet.cpp ", id == 38 ? "TL1" : "TL2",
                 ", whose layout depends on per-model kernel tiles that the file does not record; "
                 "convert the model to I2_S"));
    }
    if (id < 40) {
        fail(ErrorCode::unsupported,
             cat("tensor ", single_quoted(tensor), " has type ", upstream_type_name(id), " (id ",
                 id, "), which tern does not support"));
    }
    fail(ErrorCode::format, cat("tensor ", single_quoted(tensor), " has unknown type id ", id));
}

}  // namespace tern
