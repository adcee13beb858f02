// The generate loop: prompt in, tokens streamed out through a callback, with timings.
#pragma once

#include <tern/sampler.h>
#include <tern/session.h>
#include <tern/tokenizer.h>

#include <functional>
#include <span>
#include <string_view>

namespace tern {

enum class StopReason { length, end_of_generation, callback, context_full };

struct GenerationParams {
    int64_t max_tokens = 128;  // tokens to generate at most; < 0 = until the context is full
};

struct GenerationStats {
    int64_t n_prompt = 0;
    double prompt_seconds = 0;
    int64_t n_generated = 0;
    double generate_seconds = 0;
    StopReason stop = StopReason::length;
};

// Receives each generated token and its text (complete UTF-8 only); returns false to stop.
using TokenCallback = std::function<bool(Token token, std::string_view text)>;

// Evaluates `prompt` in the session, then samples up to max_tokens tokens, stopping early at an
// end-of-generation token. Throws Error(context_full) if the prompt itself does not fit.
GenerationStats generate(Session& session, Sampler& sampler, std::span<const Token> prompt,
                         const GenerationParams& params, const TokenCallback& on_token);

}  // namespace tern
