// A conversation that re-renders itself each turn and evaluates only what the cache lacks.
#include <tern/chat.h>
#include <tern/error.h>

#include "tokenizer/utf8.h"
#include "util/strings.h"

#include <algorithm>

namespace tern {

Conversation::Conversation(Session& session, ChatTemplate chat_template, std::string system_prompt)
    : session_(session), template_(chat_template) {
    set_system_prompt(std::move(system_prompt));
    session_.reset();
}

void Conversation::set_system_prompt(std::string text) {
    if (!text.empty()) {
        check_utf8("the system prompt", text);
        // A system prompt that leaves no room would make every message fail: refuse it now.
        const ChatMessage opening[] = {{"system", text}, {"user", ""}};
        const auto n = static_cast<int64_t>(
            render_chat(template_, session_.model().tokenizer(), opening, true).size());
        if (n >= session_.context_size()) {
            throw Error(ErrorCode::context_full,
                        cat("the system prompt takes ", n,
                            " tokens with the chat markup, but the context holds ",
                            session_.context_size(), " (raise it with -c or shorten the prompt)"));
        }
    }
    if (!messages_.empty() && messages_.front().role == "system")
        messages_.erase(messages_.begin());
    if (!text.empty()) messages_.insert(messages_.begin(), {"system", std::move(text)});
}

void Conversation::reset() {
    std::vector<ChatMessage> kept;
    if (!messages_.empty() && messages_.front().role == "system") kept.push_back(messages_.front());
    messages_ = std::move(kept);
    cached_.clear();
    session_.reset();
}

GenerationStats Conversation::reply(std::string_view user_message, Sampler& sampler,
                                    const GenerationParams& params, const TokenCallback& on_token) {
    // Invalid UTF-8 named by its place in what the user typed (the tokenizer would count in the
    // rendered conversation).
    check_utf8("the message", user_message);
    const Tokenizer& tokenizer = session_.model().tokenizer();
    std::vector<ChatMessage> next = messages_;
    next.push_back({"user", std::string(user_message)});
    const std::vector<Token> rendered = render_chat(template_, tokenizer, next, true);

    // Keep the cached prefix the new rendering shares; evaluate only the rest.
    const auto mismatch =
        std::mismatch(cached_.begin(), cached_.end(), rendered.begin(), rendered.end());
    size_t common = static_cast<size_t>(mismatch.first - cached_.begin());
    if (common == rendered.size()) --common;  // generate needs at least one new token to evaluate
    session_.truncate(static_cast<int64_t>(common));
    cached_.resize(common);
    const std::span<const Token> fresh(rendered.data() + common, rendered.size() - common);
    sampler.reset();
    for (size_t i = 0; i < common; ++i) sampler.accept(rendered[i]);

    std::string answer;
    GenerationStats stats =
        generate(session_, sampler, fresh, params, [&](Token token, std::string_view text) {
            answer += text;
            return !on_token || on_token(token, text);
        });
    cached_.insert(cached_.end(), fresh.begin(), fresh.end());
    // generate() evaluated every generated token except the last one sampled.
    const int64_t evaluated = session_.position() - static_cast<int64_t>(cached_.size());
    cached_.insert(cached_.end(), stats.tokens.begin(), stats.tokens.begin() + evaluated);
    messages_ = std::move(next);
    messages_.push_back({"assistant", answer});
    return stats;
}

}  // namespace tern
