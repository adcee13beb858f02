// The GPT-2 byte <-> Unicode map.
#include "tokenizer/byte_unicode.h"

#include "tokenizer/utf8.h"

namespace tern {

ByteUnicodeMap::ByteUnicodeMap() {
    code_point_to_byte_.fill(-1);
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
        const bool printable =
            (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        const uint32_t cp = printable ? static_cast<uint32_t>(b) : next++;
        append_utf8(byte_to_utf8_[static_cast<size_t>(b)], cp);
        code_point_to_byte_[cp] = static_cast<int16_t>(b);
    }
}

std::string ByteUnicodeMap::encode(std::string_view bytes) const {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char c : bytes) out += byte_to_utf8_[static_cast<uint8_t>(c)];
    return out;
}

bool ByteUnicodeMap::decode(std::string_view text, std::string& out) const {
    size_t at = 0;
    while (at < text.size()) {
        const int length = utf8_sequence_length(text, at);
        if (length <= 0) return false;
        uint32_t cp = static_cast<uint8_t>(text[at]);
        if (length > 1) {
            cp &= 0xFFu >> (length + 1);
            for (int i = 1; i < length; ++i)
                cp = (cp << 6) | (static_cast<uint8_t>(text[at + static_cast<size_t>(i)]) & 0x3F);
        }
        if (cp >= code_point_to_byte_.size() || code_point_to_byte_[cp] < 0) return false;
        out += static_cast<char>(code_point_to_byte_[cp]);
        at += static_cast<size_t>(length);
    }
    return true;
}

const ByteUnicodeMap& byte_unicode_map() {
    static const ByteUnicodeMap map;
    return map;
}

}  // namespace tern
