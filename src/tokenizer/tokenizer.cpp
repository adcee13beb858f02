// Tokenizer: sentencepiece vocabularies through libsentencepiece (built from the GGUF vocabulary),
// byte-level BPE vocabularies through tern's own encoder; special tokens; decoding to pieces.
#include "tokenizer/bpe.h"
#include "tokenizer/byte_unicode.h"
#include "tokenizer/spm_proto.h"
#include "tokenizer/utf8.h"
#include "tokenizer/vocab.h"
#include "util/strings.h"

#include <tern/error.h>
#include <tern/gguf.h>
#include <tern/tokenizer.h>

#include <sentencepiece_processor.h>

#include <algorithm>
#include <memory>
#include <optional>

namespace tern {

struct Tokenizer::Impl {
    Vocab vocab;
    TokenizerKind kind = TokenizerKind::sentencepiece;
    std::unique_ptr<sentencepiece::SentencePieceProcessor> spm;
    std::optional<BpeEncoder> bpe;
    std::vector<std::string> pieces;  // bytes each token contributes to running text
    std::vector<std::pair<std::string_view, Token>>
        specials;  // control / user-defined, longest first
    std::string description;

    void encode_ordinary(std::string_view text, std::vector<Token>& out) const;
};

namespace {

constexpr std::string_view kSpmSpace = "\xe2\x96\x81";  // U+2581, sentencepiece's space

// "<0xAB>" -> 0xAB; -1 if the text is not a byte token.
int parse_byte_token(std::string_view text) {
    if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
    int value = 0;
    for (char c : text.substr(3, 2)) {
        value <<= 4;
        if (c >= '0' && c <= '9')
            value |= c - '0';
        else if (c >= 'A' && c <= 'F')
            value |= c - 'A' + 10;
        else if (c >= 'a' && c <= 'f')
            value |= c - 'a' + 10;
        else
            return -1;
    }
    return value;
}

std::string spm_piece(std::string_view text, TokenType type) {
    switch (type) {
        case TokenType::control:
            return "";
        case TokenType::unknown:
            return " \xe2\x81\x87 ";  // " ⁇ ", as sentencepiece decodes it
        case TokenType::byte: {
            const int value = parse_byte_token(text);
            return value < 0 ? std::string(text) : std::string(1, static_cast<char>(value));
        }
        default:
            break;
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

std::string bpe_piece(std::string_view text, TokenType type) {
    if (type == TokenType::control) return "";
    std::string bytes;
    // User-defined tokens hold literal text; normal tokens are byte-mapped.
    if (type != TokenType::user_defined && byte_unicode_map().decode(text, bytes)) return bytes;
    return std::string(text);
}

void build_spm(Tokenizer::Impl& impl, const GgufFile& file) {
    const Vocab& v = impl.vocab;
    if (v.unk < 0) {
        throw Error(ErrorCode::tokenizer,
                    cat(file.name(), ": the sentencepiece vocabulary has no unknown token"));
    }
    impl.kind = TokenizerKind::sentencepiece;
    impl.spm = std::make_unique<sentencepiece::SentencePieceProcessor>();
    const auto status = impl.spm->LoadFromSerializedProto(serialize_spm_model(v));
    if (!status.ok()) {
        throw Error(ErrorCode::tokenizer,
                    cat(file.name(), ": the vocabulary is not a valid sentencepiece model: ",
                        status.ToString()));
    }
    impl.description = cat("sentencepiece, ", v.size(), " tokens");
    for (size_t i = 0; i < v.text.size(); ++i)
        impl.pieces.push_back(spm_piece(v.text[i], v.types[i]));
}

void build_bpe(Tokenizer::Impl& impl, const GgufFile& file) {
    Vocab& v = impl.vocab;
    impl.kind = TokenizerKind::bpe;
    std::string pre = v.pre;
    std::string note;
    if (pre.empty()) {
        // The official BitNet-b1.58-2B-4T file has no pre key; its vocabulary is LLaMA-3's.
        pre = v.size() == 128256 ? "llama3" : "default";
        note = v.size() == 128256
                   ? " (tokenizer.ggml.pre is missing; a 128256-token vocabulary is LLaMA-3's)"
                   : " (tokenizer.ggml.pre is missing; generation quality may suffer)";
    }
    std::vector<std::string> patterns;
    bool ignore_merges = false;
    if (!pretokenizer_patterns(pre, patterns, ignore_merges)) {
        throw Error(ErrorCode::unsupported,
                    cat(file.name(), ": tokenizer.ggml.pre ", single_quoted(pre),
                        " is not supported (tern knows llama3, llama-bpe, falcon3, gpt-2, falcon, "
                        "default)"));
    }
    if (v.merges.empty())
        throw Error(ErrorCode::tokenizer, cat(file.name(), ": tokenizer.ggml.merges is missing"));
    if (!file.get_bool("tokenizer.ggml.add_bos_token"))
        v.add_bos = ignore_merges;  // llama3 presets add BOS
    try {
        impl.bpe.emplace(v, v.merges, PreTokenizer(patterns), ignore_merges);
    } catch (const Error& e) {
        throw Error(e.code(), cat(file.name(), ": ", e.what()));
    }
    impl.description = cat("byte-level BPE, ", v.size(), " tokens, ", v.merges.size(),
                           " merges, pre-tokenizer ", pre, note);
    for (size_t i = 0; i < v.text.size(); ++i)
        impl.pieces.push_back(bpe_piece(v.text[i], v.types[i]));
}

}  // namespace

void Tokenizer::Impl::encode_ordinary(std::string_view text, std::vector<Token>& out) const {
    if (text.empty()) return;
    if (bpe) {
        bpe->encode(text, out);
        return;
    }
    std::vector<int> ids;
    const auto status = spm->Encode(text, &ids);
    if (!status.ok())
        throw Error(ErrorCode::tokenizer, cat("cannot tokenize text: ", status.ToString()));
    out.insert(out.end(), ids.begin(), ids.end());
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_gguf(const GgufFile& file) {
    auto impl = std::make_unique<Impl>();
    impl->vocab = read_vocab(file);
    const Vocab& v = impl->vocab;
    impl->pieces.reserve(v.text.size());
    if (v.model == "llama") {
        build_spm(*impl, file);
    } else if (v.model == "gpt2") {
        build_bpe(*impl, file);
    } else {
        throw Error(ErrorCode::unsupported,
                    cat(file.name(), ": tokenizer.ggml.model ", single_quoted(v.model),
                        " is not supported (tern reads 'llama' and 'gpt2' vocabularies)"));
    }
    for (size_t i = 0; i < v.text.size(); ++i) {
        if ((v.types[i] == TokenType::control || v.types[i] == TokenType::user_defined) &&
            !v.text[i].empty()) {
            impl->specials.emplace_back(v.text[i], static_cast<Token>(i));
        }
    }
    std::stable_sort(impl->specials.begin(), impl->specials.end(),
                     [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    return Tokenizer(std::move(impl));
}

TokenizerKind Tokenizer::kind() const {
    return impl_->kind;
}
int64_t Tokenizer::n_vocab() const {
    return impl_->vocab.size();
}
const std::string& Tokenizer::description() const {
    return impl_->description;
}

std::vector<Token> Tokenizer::encode(std::string_view text, bool add_bos,
                                     bool parse_special) const {
    check_utf8("text", text);
    std::vector<Token> tokens;
    if (add_bos && impl_->vocab.bos >= 0) tokens.push_back(impl_->vocab.bos);
    if (!parse_special) {
        impl_->encode_ordinary(text, tokens);
    } else {
        // Split out special-token texts (longest match first at each position), encode the rest.
        size_t start = 0, at = 0;
        while (at < text.size()) {
            Token found = -1;
            size_t length = 0;
            for (const auto& [special, id] : impl_->specials) {
                if (text.compare(at, special.size(), special) == 0) {
                    found = id;
                    length = special.size();
                    break;
                }
            }
            if (found < 0) {
                ++at;
                continue;
            }
            impl_->encode_ordinary(text.substr(start, at - start), tokens);
            tokens.push_back(found);
            at += length;
            start = at;
        }
        impl_->encode_ordinary(text.substr(start), tokens);
    }
    if (add_bos && impl_->vocab.add_eos && impl_->vocab.eos >= 0)
        tokens.push_back(impl_->vocab.eos);
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
        if (first && impl_->kind == TokenizerKind::sentencepiece && impl_->vocab.add_space_prefix &&
            text[0] == ' ') {
            text.erase(0, 1);
        }
        first = false;
        out += text;
    }
    return out;
}

std::string_view Tokenizer::token_text(Token token) const {
    if (token < 0 || token >= n_vocab()) return {};
    return impl_->vocab.text[static_cast<size_t>(token)];
}

Token Tokenizer::special_token(std::string_view text) const {
    for (const auto& [special, id] : impl_->specials) {
        if (special == text) return id;
    }
    return -1;
}

Token Tokenizer::bos() const {
    return impl_->vocab.bos;
}
Token Tokenizer::eos() const {
    return impl_->vocab.eos;
}
bool Tokenizer::add_bos_by_default() const {
    return impl_->vocab.add_bos;
}
const std::string& Tokenizer::chat_template() const {
    return impl_->vocab.chat_template;
}

bool Tokenizer::is_end_of_generation(Token token) const {
    const auto& eog = impl_->vocab.end_of_generation;
    return token >= 0 && std::find(eog.begin(), eog.end(), token) != eog.end();
}

bool Tokenizer::is_control(Token token) const {
    return token >= 0 && token < n_vocab() &&
           impl_->vocab.types[static_cast<size_t>(token)] == TokenType::control;
}

}  // namespace tern
