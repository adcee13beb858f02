// Read-only whole-file memory mapping (POSIX mmap).
#include "util/mapped_file.h"

#include "util/sigbus_guard.h"
#include "util/strings.h"

#include <tern/error.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace tern {

MappedFile::MappedFile(const std::filesystem::path& path) {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer before the
    // regular-file check below could refuse it (no effect on regular files).
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        throw Error(ErrorCode::io, cat("cannot open ", path.string(), ": ", std::strerror(errno)));
    }
    struct stat info {};
    if (::fstat(fd, &info) != 0) {
        const int err = errno;
        ::close(fd);
        throw Error(ErrorCode::io, cat("cannot stat ", path.string(), ": ", std::strerror(err)));
    }
    if (!S_ISREG(info.st_mode)) {
        ::close(fd);
        throw Error(ErrorCode::io, cat("cannot open ", path.string(), ": not a regular file"));
    }
    size_ = static_cast<size_t>(info.st_size);
    if (size_ > 0) {
        void* mapping = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (mapping == MAP_FAILED) {
            const int err = errno;
            ::close(fd);
            throw Error(ErrorCode::io, cat("cannot map ", path.string(), ": ", std::strerror(err)));
        }
        data_ = static_cast<const uint8_t*>(mapping);
        register_mapping(data_, size_, path.string());
    }
    fd_ = fd;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      fd_(std::exchange(other.fd_, -1)) {}

MappedFile::~MappedFile() {
    unregister_mapping(data_);
    if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
    if (fd_ >= 0) ::close(fd_);
}

bool MappedFile::copy_out(size_t offset, size_t n, void* dst) const noexcept {
    if (fd_ < 0 || offset > size_ || n > size_ - offset) return false;
    auto* out = static_cast<uint8_t*>(dst);
    while (n > 0) {
        const ssize_t got = ::pread(fd_, out, n, static_cast<off_t>(offset));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return false;  // an error, or the file shrank under us
        out += got;
        offset += static_cast<size_t>(got);
        n -= static_cast<size_t>(got);
    }
    return true;
}

}  // namespace tern
