// Reading tokenizer.ggml.* from GGUF metadata, with llama.cpp's defaults for absent keys.
#include "tokenizer/vocab.h"

#include "util/strings.h"

#include <tern/error.h>

#include <cmath>

namespace tern {

namespace {

[[noreturn]] void bad(const GgufFile& file, const std::string& what) {
    throw Error(ErrorCode::tokenizer, cat(file.name(), ": ", what));
}

}  // namespace

Vocab read_vocab(const GgufFile& file) {
    Vocab v;
    const auto model = file.get_string("tokenizer.ggml.model");
    if (!model) bad(file, "the file has no tokenizer (tokenizer.ggml.model is missing)");
    v.model = std::string(*model);

    const GgufArray* tokens = file.get_array("tokenizer.ggml.tokens");
    if (tokens == nullptr) bad(file, "tokenizer.ggml.tokens is missing");
    if (tokens->element_type() != GgufValueType::string) bad(file, "tokenizer.ggml.tokens is not an array of strings");
    if (tokens->size() == 0) bad(file, "tokenizer.ggml.tokens is empty");
    if (tokens->size() > (1u << 30)) bad(file, "tokenizer.ggml.tokens is implausibly large");
    const auto n = static_cast<size_t>(tokens->size());
    v.text.reserve(n);
    for (size_t i = 0; i < n; ++i) v.text.push_back(tokens->string_at(i));

    v.scores.assign(n, 0.0f);
    if (const GgufArray* scores = file.get_array("tokenizer.ggml.scores")) {
        if (scores->size() != n) {
            bad(file, cat("tokenizer.ggml.scores has ", scores->size(), " entries for ", n, " tokens"));
        }
        for (size_t i = 0; i < n; ++i) {
            v.scores[i] = static_cast<float>(scores->float_at(i));
            if (!std::isfinite(v.scores[i]) && !std::isinf(v.scores[i])) {
                bad(file, cat("tokenizer.ggml.scores[", i, "] is NaN"));
            }
        }
    }
    v.types.assign(n, TokenType::normal);
    if (const GgufArray* types = file.get_array("tokenizer.ggml.token_type")) {
        if (types->size() != n) {
            bad(file, cat("tokenizer.ggml.token_type has ", types->size(), " entries for ", n, " tokens"));
        }
        for (size_t i = 0; i < n; ++i) {
            const int64_t t = types->int_at(i);
            if (t < 0 || t > 6) bad(file, cat("tokenizer.ggml.token_type[", i, "] is ", t, " (0 to 6 allowed)"));
            v.types[i] = t == 0 ? TokenType::normal : static_cast<TokenType>(t);
        }
    }

    const bool spm = v.model == "llama";
    auto special = [&](const char* key, Token fallback) -> Token {
        const auto id = file.get_int(key);
        if (!id) return fallback < static_cast<Token>(n) ? fallback : -1;
        if (*id < 0 || *id >= static_cast<int64_t>(n)) {
            // llama.cpp writes -1 (as u32 0xffffffff) for "none" in some files.
            if (*id == 0xffffffffLL || *id == -1) return -1;
            bad(file, cat(key, " is ", *id, ", outside the vocabulary of ", n, " tokens"));
        }
        return static_cast<Token>(*id);
    };
    v.bos = special("tokenizer.ggml.bos_token_id", spm ? 1 : -1);
    v.eos = special("tokenizer.ggml.eos_token_id", spm ? 2 : -1);
    v.unk = special("tokenizer.ggml.unknown_token_id", spm ? 0 : -1);
    v.eot = special("tokenizer.ggml.eot_token_id", -1);
    v.pad = special("tokenizer.ggml.padding_token_id", -1);
    v.add_bos = file.get_bool("tokenizer.ggml.add_bos_token").value_or(spm);
    v.add_eos = file.get_bool("tokenizer.ggml.add_eos_token").value_or(false);
    v.add_space_prefix = file.get_bool("tokenizer.ggml.add_space_prefix").value_or(spm);
    v.pre = std::string(file.get_string("tokenizer.ggml.pre").value_or(""));
    if (v.eot < 0) {
        // Detect an end-of-turn token by its text, as llama.cpp does.
        for (size_t i = 0; i < n; ++i) {
            const std::string_view t = v.text[i];
            if (t == "<|eot_id|>" || t == "<|im_end|>" || t == "<|end|>" || t == "<end_of_turn>") {
                v.eot = static_cast<Token>(i);
                break;
            }
        }
    }
    return v;
}

}  // namespace tern
