// UTF-8 validation, encoding and the streaming decoder that never splits a character.
#include "tokenizer/utf8.h"

#include "util/strings.h"

#include <tern/error.h>
#include <tern/tokenizer.h>

namespace tern {

int utf8_sequence_length(std::string_view text, size_t at) {
    const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
    const uint8_t lead = byte(at);
    if (lead < 0x80) return 1;
    int length;
    uint8_t low = 0x80, high = 0xbf;  // allowed range of the second byte
    if (lead >= 0xc2 && lead <= 0xdf) {
        length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        length = 3;
        if (lead == 0xe0) low = 0xa0;   // no overlongs
        if (lead == 0xed) high = 0x9f;  // no surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        length = 4;
        if (lead == 0xf0) low = 0x90;   // no overlongs
        if (lead == 0xf4) high = 0x8f;  // nothing above U+10FFFF
    } else {
        return 0;
    }
    for (int i = 1; i < length; ++i) {
        if (at + static_cast<size_t>(i) >= text.size()) return -1;
        const uint8_t b = byte(at + static_cast<size_t>(i));
        const uint8_t lo = i == 1 ? low : 0x80, hi = i == 1 ? high : 0xbf;
        if (b < lo || b > hi) return 0;
    }
    return length;
}

std::optional<size_t> first_invalid_utf8(std::string_view text) {
    size_t at = 0;
    while (at < text.size()) {
        const int length = utf8_sequence_length(text, at);
        if (length <= 0) return at;
        at += static_cast<size_t>(length);
    }
    return std::nullopt;
}

void check_utf8(std::string_view what, std::string_view text) {
    if (const auto bad = first_invalid_utf8(text)) {
        throw Error(ErrorCode::tokenizer,
                    cat(what, " is not valid UTF-8 (byte ", *bad, " of ", text.size(), ")"));
    }
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xc0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xe0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
        out += static_cast<char>(0xf0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    }
}

namespace {
constexpr std::string_view kReplacement = "\xef\xbf\xbd";  // U+FFFD
}

std::string Utf8StreamDecoder::push(std::string_view bytes) {
    pending_.append(bytes);
    std::string out;
    size_t at = 0;
    while (at < pending_.size()) {
        const int length = utf8_sequence_length(pending_, at);
        if (length < 0) break;  // incomplete: wait for more bytes
        if (length == 0) {
            out += kReplacement;
            ++at;
            continue;
        }
        out.append(pending_, at, static_cast<size_t>(length));
        at += static_cast<size_t>(length);
    }
    pending_.erase(0, at);
    return out;
}

std::string Utf8StreamDecoder::flush() {
    std::string out = pending_.empty() ? "" : std::string(kReplacement);
    pending_.clear();
    return out;
}

}  // namespace tern
