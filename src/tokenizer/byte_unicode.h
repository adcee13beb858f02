// GPT-2's reversible map between bytes and printable Unicode code points, used by byte-level BPE
// vocabularies: bytes 33-126, 161-172 and 174-255 map to themselves, the other 68 bytes to
// U+0100 upward in byte order (so a space is stored as 'Ġ', U+0120).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace tern {

class ByteUnicodeMap {
public:
    ByteUnicodeMap();
    // UTF-8 of the code point standing for `byte`.
    const std::string& encode(uint8_t byte) const { return byte_to_utf8_[byte]; }
    // Maps every byte of `bytes` (no UTF-8 requirement).
    std::string encode(std::string_view bytes) const;
    // Decodes mapped text back to bytes; false if it holds a code point that stands for no byte.
    bool decode(std::string_view text, std::string& out) const;

private:
    std::array<std::string, 256> byte_to_utf8_;
    std::array<int16_t, 512> code_point_to_byte_;  // -1 where no byte maps to the code point
};

const ByteUnicodeMap& byte_unicode_map();

}  // namespace tern
