// Test support: building valid tiny models and deriving broken ones from them.
#pragma once

#include <tern/dummy.h>
#include <tern/gguf.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace tern::test {

std::vector<uint8_t> read_bytes(const std::filesystem::path& path);
void write_bytes(const std::filesystem::path& path, const std::vector<uint8_t>& bytes);

// A fresh directory under the system temp dir, removed when the object dies.
class TempDir {
public:
    TempDir();
    ~TempDir();
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

// The tiny preset (bitnet-b1.58, 256 wide, 2 layers) with the given weight type and architecture.
DummyModelSpec tiny_spec(TensorType type = TensorType::i2_s,
                         Architecture arch = Architecture::bitnet_b158);

// Byte positions of one tensor-info record in a GGUF image.
struct TensorRecord {
    size_t dims;    // first u64 dimension
    size_t type;    // u32 type id
    size_t offset;  // u64 offset
};
TensorRecord find_tensor_record(const std::vector<uint8_t>& bytes, const std::string& name);

template <typename T>
void poke(std::vector<uint8_t>& bytes, size_t at, T value) {
    std::memcpy(bytes.data() + at, &value, sizeof(T));
}
template <typename T>
T peek(const std::vector<uint8_t>& bytes, size_t at) {
    T value;
    std::memcpy(&value, bytes.data() + at, sizeof(T));
    return value;
}

// Copies a GGUF file through GgufWriter, letting `edit` change metadata and tensors on the way.
struct GgufEdit {
    std::function<bool(std::string_view key)> keep_key = [](std::string_view) { return true; };
    std::function<bool(std::string_view name)> keep_tensor = [](std::string_view) { return true; };
    std::function<void(GgufWriter&)> extra;  // runs after the copied metadata
};
void rewrite_gguf(const std::filesystem::path& from, const std::filesystem::path& to,
                  const GgufEdit& edit);

// The named broken models the CLI tests and the library tests share, written into `dir`:
// valid, truncated, bad_magic, version1, version99, unknown_type, q4_0_type, i2s_in_qwen,
// tensor_outside, overlap, missing_tensor, wrong_shape, unknown_arch, no_tokenizer; plus
// invalid_utf8.txt.
void write_bad_models(const std::filesystem::path& dir);

}  // namespace tern::test
