// The generate loop: evaluate the prompt, then sample, stream and feed back one token at a time.
#include "generate/stop_strings.h"
#include "util/strings.h"

#include <tern/error.h>
#include <tern/generate.h>

#include <chrono>

namespace tern {

void check_prompt_fits(const Session& session, std::span<const Token> prompt) {
    if (prompt.empty()) throw Error(ErrorCode::invalid_argument, "the prompt has no tokens");
    const int64_t context = session.context_size(), room = context - session.position();
    if (static_cast<int64_t>(prompt.size()) > room) {
        // Raising -c helps only below the model's trained length.
        const int64_t trained = session.model().config().n_ctx_train;
        throw Error(ErrorCode::context_full,
                    cat("the prompt has ", prompt.size(), " tokens but the context has room for ",
                        room, room < context ? cat(" more of its ", context) : std::string(),
                        context < trained
                            ? cat(" (raise it with -c, up to the model's trained ", trained, ")")
                            : std::string(" (shorten the prompt)")));
    }
    session.check(prompt);  // the token ids
}

GenerationStats generate(Session& session, Sampler& sampler, std::span<const Token> prompt,
                         const GenerationParams& params, const TokenCallback& on_token) {
    using Clock = std::chrono::steady_clock;
    const Model& model = session.model();
    const Tokenizer& tokenizer = model.tokenizer();
    GenerationStats stats;
    check_prompt_fits(session, prompt);

    auto start = Clock::now();
    // Counts the rows a screened eval computed exactly.
    const auto eval = [&](std::span<const Token> tokens) {
        std::span<const float> out = session.eval(tokens, sampler.logits_needed());
        if (session.screened_rows() > 0) {
            ++stats.screened_evals;
            stats.screened_rows += session.screened_rows();
        }
        return out;
    };
    // The prompt joins the penalty window first: the logits it needs depend on the window.
    for (Token t : prompt) sampler.accept(t);
    std::span<const float> logits = eval(prompt);
    stats.n_prompt = static_cast<int64_t>(prompt.size());
    stats.prompt_seconds = std::chrono::duration<double>(Clock::now() - start).count();

    Utf8StreamDecoder decoder;
    StopStringFilter filter(params.stop);
    auto emit = [&](Token token, const std::string& text) {
        return text.empty() || !on_token || on_token(token, text);
    };
    start = Clock::now();
    for (;;) {
        if (params.max_tokens >= 0 && stats.n_generated >= params.max_tokens) {
            stats.stop = StopReason::length;
            break;
        }
        const Token token = sampler.sample(logits);
        if (tokenizer.is_end_of_generation(token)) {
            stats.stop = StopReason::end_of_generation;
            break;
        }
        ++stats.n_generated;
        stats.tokens.push_back(token);
        sampler.accept(token);
        const StopStringFilter::Result r = filter.push(decoder.push(tokenizer.piece(token)));
        if (!emit(token, r.text)) {
            stats.stop = StopReason::callback;
            break;
        }
        if (r.stopped) {
            stats.stop = StopReason::stop_string;
            break;
        }
        if (session.position() >= session.context_size()) {
            stats.stop = StopReason::context_full;
            break;
        }
        const Token next[] = {token};
        logits = eval(next);
    }
    if (stats.stop != StopReason::stop_string && stats.stop != StopReason::callback) {
        emit(-1, filter.flush(decoder.flush()));
    }
    stats.generate_seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return stats;
}

}  // namespace tern
