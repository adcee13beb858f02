// The single exception type tern throws for every failure it reports to a caller.
#pragma once

#include <stdexcept>
#include <string>

namespace tern {

// What kind of failure an Error reports; callers branch on this, users read the message.
enum class ErrorCode {
    invalid_argument,  // a caller passed a bad value (flag, option, token id)
    io,                // a file could not be opened, read, mapped or written
    format,            // a file is malformed: bad magic, truncated, out-of-range offsets
    unsupported,       // a well-formed file uses something tern does not implement
    model,         // the model is inconsistent: missing tensor, wrong shape, bad hyper-parameter
    tokenizer,     // the vocabulary is unusable, or text cannot be tokenised
    context_full,  // more tokens than the session's context can hold
};

// Every message is one line that names the problem (file, key or tensor, expected vs found).
class Error : public std::runtime_error {
public:
    Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
    ErrorCode code() const noexcept { return code_; }

private:
    ErrorCode code_;
};

}  // namespace tern
