// The generate loop: prompt in, tokens streamed out through a callback, with timings.
#pragma once

#include <tern/sampler.h>
#include <tern/session.h>
#include <tern/tokenizer.h>

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tern {

enum class StopReason { length, end_of_generation, stop_string, callback, context_full };

struct GenerationParams {
    int64_t max_tokens = 128;       // tokens to generate at most; < 0 = until the context is full
    std::vector<std::string> stop;  // stop when the text contains one of these (not printed)
};

struct GenerationStats {
    int64_t n_prompt = 0;
    double prompt_seconds = 0;
    int64_t n_generated = 0;
    double generate_seconds = 0;
    StopReason stop = StopReason::length;
    std::vector<Token> tokens;  // the generated tokens (the end-of-generation token excluded)
    // With a screened output layer: the evals that were screened and the output rows they
    // computed exactly, in all.
    int64_t screened_evals = 0;
    int64_t screened_rows = 0;
};

// Receives generated text as it becomes final: complete UTF-8 only, and never any part of a
// stop string (text that could still turn into one is held back). `token` is the token that
// completed it (-1 for the final flush). Returns false to stop.
using TokenCallback = std::function<bool(Token token, std::string_view text)>;

// Throws Error(invalid_argument) for an empty prompt or a token id outside the vocabulary, and
// Error(context_full) if `prompt` does not fit in what is left of the session's context
// (generate() checks this first, before its sampler sees the prompt; callers that echo the
// prompt check it before printing anything).
void check_prompt_fits(const Session& session, std::span<const Token> prompt);

// Evaluates `prompt` in the session (feeding it to the sampler's penalty window), then samples
// up to max_tokens tokens, stopping early at an end-of-generation token or a stop string.
// Throws Error(context_full) if the prompt itself does not fit.
GenerationStats generate(Session& session, Sampler& sampler, std::span<const Token> prompt,
                         const GenerationParams& params, const TokenCallback& on_token);

}  // namespace tern
