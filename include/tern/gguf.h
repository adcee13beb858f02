// GGUF v2/v3 files: a validating memory-mapped reader with non-owning tensor views, and an atomic
// writer.
#pragma once

#include <tern/types.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tern {

// GGUF metadata value type codes, exactly as stored in the file.
enum class GgufValueType : uint32_t {
    u8 = 0,
    i8 = 1,
    u16 = 2,
    i16 = 3,
    u32 = 4,
    i32 = 5,
    f32 = 6,
    boolean = 7,
    string = 8,
    array = 9,
    u64 = 10,
    i64 = 11,
    f64 = 12,
};

std::string_view gguf_value_type_name(GgufValueType type);

// A metadata array. Fixed-size elements stay in the mapped file (read on access); strings and
// nested arrays are indexed once while the file is validated.
class GgufArray {
public:
    GgufValueType element_type() const { return element_type_; }
    uint64_t size() const { return count_; }

    // Element i converted to the asked-for kind; throws Error if the element type does not fit
    // (e.g. int_at on a string array) or the value is out of range.
    int64_t int_at(uint64_t i) const;
    double float_at(uint64_t i) const;
    bool bool_at(uint64_t i) const;
    std::string_view string_at(uint64_t i) const;
    const GgufArray& array_at(uint64_t i) const;

private:
    friend class GgufParser;
    GgufValueType element_type_ = GgufValueType::u8;
    uint64_t count_ = 0;
    const uint8_t* fixed_ = nullptr;         // fixed-size elements, little-endian, packed
    std::vector<std::string_view> strings_;  // string elements (views into the file)
    std::vector<GgufArray> arrays_;          // nested array elements
};

// One metadata value. Integers keep their signedness; floats are widened to double.
struct GgufValue {
    GgufValueType type = GgufValueType::u8;
    std::variant<uint64_t, int64_t, double, bool, std::string_view, GgufArray> data;
};

// A tensor inside a mapped file. Non-owning: valid while the GgufFile that made it is alive.
struct TensorView {
    std::string_view name;
    TensorType type = TensorType::f32;
    uint32_t gguf_type_id = 0;      // the raw id in the file
    int n_dims = 0;                 // 1..4
    std::array<int64_t, 4> ne{};    // ne[0] is the contiguous (innermost) dimension; unused = 1
    uint64_t offset = 0;            // from the start of the data section
    std::span<const uint8_t> data;  // exactly tensor_type_bytes(type, numel()) bytes

    int64_t numel() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
};

// A parsed, validated GGUF file. Construction checks magic, version, every count against the
// file size, string lengths, value types, nesting depth, tensor dims, type ids, offsets,
// alignment and overlap, so that everything it hands out is safe to use.
class GgufFile {
public:
    // Memory-maps `path` read-only and validates it. Throws Error naming the file and problem.
    static GgufFile open(const std::filesystem::path& path);
    // Validates an in-memory image (the caller keeps `bytes` alive). `name` is used in messages.
    static GgufFile parse(std::span<const uint8_t> bytes, std::string name = "<memory>");

    GgufFile(GgufFile&&) noexcept;
    GgufFile& operator=(GgufFile&&) noexcept;
    ~GgufFile();

    const std::string& name() const;  // path or the name given to parse()
    uint32_t version() const;
    uint32_t alignment() const;
    uint64_t file_size() const;
    uint64_t data_offset() const;  // where the tensor data section starts

    // Metadata in file order.
    const std::vector<std::pair<std::string_view, GgufValue>>& metadata() const;
    const GgufValue* find(std::string_view key) const;

    // Typed look-ups: nullopt when the key is absent; Error when present with the wrong type or
    // out of range. Integer getters accept any integer type (u8..i64) and range-check.
    std::optional<int64_t> get_int(std::string_view key) const;
    std::optional<double> get_float(std::string_view key) const;  // any float or integer type
    std::optional<bool> get_bool(std::string_view key) const;
    std::optional<std::string_view> get_string(std::string_view key) const;
    const GgufArray* get_array(std::string_view key) const;

    std::span<const TensorView> tensors() const;
    const TensorView* find_tensor(std::string_view name) const;

    // Tells the OS a tensor's mapped pages are no longer needed (after repacking it), so they
    // leave the resident set; reading the tensor again faults them back in from the file.
    // A no-op for parse()d images.
    void release_pages(const TensorView& tensor) const;

    // Copies the n bytes at `at` (inside a tensor's data) into dst by reading the file rather
    // than the mapping, so the pages stay out of the resident set (for the few rows a token reads
    // of a big matrix used in place). Plain memcpy for parse()d images. False if the read
    // fails; dst is then unspecified and the caller can read the mapping instead.
    bool copy_out(const uint8_t* at, size_t n, void* dst) const noexcept;

    struct Impl;  // private to the implementation

private:
    explicit GgufFile(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Builds a GGUF v3 file and writes it atomically: a temporary file in the target directory,
// fsync, then rename, so the target path holds either the old content or the complete new file.
class GgufWriter {
public:
    explicit GgufWriter(uint32_t alignment = 32);

    // Scalar metadata. Setting a key twice replaces the earlier value (keeps its position).
    void set_u32(std::string_view key, uint32_t value);
    void set_i32(std::string_view key, int32_t value);
    void set_u64(std::string_view key, uint64_t value);
    void set_f32(std::string_view key, float value);
    void set_bool(std::string_view key, bool value);
    void set_string(std::string_view key, std::string_view value);
    void set_strings(std::string_view key, std::span<const std::string> values);
    void set_f32s(std::string_view key, std::span<const float> values);
    void set_i32s(std::string_view key, std::span<const int32_t> values);
    // Any value, given as its type code and its already-encoded payload (for tests and copies).
    void set_raw(std::string_view key, GgufValueType type, std::vector<uint8_t> payload);
    // Copies one value from a file being read (used to carry a vocabulary into another file).
    void copy_value(std::string_view key, const GgufValue& value);

    // Fills the tensor's bytes (exactly tensor_type_bytes(type, numel) of them) when the file is
    // written, so large models never need to be held in memory whole.
    using Producer = std::function<void(std::span<uint8_t> out)>;
    void add_tensor(std::string_view name, TensorType type, std::span<const int64_t> ne,
                    Producer producer);
    void add_tensor(std::string_view name, TensorType type, std::span<const int64_t> ne,
                    std::vector<uint8_t> bytes);

    // Called after each tensor is written with (tensors done, tensors total).
    using Progress = std::function<void(size_t done, size_t total)>;
    void write(const std::filesystem::path& path, const Progress& progress = {}) const;

private:
    struct Tensor {
        std::string name;
        TensorType type;
        std::vector<int64_t> ne;
        uint64_t bytes;
        Producer producer;
    };
    uint32_t alignment_;
    std::vector<std::pair<std::string, std::vector<uint8_t>>> kv_;  // key, encoded (type, value)
    std::vector<Tensor> tensors_;
    void set_encoded(std::string_view key, std::vector<uint8_t> encoded);
};

// The GGUF type id tern writes for a tensor type (i2_s is bitnet.cpp's 36).
uint32_t gguf_type_id(TensorType type);

}  // namespace tern
