// Splitting text into words before byte-level BPE, with the regular expressions a vocabulary's
// tokenizer.ggml.pre names, using PCRE2 (Unicode properties such as \p{L} and look-ahead).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tern {

class PreTokenizer {
public:
    // Each pattern splits every piece the previous patterns produced: matches become pieces, and
    // so does any text between matches (nothing is dropped). Throws Error(tokenizer) if a
    // pattern does not compile.
    explicit PreTokenizer(const std::vector<std::string>& patterns);
    ~PreTokenizer();
    PreTokenizer(PreTokenizer&&) noexcept;
    PreTokenizer& operator=(PreTokenizer&&) noexcept;

    // `text` must be valid UTF-8; the pieces are views into it and cover it exactly.
    std::vector<std::string_view> split(std::string_view text) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The patterns llama.cpp associates with a pre-tokenizer name: "llama3" (also llama-bpe,
// llama-v3, falcon3, falcon_e, falcon-h1), "gpt-2" (gpt2, mpt, olmo, jais), "falcon",
// "default". Returns false for an unknown name.
bool pretokenizer_patterns(std::string_view name, std::vector<std::string>& patterns,
                           bool& ignore_merges);

}  // namespace tern
