// Byte-level BPE (tokenizer.ggml.model = "gpt2"): pre-tokenizer split, GPT-2 byte mapping, then
// merges applied lowest rank first.
#pragma once

#include "tokenizer/pretokenizer.h"
#include "tokenizer/vocab.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tern {

class BpeEncoder {
public:
    // Builds the merge table from tokenizer.ggml.merges ("left right" in rank order). Throws
    // Error(tokenizer) for a merge whose parts or result are not in the vocabulary.
    BpeEncoder(const Vocab& vocab, const std::vector<std::string_view>& merges,
               PreTokenizer pretokenizer, bool ignore_merges);

    // Appends the tokens of ordinary text (no special-token parsing; valid UTF-8).
    void encode(std::string_view text, std::vector<Token>& out) const;

private:
    void encode_word(std::string_view word, std::vector<Token>& out) const;

    struct Merge {
        int32_t rank;
        Token result;
    };
    static uint64_t pair_key(Token left, Token right) {
        return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
               static_cast<uint32_t>(right);
    }

    const Vocab& vocab_;
    PreTokenizer pretokenizer_;
    bool ignore_merges_;
    std::unordered_map<std::string_view, Token> token_ids_;  // mapped text -> id (normal tokens)
    std::unordered_map<uint64_t, Merge> merges_;
    Token byte_tokens_[256];  // token of each single byte, -1 if the vocabulary lacks it
};

}  // namespace tern
