// UTF-8 validation and decoding helpers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tern {

// Length of the valid UTF-8 sequence starting at text[at] (1..4), 0 if the bytes there can
// never start a valid sequence, or -1 if they are a valid but incomplete prefix at the end.
// Overlong forms, surrogates and code points above U+10FFFF are invalid.
int utf8_sequence_length(std::string_view text, size_t at);

// Offset of the first byte that is not part of valid UTF-8, or nullopt if all of `text` is valid.
std::optional<size_t> first_invalid_utf8(std::string_view text);

// Throws a tokenizer Error "`what` is not valid UTF-8 (byte N of M)" unless all of `text` is valid.
void check_utf8(std::string_view what, std::string_view text);

// Appends the UTF-8 encoding of `code_point` (must be <= U+10FFFF and not a surrogate).
void append_utf8(std::string& out, uint32_t code_point);

}  // namespace tern
