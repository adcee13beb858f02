// Writing a file so that its path holds either the old content or the complete new content.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string_view>

#include <tern/files.h>

namespace tern {

// Writes go to a temporary file beside the target; commit() flushes it to disk and renames it
// over the target. Destroying an uncommitted AtomicFile removes the temporary file.
class AtomicFile {
public:
    // `target` may be a symbolic link: the file it points to is replaced (the link stays). A
    // target that exists and is not a regular file is refused.
    explicit AtomicFile(const std::filesystem::path& target);  // throws Error(io)
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    void write(const void* data, size_t size);  // throws Error(io)
    void write(std::string_view text) { write(text.data(), text.size()); }
    void commit();  // throws Error(io)

private:
    std::filesystem::path target_;
    std::string temp_;
    int fd_ = -1;
    bool committed_ = false;
};

}  // namespace tern
