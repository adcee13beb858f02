// Atomic file replacement: temporary file, fsync, rename, fsync of the directory.
#include "util/atomic_file.h"

#include "util/strings.h"

#include <tern/error.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace tern {

namespace {

[[noreturn]] void io_error(const std::string& what, const std::filesystem::path& path, int err) {
    throw Error(ErrorCode::io, cat("cannot ", what, " ", path.string(), ": ", std::strerror(err)));
}

// The file that writing to `path` would write: symbolic links followed (also a dangling last
// one, whose target is then created), so the rename replaces the file a link points to and
// never the link itself.
std::filesystem::path resolve_links(std::filesystem::path path) {
    constexpr int kMaxLinks = 40;  // as the kernel's ELOOP limit
    for (int i = 0; i < kMaxLinks; ++i) {
        struct stat st {};
        if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return path;
        std::filesystem::path link = std::filesystem::read_symlink(path);
        path = link.is_absolute() ? link : path.parent_path() / link;
    }
    io_error("follow the links of", path, ELOOP);
}

}  // namespace

AtomicFile::AtomicFile(const std::filesystem::path& requested) : target_(resolve_links(requested)) {
    const std::filesystem::path& target = target_;
    // Only a regular file is replaced: renaming over a device, a FIFO or a socket would put a
    // plain file in its place (and a directory cannot be renamed over).
    struct stat existing {};
    const bool exists = ::stat(target.c_str(), &existing) == 0;
    if (exists && !S_ISREG(existing.st_mode)) {
        throw Error(ErrorCode::io,
                    cat("cannot write ", requested.string(), ": ",
                        S_ISDIR(existing.st_mode) ? "it is a directory" : "not a regular file"));
    }
    const std::filesystem::path directory =
        target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
    std::string temp_name = ".";  // hidden, beside the target (built piecewise: GCC 12 -Wrestrict)
    temp_name += target.filename().string();
    temp_name += ".XXXXXX";
    const std::string pattern = (directory / temp_name).string();
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    fd_ = ::mkstemp(name.data());
    if (fd_ < 0) io_error("create a temporary file for", target, errno);
    temp_ = name.data();
    ::fchmod(fd_, exists ? existing.st_mode & 07777 : 0644);  // a replaced file keeps its mode
}

AtomicFile::~AtomicFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
}

void AtomicFile::write(const void* data, size_t size) {
    const auto* bytes = static_cast<const uint8_t*>(data);
    while (size > 0) {
        const ssize_t written = ::write(fd_, bytes, size);
        if (written < 0) {
            if (errno == EINTR) continue;
            io_error("write", target_, errno);
        }
        bytes += written;
        size -= static_cast<size_t>(written);
    }
}

void AtomicFile::commit() {
    if (::fsync(fd_) != 0) io_error("flush", target_, errno);
    if (::close(fd_) != 0) {
        fd_ = -1;
        io_error("close", target_, errno);
    }
    fd_ = -1;
    if (::rename(temp_.c_str(), target_.c_str()) != 0) io_error("rename into", target_, errno);
    committed_ = true;
    const std::filesystem::path directory =
        target_.has_parent_path() ? target_.parent_path() : std::filesystem::path(".");
    const int dir = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        ::fsync(dir);
        ::close(dir);
    }
}

void write_file_atomically(const std::filesystem::path& path, std::string_view content) {
    AtomicFile file(path);
    file.write(content);
    file.commit();
}

}  // namespace tern
