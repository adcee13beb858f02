// Turns a SIGBUS inside a mapped model file (the file was truncated while tern was using it) into
// a one-line error and exit status 1 instead of a crash.
#pragma once

#include <cstddef>
#include <string>

namespace tern {

// Registers [begin, begin + size) as the mapping of `path` until unregister_mapping(begin).
// Installs the SIGBUS handler on first use; a SIGBUS at any other address goes to the handler
// that was installed before (or the default action).
void register_mapping(const void* begin, size_t size, const std::string& path);
void unregister_mapping(const void* begin);

}  // namespace tern
