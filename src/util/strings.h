// Small string helpers: concatenating mixed values into messages, human-readable sizes.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

namespace tern {

// Concatenates its arguments with operator<<: cat("tensor ", name, " has ", n, " dims").
template <typename... Args>
std::string cat(const Args&... args) {
    std::ostringstream out;
    (out << ... << args);
    return out.str();
}

// "1.23 GiB", "512 B".
std::string human_bytes(uint64_t bytes);

// Printable form of arbitrary bytes for error messages: quoted, non-printables as \xNN, cut at
// `max_chars` with "...".
std::string single_quoted(std::string_view bytes, size_t max_chars = 64);

}  // namespace tern
