// Writing files so that a reader sees either the old content or the complete new one.
#pragma once

#include <filesystem>
#include <string_view>

namespace tern {

// Writes to a temporary file beside `path`, flushes it to disk and renames it over `path`.
// A crash or kill midway leaves `path` untouched. A symbolic link is followed (the file it
// points to is replaced); an existing `path` that is not a regular file is refused. Throws
// Error(io) naming the path.
void write_file_atomically(const std::filesystem::path& path, std::string_view content);

}  // namespace tern
