// Tokenizer: sentencepiece vocabularies through libsentencepiece, built from the GGUF vocabulary.
#include "tokenizer/spm_proto.h"
#include "tokenizer/utf8.h"
#include "tokenizer/vocab.h"
#include "util/strings.h"

#include <tern/error.h>
#include <tern/gguf.h>
#include <tern/tokenizer.h>

#include <sentencepiece_processor.h>

#include <memory>

namespace tern {

struct Tokenizer::Impl {
    Vocab vocab;
    TokenizerKind kind = TokenizerKind::sentencepiece;
    std::unique_ptr<sentencepiece::SentencePieceProcessor> spm;
    std::vector<std::string> pieces;  // bytes each token contributes to running text
};

namespace {

constexpr std::string_view kSpmSpace = "\xe2\x96\x81";  // U+2581, sentencepiece's space

// "<0xAB>" -> 0xAB; -1 if the text is not a byte token.
int parse_byte_token(std::string_view text) {
    if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
    int value = 0;
    for (char c : text.substr(3, 2)) {
        value <<= 4;
        if (c >= '0' && c <= '9') value |= c - '0';
        else if (c >= 'A' && c <= 'F') value |= c - 'A' + 10;
        else if (c >= 'a' && c <= 'f') value |= c - 'a' + 10;
        else return -1;
    }
    return value;
}

std::string spm_piece(std::string_view text, TokenType type) {
    switch (type) {
        case TokenType::control: return "";
        case TokenType::unknown: return " \xe2\x81\x87 ";  // " ⁇ ", as sentencepiece decodes it
        case TokenType::byte: {
            const int value = parse_byte_token(text);
            return value < 0 ? std::string(text) : std::string(1, static_cast<char>(value));
        }
        default: break;
    }
    std::string out;
    size_t at = 0;
    while (at < text.size()) {
        if (text.substr(at, kSpmSpace.size()) == kSpmSpace) {
            out += ' ';
            at += kSpmSpace.size();
        } else {
            out += text[at++];
        }
    }
    return out;
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_gguf(const GgufFile& file) {
    auto impl = std::make_unique<Impl>();
    impl->vocab = read_vocab(file);
    const Vocab& v = impl->vocab;
    if (v.model != "llama") {
        throw Error(ErrorCode::unsupported,
                    cat(file.name(), ": tokenizer.ggml.model ", single_quoted(v.model),
                        " is not supported (tern reads sentencepiece 'llama' vocabularies)"));
    }
    if (v.unk < 0) {
        throw Error(ErrorCode::tokenizer,
                    cat(file.name(), ": the sentencepiece vocabulary has no unknown token"));
    }
    impl->kind = TokenizerKind::sentencepiece;
    impl->spm = std::make_unique<sentencepiece::SentencePieceProcessor>();
    const auto status = impl->spm->LoadFromSerializedProto(serialize_spm_model(v));
    if (!status.ok()) {
        throw Error(ErrorCode::tokenizer,
                    cat(file.name(), ": the vocabulary is not a valid sentencepiece model: ",
                        status.ToString()));
    }
    impl->pieces.reserve(v.text.size());
    for (size_t i = 0; i < v.text.size(); ++i) impl->pieces.push_back(spm_piece(v.text[i], v.types[i]));
    return Tokenizer(std::move(impl));
}

TokenizerKind Tokenizer::kind() const { return impl_->kind; }
int64_t Tokenizer::n_vocab() const { return impl_->vocab.size(); }

std::vector<Token> Tokenizer::encode(std::string_view text, bool add_bos) const {
    if (const auto bad = first_invalid_utf8(text)) {
        throw Error(ErrorCode::tokenizer, cat("text is not valid UTF-8 (byte ", *bad, " of ",
                                              text.size(), ")"));
    }
    std::vector<Token> tokens;
    if (add_bos && impl_->vocab.bos >= 0) tokens.push_back(impl_->vocab.bos);
    if (!text.empty()) {
        std::vector<int> ids;
        const auto status = impl_->spm->Encode(text, &ids);
        if (!status.ok()) {
            throw Error(ErrorCode::tokenizer, cat("cannot tokenize text: ", status.ToString()));
        }
        tokens.insert(tokens.end(), ids.begin(), ids.end());
    }
    if (add_bos && impl_->vocab.add_eos && impl_->vocab.eos >= 0) tokens.push_back(impl_->vocab.eos);
    return tokens;
}

std::string Tokenizer::piece(Token token) const {
    if (token < 0 || token >= n_vocab()) return "";
    return impl_->pieces[static_cast<size_t>(token)];
}

std::string Tokenizer::decode(std::span<const Token> tokens) const {
    std::string out;
    bool first = true;
    for (Token token : tokens) {
        std::string text = piece(token);
        if (text.empty()) continue;
        if (first && impl_->vocab.add_space_prefix && text[0] == ' ') text.erase(0, 1);
        first = false;
        out += text;
    }
    return out;
}

std::string_view Tokenizer::token_text(Token token) const {
    if (token < 0 || token >= n_vocab()) return {};
    return impl_->vocab.text[static_cast<size_t>(token)];
}

Token Tokenizer::bos() const { return impl_->vocab.bos; }
Token Tokenizer::eos() const { return impl_->vocab.eos; }
bool Tokenizer::add_bos_by_default() const { return impl_->vocab.add_bos; }

bool Tokenizer::is_end_of_generation(Token token) const {
    return token >= 0 && (token == impl_->vocab.eos || token == impl_->vocab.eot);
}

bool Tokenizer::is_control(Token token) const {
    return token >= 0 && token < n_vocab() &&
           impl_->vocab.types[static_cast<size_t>(token)] == TokenType::control;
}

}  // namespace tern
