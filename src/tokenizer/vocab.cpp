// Reading tokenizer.ggml.* from GGUF metadata, with llama.cpp's defaults for absent keys.
#include "tokenizer/vocab.h"

#include "util/strings.h"

#include <tern/error.h>

#include <algorithm>
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
    if (tokens->element_type() != GgufValueType::string)
        bad(file, "tokenizer.ggml.tokens is not an array of strings");
    if (tokens->size() == 0) bad(file, "tokenizer.ggml.tokens is empty");
    if (tokens->size() > (1u << 30)) bad(file, "tokenizer.ggml.tokens is implausibly large");
    const auto n = static_cast<size_t>(tokens->size());
    const GgufArray* merges = file.get_array("tokenizer.ggml.merges");
    if (merges != nullptr && merges->element_type() != GgufValueType::string) {
        bad(file, "tokenizer.ggml.merges is not an array of strings");
    }
    // Copy every token and merge string into one buffer (the views stay valid when v moves).
    size_t bytes = 0;
    for (size_t i = 0; i < n; ++i) bytes += tokens->string_at(i).size();
    const size_t n_merges = merges == nullptr ? 0 : static_cast<size_t>(merges->size());
    for (size_t i = 0; i < n_merges; ++i) bytes += merges->string_at(i).size();
    v.storage.resize(bytes);
    size_t used = 0;
    auto keep = [&](std::string_view s) {
        std::copy(s.begin(), s.end(), v.storage.begin() + static_cast<std::ptrdiff_t>(used));
        const std::string_view view(v.storage.data() + used, s.size());
        used += s.size();
        return view;
    };
    v.text.reserve(n);
    for (size_t i = 0; i < n; ++i) v.text.push_back(keep(tokens->string_at(i)));
    v.merges.reserve(n_merges);
    for (size_t i = 0; i < n_merges; ++i) v.merges.push_back(keep(merges->string_at(i)));

    v.scores.assign(n, 0.0f);
    if (const GgufArray* scores = file.get_array("tokenizer.ggml.scores")) {
        if (scores->size() != n) {
            bad(file,
                cat("tokenizer.ggml.scores has ", scores->size(), " entries for ", n, " tokens"));
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
            bad(file, cat("tokenizer.ggml.token_type has ", types->size(), " entries for ", n,
                          " tokens"));
        }
        for (size_t i = 0; i < n; ++i) {
            const int64_t t = types->int_at(i);
            if (t < 0 || t > 6)
                bad(file, cat("tokenizer.ggml.token_type[", i, "] is ", t, " (0 to 6 allowed)"));
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
    v.chat_template = std::string(file.get_string("tokenizer.chat_template").value_or(""));

    // End-of-generation tokens: EOS, EOT, and control tokens with the texts chat models use to
    // end a turn (as llama.cpp detects them); the EOT id is taken from them when not given.
    for (size_t i = 0; i < n; ++i) {
        const std::string_view t = v.text[i];
        const bool end_text = t == "<|eot_id|>" || t == "<|end_of_text|>" || t == "<|eom_id|>" ||
                              t == "<|im_end|>" || t == "<|end|>" || t == "<end_of_turn>" ||
                              t == "<|endoftext|>";
        if (end_text &&
            (v.types[i] == TokenType::control || v.types[i] == TokenType::user_defined)) {
            v.end_of_generation.push_back(static_cast<Token>(i));
            if (v.eot < 0 && (t == "<|eot_id|>" || t == "<|im_end|>" || t == "<|end|>" ||
                              t == "<end_of_turn>")) {
                v.eot = static_cast<Token>(i);
            }
        }
    }
    for (Token id : {v.eos, v.eot}) {
        if (id >= 0) v.end_of_generation.push_back(id);
    }
    return v;
}

}  // namespace tern
