// A read-only memory mapping of a whole file, owned RAII-style.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>

namespace tern {

class MappedFile {
public:
    // Maps `path` read-only. Throws Error(io) naming the path and the system's reason.
    explicit MappedFile(const std::filesystem::path& path);
    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&&) = delete;
    MappedFile(const MappedFile&) = delete;
    ~MappedFile();

    std::span<const uint8_t> bytes() const { return {data_, size_}; }

private:
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace tern
