// The vocabulary stored in a GGUF file (tokenizer.ggml.*), read and validated.
#pragma once

#include <tern/gguf.h>
#include <tern/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace tern {

// GGUF token types (tokenizer.ggml.token_type); the same numbering as sentencepiece's.
enum class TokenType : int32_t {
    undefined = 0,
    normal = 1,
    unknown = 2,
    control = 3,
    user_defined = 4,
    unused = 5,
    byte = 6,
};

// Owns copies of all its strings, so a tokenizer outlives the file it was read from.
struct Vocab {
    std::string model;                   // tokenizer.ggml.model: "llama", "gpt2", ...
    std::vector<char> storage;           // the bytes every view below points into
    std::vector<std::string_view> text;  // token strings
    std::vector<float> scores;           // one per token (0 when the file has none)
    std::vector<TokenType> types;        // one per token (normal when the file has none)
    Token bos = -1, eos = -1, eot = -1, unk = -1, pad = -1;
    std::vector<Token> end_of_generation;  // EOS, EOT and other end-of-turn control tokens
    bool add_bos = false;
    bool add_eos = false;
    bool add_space_prefix = false;
    std::string pre;                       // tokenizer.ggml.pre, for BPE
    std::vector<std::string_view> merges;  // tokenizer.ggml.merges, for BPE ("left right", by rank)
    std::string chat_template;             // tokenizer.chat_template (Jinja source), if present

    int64_t size() const { return static_cast<int64_t>(text.size()); }
};

// Reads tokenizer.ggml.*; throws Error(tokenizer) naming the key when a key is missing, has the
// wrong type, the arrays disagree in length, or a special id is out of range.
Vocab read_vocab(const GgufFile& file);

}  // namespace tern
