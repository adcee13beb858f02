// Chat: prompt templates rendered to tokens, and a conversation that keeps its KV cache.
#pragma once

#include <tern/generate.h>
#include <tern/model.h>
#include <tern/sampler.h>
#include <tern/session.h>
#include <tern/tokenizer.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tern {

struct ChatMessage {
    std::string role;  // "system", "user" or "assistant"
    std::string content;
};

// Chat formats tern renders natively (no Jinja):
//   bitnet  - BitNet-b1.58-2B-4T: <|begin_of_text|>, then "Role: content<|eot_id|>" per message
//             (Role capitalised), generation prompt "Assistant: ".
//   llama3  - <|begin_of_text|><|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>...
//   llama2  - <s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {assistant} </s><s>[INST] ...
//   falcon3 - <|system|>\n{system}\n<|user|>\n{user}\n<|assistant|>\n
//   plain   - "Role: content\n" per message, generation prompt "Assistant:" (base models)
enum class ChatTemplate { bitnet, llama3, llama2, falcon3, plain };

std::string_view chat_template_name(ChatTemplate t);
// nullopt for an unknown name.
std::optional<ChatTemplate> parse_chat_template(std::string_view name);
// The template a model implies: its tokenizer.chat_template text, then its architecture and
// vocabulary; plain when nothing matches.
ChatTemplate detect_chat_template(const Model& model);

// Renders the conversation to tokens: markup as special tokens (looked up by their text), content
// as ordinary text (special-token texts a user typed stay text). Message contents are trimmed.
std::vector<Token> render_chat(ChatTemplate t, const Tokenizer& tokenizer,
                               std::span<const ChatMessage> messages, bool add_generation_prompt);

// The template's markup tokens (such as "<|start_header_id|>") that the vocabulary lacks, in
// the order first used: render_chat sends them as plain text.
std::vector<std::string> chat_markup_missing(ChatTemplate t, const Tokenizer& tokenizer);

// A conversation over a session. Each turn renders the whole conversation, keeps the KV cache
// for the tokens it already holds, and evaluates only the new ones.
class Conversation {
public:
    Conversation(Session& session, ChatTemplate chat_template, std::string system_prompt = {});

    // Adds the user message, generates the answer (streamed through on_token) and records it.
    GenerationStats reply(std::string_view user_message, Sampler& sampler,
                          const GenerationParams& params, const TokenCallback& on_token);

    // Takes effect from the next turn. Throws (and changes nothing) on invalid UTF-8 or a prompt
    // that leaves no room in the session's context.
    void set_system_prompt(std::string text);
    void reset();  // forgets the conversation and the cache
    const std::vector<ChatMessage>& messages() const { return messages_; }
    int64_t cached_tokens() const { return static_cast<int64_t>(cached_.size()); }

private:
    Session& session_;
    ChatTemplate template_;
    std::vector<ChatMessage> messages_;
    std::vector<Token> cached_;  // exactly the tokens the session's KV cache holds
};

}  // namespace tern
