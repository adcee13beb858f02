// Fuzz target: arbitrary bytes through a tokenizer (TERN_FUZZ_BPE picks byte-level BPE, else
// sentencepiece). Byte 0 holds flags; the rest is encoded as text, and also read as token ids
// to decode. Valid UTF-8 must round-trip through encode and decode.
#include "fuzz_vocab.h"

#include <tern/error.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#ifndef TERN_FUZZ_BPE
#define TERN_FUZZ_BPE 0
#endif

namespace {

const tern::Tokenizer& tokenizer() {
    return TERN_FUZZ_BPE ? tern::fuzz::bpe_tokenizer() : tern::fuzz::spm_tokenizer();
}

[[noreturn]] void fail(const char* what, std::string_view text, const std::string& got) {
    std::fprintf(stderr, "%s\n  text: %zu bytes\n  got:  %zu bytes\n", what, text.size(),
                 got.size());
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const tern::Tokenizer& tok = tokenizer();
    const bool add_bos = data[0] & 1, parse_special = data[0] & 2;
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

    // Token ids from the same bytes: 16-bit values, some beyond the vocabulary or negative.
    std::vector<tern::Token> ids;
    for (size_t i = 1; i + 1 < size; i += 2)
        ids.push_back(static_cast<int16_t>(data[i] | (data[i + 1] << 8)));
    const std::string decoded = tok.decode(ids);
    tern::Utf8StreamDecoder stream;
    std::string streamed;
    for (tern::Token id : ids) streamed += stream.push(tok.piece(id));
    streamed += stream.flush();
    (void)tok.token_text(ids.empty() ? 0 : ids[0]);

    std::vector<tern::Token> tokens;
    try {
        tokens = tok.encode(text, add_bos, parse_special);
    } catch (const tern::Error&) {
        return 0;  // invalid UTF-8 is refused
    }
    for (tern::Token t : tokens) {
        if (t < 0 || t >= tok.n_vocab())
            fail("encode produced an id outside the vocabulary", text, {});
    }
    const std::string round_trip = tok.decode(tokens);
    // Sentencepiece stores a space as U+2581, so a typed U+2581 comes back as a space: exempt.
    const bool spm_space_in_text =
        !TERN_FUZZ_BPE && text.find("\xe2\x96\x81") != std::string_view::npos;
    if (!parse_special && !spm_space_in_text && round_trip != text)
        fail("decode(encode(text)) != text", text, round_trip);
    return 0;
}
