// Chat templates: detection from the model, and rendering a conversation to tokens.
#include "util/strings.h"

#include <tern/chat.h>
#include <tern/error.h>

#include <algorithm>
#include <cctype>

namespace tern {

std::string_view chat_template_name(ChatTemplate t) {
    switch (t) {
        case ChatTemplate::bitnet:
            return "bitnet";
        case ChatTemplate::llama3:
            return "llama3";
        case ChatTemplate::llama2:
            return "llama2";
        case ChatTemplate::falcon3:
            return "falcon3";
        case ChatTemplate::plain:
            return "plain";
    }
    return "?";
}

std::optional<ChatTemplate> parse_chat_template(std::string_view name) {
    for (ChatTemplate t : {ChatTemplate::bitnet, ChatTemplate::llama3, ChatTemplate::llama2,
                           ChatTemplate::falcon3, ChatTemplate::plain}) {
        if (chat_template_name(t) == name) return t;
    }
    return std::nullopt;
}

ChatTemplate detect_chat_template(const Model& model) {
    const Tokenizer& tokenizer = model.tokenizer();
    const std::string& jinja = tokenizer.chat_template();
    auto has = [&](std::string_view needle) { return jinja.find(needle) != std::string::npos; };
    // The official 2B-4T file carries a placeholder containing "BITNET" for llama.cpp's detection.
    if (has("BITNET")) return ChatTemplate::bitnet;
    if (has("<|start_header_id|>")) return ChatTemplate::llama3;
    if (has("[INST]")) return ChatTemplate::llama2;
    if (has("<|assistant|>")) return ChatTemplate::falcon3;
    if (model.config().arch == Architecture::bitnet_b158 &&
        tokenizer.special_token("<|eot_id|>") >= 0) {
        return ChatTemplate::bitnet;
    }
    if (tokenizer.special_token("<|start_header_id|>") >= 0) return ChatTemplate::llama3;
    return ChatTemplate::plain;
}

namespace {

std::string trim(std::string_view text) {
    size_t begin = 0, end = text.size();
    while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
    while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
    return std::string(text.substr(begin, end - begin));
}

std::string capitalised(std::string_view role) {
    std::string out(role);
    if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
    return out;
}

// Collects markup and text, merging adjacent text so it is tokenized as one piece.
class Renderer {
public:
    // `missing`, when given, collects the markup the vocabulary has no token for.
    explicit Renderer(const Tokenizer& tokenizer, std::vector<std::string>* missing = nullptr)
        : tokenizer_(tokenizer), missing_(missing) {}

    void special(std::string_view text) {
        const Token id = tokenizer_.special_token(text);
        if (id < 0) {
            text_ += text;  // the vocabulary has no such token: render it as text
            if (missing_ && std::find(missing_->begin(), missing_->end(), text) == missing_->end())
                missing_->emplace_back(text);
            return;
        }
        flush();
        tokens_.push_back(id);
    }
    void token(Token id) {
        if (id < 0) return;
        flush();
        tokens_.push_back(id);
    }
    void text(std::string_view text) { text_ += text; }
    std::vector<Token> finish() {
        flush();
        return std::move(tokens_);
    }

private:
    void flush() {
        if (text_.empty()) return;
        const auto ids = tokenizer_.encode(text_, false, false);
        tokens_.insert(tokens_.end(), ids.begin(), ids.end());
        text_.clear();
    }
    const Tokenizer& tokenizer_;
    std::vector<std::string>* missing_;
    std::vector<Token> tokens_;
    std::string text_;
};

std::vector<Token> render(ChatTemplate t, const Tokenizer& tokenizer,
                          std::span<const ChatMessage> messages, bool add_generation_prompt,
                          std::vector<std::string>* missing) {
    Renderer r(tokenizer, missing);
    switch (t) {
        case ChatTemplate::bitnet:
            r.special("<|begin_of_text|>");
            for (const ChatMessage& m : messages) {
                r.text(capitalised(m.role) + ": " + trim(m.content));
                r.special("<|eot_id|>");
            }
            if (add_generation_prompt) r.text("Assistant: ");
            break;
        case ChatTemplate::llama3:
            r.special("<|begin_of_text|>");
            for (const ChatMessage& m : messages) {
                r.special("<|start_header_id|>");
                r.text(m.role);
                r.special("<|end_header_id|>");
                r.text("\n\n" + trim(m.content));
                r.special("<|eot_id|>");
            }
            if (add_generation_prompt) {
                r.special("<|start_header_id|>");
                r.text("assistant");
                r.special("<|end_header_id|>");
                r.text("\n\n");
            }
            break;
        case ChatTemplate::llama2: {
            std::string system;
            bool first_user = true;
            for (const ChatMessage& m : messages) {
                if (m.role == "system") {
                    system = trim(m.content);
                } else if (m.role == "user") {
                    r.token(tokenizer.bos());
                    std::string inst = "[INST] ";
                    if (first_user && !system.empty())
                        inst += "<<SYS>>\n" + system + "\n<</SYS>>\n\n";
                    r.text(inst + trim(m.content) + " [/INST]");
                    first_user = false;
                } else {
                    r.text(" " + trim(m.content) + " ");
                    r.token(tokenizer.eos());
                }
            }
            break;
        }
        case ChatTemplate::falcon3:
            for (const ChatMessage& m : messages) {
                r.special("<|" + m.role + "|>");
                r.text("\n" + trim(m.content) + "\n");
            }
            if (add_generation_prompt) {
                r.special("<|assistant|>");
                r.text("\n");
            }
            break;
        case ChatTemplate::plain:
            r.token(tokenizer.add_bos_by_default() ? tokenizer.bos() : -1);
            for (const ChatMessage& m : messages)
                r.text(capitalised(m.role) + ": " + trim(m.content) + "\n");
            if (add_generation_prompt) r.text("Assistant:");
            break;
    }
    return r.finish();
}

}  // namespace

std::vector<Token> render_chat(ChatTemplate t, const Tokenizer& tokenizer,
                               std::span<const ChatMessage> messages, bool add_generation_prompt) {
    return render(t, tokenizer, messages, add_generation_prompt, nullptr);
}

std::vector<std::string> chat_markup_missing(ChatTemplate t, const Tokenizer& tokenizer) {
    const ChatMessage every_role[] = {{"system", "s"}, {"user", "u"}, {"assistant", "a"}};
    std::vector<std::string> missing;
    render(t, tokenizer, every_role, true, &missing);
    return missing;
}

}  // namespace tern
