// PCRE2-backed pre-tokenizer: UTF + UCP mode, JIT-compiled where available.
#include "tokenizer/pretokenizer.h"

#include "util/strings.h"

#include <tern/error.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace tern {

namespace {

// LLaMA-3's pattern as published with its tokenizer (case-insensitive contractions).
constexpr const char* kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";

struct Compiled {
    pcre2_code* code = nullptr;
};

}  // namespace

struct PreTokenizer::Impl {
    std::vector<Compiled> patterns;
    ~Impl() {
        for (Compiled& c : patterns) pcre2_code_free(c.code);
    }
};

PreTokenizer::PreTokenizer(const std::vector<std::string>& patterns)
    : impl_(std::make_unique<Impl>()) {
    for (const std::string& pattern : patterns) {
        int error = 0;
        PCRE2_SIZE offset = 0;
        pcre2_code* code =
            pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.c_str()), pattern.size(),
                          PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
        if (code == nullptr) {
            PCRE2_UCHAR message[256];
            pcre2_get_error_message(error, message, sizeof message);
            throw Error(ErrorCode::tokenizer,
                        cat("pre-tokenizer pattern does not compile at ", offset, ": ",
                            reinterpret_cast<const char*>(message)));
        }
        pcre2_jit_compile(
            code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is unavailable
        impl_->patterns.push_back({code});
    }
}

PreTokenizer::~PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;

std::vector<std::string_view> PreTokenizer::split(std::string_view text) const {
    std::vector<std::string_view> pieces;
    if (!text.empty()) pieces.push_back(text);
    for (const Compiled& pattern : impl_->patterns) {
        pcre2_match_data* match = pcre2_match_data_create_from_pattern(pattern.code, nullptr);
        std::vector<std::string_view> next;
        for (std::string_view piece : pieces) {
            const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
            size_t position = 0;
            while (position < piece.size()) {
                const int rc = pcre2_match(pattern.code, subject, piece.size(), position,
                                           PCRE2_NO_UTF_CHECK, match, nullptr);
                if (rc < 0) break;  // no further match (or a matching error: keep the rest whole)
                const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match);
                size_t start = ovector[0], end = ovector[1];
                if (end == start) {  // an empty match: step over one character
                    size_t step = 1;
                    while (start + step < piece.size() &&
                           (static_cast<uint8_t>(piece[start + step]) & 0xC0) == 0x80)
                        ++step;
                    end = start + step;
                    if (start > position) next.push_back(piece.substr(position, start - position));
                    next.push_back(piece.substr(start, end - start));
                    position = end;
                    continue;
                }
                if (start > position) next.push_back(piece.substr(position, start - position));
                next.push_back(piece.substr(start, end - start));
                position = end;
            }
            if (position < piece.size()) next.push_back(piece.substr(position));
        }
        pcre2_match_data_free(match);
        pieces = std::move(next);
    }
    return pieces;
}

bool pretokenizer_patterns(std::string_view name, std::vector<std::string>& patterns,
                           bool& ignore_merges) {
    ignore_merges = false;
    if (name == "llama3" || name == "llama-bpe" || name == "llama-v3" || name == "falcon3" ||
        name == "falcon_e" || name == "falcon-h1") {
        patterns = {kLlama3};
        ignore_merges = true;
        return true;
    }
    if (name == "gpt-2" || name == "gpt2" || name == "mpt" || name == "olmo" || name == "jais") {
        patterns = {kGpt2};
        return true;
    }
    if (name == "falcon") {
        patterns = {R"([\p{P}\$\+<=>\^~\|`]+)", kGpt2, "[0-9][0-9][0-9]"};
        return true;
    }
    if (name == "default") {
        patterns = {R"([\p{P}\$\+<=>\^~\|]+)", kGpt2, R"(\p{N}+)", "[0-9][0-9][0-9]"};
        return true;
    }
    return false;
}

}  // namespace tern
