// Fuzz target: the chat-template renderer on arbitrary conversations. Byte 0 picks the template,
// the vocabulary (sentencepiece or BPE) and the generation prompt; the rest is messages separated
// by 0x1E, each starting with a role byte. Also fuzzes template-name parsing.
#include "fuzz_vocab.h"

#include <tern/chat.h>
#include <tern/error.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    (void)tern::parse_chat_template(rest.substr(0, 16));
    constexpr tern::ChatTemplate kTemplates[] = {
        tern::ChatTemplate::bitnet, tern::ChatTemplate::llama3, tern::ChatTemplate::llama2,
        tern::ChatTemplate::falcon3, tern::ChatTemplate::plain};
    const tern::ChatTemplate t = kTemplates[data[0] % 5];
    const tern::Tokenizer& tok =
        (data[0] & 8) ? tern::fuzz::bpe_tokenizer() : tern::fuzz::spm_tokenizer();
    const bool generation_prompt = data[0] & 16;

    constexpr const char* kRoles[] = {"system", "user", "assistant", "tool"};
    std::vector<tern::ChatMessage> messages;
    for (size_t begin = 0; begin <= rest.size();) {
        size_t end = rest.find('\x1e', begin);
        if (end == std::string_view::npos) end = rest.size();
        const std::string_view m = rest.substr(begin, end - begin);
        if (!m.empty())
            messages.push_back({kRoles[static_cast<uint8_t>(m[0]) % 4], std::string(m.substr(1))});
        begin = end + 1;
    }
    try {
        const auto tokens = tern::render_chat(t, tok, messages, generation_prompt);
        for (tern::Token id : tokens) {
            if (id < 0 || id >= tok.n_vocab()) std::abort();
        }
    } catch (const tern::Error&) {  // invalid UTF-8 in a message
    }
    return 0;
}
