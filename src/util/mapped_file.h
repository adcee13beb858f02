// A read-only memory mapping of a whole file, owned RAII-style, with the file kept open to copy
// parts out by read() instead of through the mapping.
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

    // Copies the n bytes at `offset` into dst with pread, so (unlike reading the mapping) the
    // file's pages do not join the process's resident set: they are read from the page cache.
    // False if the range is outside the file or the read fails (dst then unspecified).
    bool copy_out(size_t offset, size_t n, void* dst) const noexcept;

private:
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
    int fd_ = -1;  // the mapped file, open for copy_out
};

}  // namespace tern
