// Text to token ids and back, built from the vocabulary stored in a GGUF file.
#pragma once

#include <tern/types.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tern {

class GgufFile;

enum class TokenizerKind { sentencepiece, bpe };

class Tokenizer {
public:
    // Builds the tokenizer described by tokenizer.ggml.* keys. Throws Error(tokenizer) when the
    // keys are missing or inconsistent.
    static Tokenizer from_gguf(const GgufFile& file);

    Tokenizer(Tokenizer&&) noexcept;
    Tokenizer& operator=(Tokenizer&&) noexcept;
    ~Tokenizer();

    TokenizerKind kind() const;
    int64_t n_vocab() const;

    // Encodes UTF-8 text. Invalid UTF-8 is rejected with Error(tokenizer) naming the byte offset.
    // Special-token texts ("<|eot_id|>", "<s>") are ordinary text unless parse_special is set;
    // chat templates set it for their own markup, never for what a user typed.
    std::vector<Token> encode(std::string_view text, bool add_bos,
                              bool parse_special = false) const;
    // The bytes the tokens stand for, as a whole text (the leading space that sentencepiece
    // adds is removed). Control tokens produce nothing.
    std::string decode(std::span<const Token> tokens) const;
    // The bytes one token contributes in running text (may be part of a UTF-8 character).
    std::string piece(Token token) const;
    // The token's text as stored in the vocabulary (e.g. "▁the", "<0x0A>", "<s>").
    std::string_view token_text(Token token) const;

    // The id of a control or user-defined token with exactly this text, or -1.
    Token special_token(std::string_view text) const;
    // One line for --verbose: kind, sizes, and the BPE pre-tokenizer (and why, if assumed).
    const std::string& description() const;
    // tokenizer.chat_template from the file (Jinja source), or empty.
    const std::string& chat_template() const;

    Token bos() const;  // -1 when the vocabulary has none
    Token eos() const;
    bool add_bos_by_default() const;
    bool is_end_of_generation(Token token) const;  // EOS, EOT and similar
    bool is_control(Token token) const;

    struct Impl;  // private to the implementation

private:
    explicit Tokenizer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Turns a stream of tokens into text that never splits a UTF-8 character: bytes of an incomplete
// character are held back until the character completes; bytes that can never form a valid
// character are replaced by U+FFFD.
class Utf8StreamDecoder {
public:
    // Adds bytes; returns the text that is now complete.
    std::string push(std::string_view bytes);
    // Returns whatever is held back, replacing an incomplete trailing character by U+FFFD.
    std::string flush();

private:
    std::string pending_;
};

}  // namespace tern
