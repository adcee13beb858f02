// Chat templates render exact token sequences; conversations reuse their KV cache and give the
// same answers as a fresh evaluation of the whole rendered conversation.
#include "support/gguf_edit.h"
#include "tokenizer/byte_unicode.h"

#include <tern/chat.h>

#include <gtest/gtest.h>

namespace tern::test {
namespace {

// A byte-level BPE vocabulary: the 256 byte tokens (id = byte), one merge, then LLaMA-3 specials.
constexpr Token kBegin = 257, kEot = 258, kStartHeader = 259, kEndHeader = 260, kAssistantTag = 261;

void write_test_vocab(const std::filesystem::path& path, const std::string& arch = "llama") {
    std::vector<std::string> tokens;
    std::vector<int32_t> types;
    for (int b = 0; b < 256; ++b) {
        tokens.push_back(byte_unicode_map().encode(static_cast<uint8_t>(b)));
        types.push_back(1);
    }
    tokens.push_back("Us");  // 256: the merge "U s"
    types.push_back(1);
    for (const char* special : {"<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>",
                                "<|end_header_id|>", "<|assistant|>"}) {
        tokens.push_back(special);
        types.push_back(3);
    }
    GgufWriter w;
    w.set_string("general.architecture", arch);
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", "llama3");
    w.set_strings("tokenizer.ggml.tokens", tokens);
    w.set_i32s("tokenizer.ggml.token_type", types);
    const std::vector<std::string> merges = {"U s"};
    w.set_strings("tokenizer.ggml.merges", merges);
    w.set_u32("tokenizer.ggml.bos_token_id", kBegin);
    w.set_u32("tokenizer.ggml.eos_token_id", kEot);
    w.write(path);
}

// Byte tokens of a text (the test vocabulary maps each byte to its own id, "Us" to 256).
std::vector<Token> bytes(std::string_view text) {
    std::vector<Token> out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text.compare(i, 2, "Us") == 0) {
            out.push_back(256);
            ++i;
        } else {
            out.push_back(static_cast<uint8_t>(text[i]));
        }
    }
    return out;
}

std::vector<Token> join(std::initializer_list<std::vector<Token>> parts) {
    std::vector<Token> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

class ChatTemplates : public ::testing::Test {
protected:
    void SetUp() override {
        write_test_vocab(dir_ / "vocab.gguf");
        file_.emplace(GgufFile::open(dir_ / "vocab.gguf"));
        tokenizer_.emplace(Tokenizer::from_gguf(*file_));
    }
    const std::vector<ChatMessage> messages_ = {{"system", "You are helpful."},
                                                {"user", "  Hi <|eot_id|> there\n"},
                                                {"assistant", "Hello!"},
                                                {"user", "Bye"}};
    TempDir dir_;
    std::optional<GgufFile> file_;
    std::optional<Tokenizer> tokenizer_;
};

TEST_F(ChatTemplates, EndOfGenerationTokens) {
    EXPECT_TRUE(tokenizer_->is_end_of_generation(kEot));  // the EOS id and <|eot_id|>
    EXPECT_FALSE(tokenizer_->is_end_of_generation(kBegin));
    EXPECT_FALSE(tokenizer_->is_end_of_generation('a'));
}

TEST_F(ChatTemplates, BitnetPinsTheReferenceFormat) {
    const auto got = render_chat(ChatTemplate::bitnet, *tokenizer_, messages_, true);
    // <|begin_of_text|>System: ...<|eot_id|>User: ...<|eot_id|>Assistant: ...<|eot_id|>User:
    // ...<|eot_id|>Assistant: The user typed "<|eot_id|>": it stays text (bytes), never the control
    // token.
    EXPECT_EQ(got, join({{kBegin},
                         bytes("System: You are helpful."),
                         {kEot},
                         bytes("User: Hi <|eot_id|> there"),
                         {kEot},
                         bytes("Assistant: Hello!"),
                         {kEot},
                         bytes("User: Bye"),
                         {kEot},
                         bytes("Assistant: ")}));
}

TEST_F(ChatTemplates, Llama3PinsHeadersAndBlankLines) {
    const std::vector<ChatMessage> m = {{"system", "S"}, {"user", "U"}};
    EXPECT_EQ(render_chat(ChatTemplate::llama3, *tokenizer_, m, true), join({{kBegin, kStartHeader},
                                                                             bytes("system"),
                                                                             {kEndHeader},
                                                                             bytes("\n\nS"),
                                                                             {kEot, kStartHeader},
                                                                             bytes("user"),
                                                                             {kEndHeader},
                                                                             bytes("\n\nU"),
                                                                             {kEot, kStartHeader},
                                                                             bytes("assistant"),
                                                                             {kEndHeader},
                                                                             bytes("\n\n")}));
    EXPECT_EQ(render_chat(ChatTemplate::llama3, *tokenizer_, m, false).size(),
              render_chat(ChatTemplate::llama3, *tokenizer_, m, true).size() - 4 - 9);
}

TEST_F(ChatTemplates, Falcon3AndPlain) {
    const std::vector<ChatMessage> m = {{"user", "U"}};
    // The test vocabulary has <|assistant|> but no <|user|>: missing markup is rendered as text.
    EXPECT_EQ(render_chat(ChatTemplate::falcon3, *tokenizer_, m, true),
              join({bytes("<|user|>\nU\n"), {kAssistantTag}, bytes("\n")}));
    EXPECT_EQ(render_chat(ChatTemplate::plain, *tokenizer_, m, true),
              join({{kBegin}, bytes("User: U\nAssistant:")}));
}

TEST_F(ChatTemplates, MissingMarkupIsListed) {
    EXPECT_EQ(chat_markup_missing(ChatTemplate::falcon3, *tokenizer_),
              (std::vector<std::string>{"<|system|>", "<|user|>"}));
    EXPECT_TRUE(chat_markup_missing(ChatTemplate::bitnet, *tokenizer_).empty());
    EXPECT_TRUE(chat_markup_missing(ChatTemplate::plain, *tokenizer_).empty());
}

TEST(ChatTemplateLlama2, UsesBosAndEosAroundTurns) {
    TempDir dir;
    write_dummy_model(tiny_spec(), dir / "m.gguf");
    const GgufFile file = GgufFile::open(dir / "m.gguf");
    const Tokenizer tok = Tokenizer::from_gguf(file);
    const std::vector<ChatMessage> m = {
        {"system", "S"}, {"user", "hi"}, {"assistant", "yo"}, {"user", "ok"}};
    const auto got = render_chat(ChatTemplate::llama2, tok, m, true);
    auto text = [&](std::string_view t) { return tok.encode(t, false); };
    EXPECT_EQ(got, join({{tok.bos()},
                         text("[INST] <<SYS>>\nS\n<</SYS>>\n\nhi [/INST] yo "),
                         {tok.eos(), tok.bos()},
                         text("[INST] ok [/INST]")}));
}

TEST_F(ChatTemplates, DetectionFromTemplateTextArchitectureAndVocabulary) {
    TempDir dir;
    write_dummy_model(tiny_spec(), dir / "m.gguf");
    auto with_template = [&](const std::string& jinja) {
        GgufEdit edit;
        edit.extra = [&](GgufWriter& w) {
            if (!jinja.empty()) w.set_string("tokenizer.chat_template", jinja);
        };
        rewrite_gguf(dir / "m.gguf", dir / "t.gguf", edit);
        return detect_chat_template(*Model::load(dir / "t.gguf"));
    };
    EXPECT_EQ(with_template("{{ 'Human: ' }} BITNETAssistant: "), ChatTemplate::bitnet);
    EXPECT_EQ(with_template("<|start_header_id|>{{ role }}"), ChatTemplate::llama3);
    EXPECT_EQ(with_template("[INST] {{ content }} [/INST]"), ChatTemplate::llama2);
    EXPECT_EQ(with_template("<|assistant|>\n"), ChatTemplate::falcon3);
    EXPECT_EQ(with_template(""),
              ChatTemplate::plain);  // the built-in vocabulary has no chat markup
    EXPECT_EQ(parse_chat_template("llama3"), ChatTemplate::llama3);
    EXPECT_FALSE(parse_chat_template("vicuna").has_value());
}

TEST(Conversation, ReusesTheCacheAndMatchesAFreshEvaluation) {
    TempDir dir;
    write_dummy_model(tiny_spec(), dir / "m.gguf");
    auto model = Model::load(dir / "m.gguf");
    const GenerationParams params{.max_tokens = 6};
    Session session(model);
    Conversation chat(session, ChatTemplate::plain, "Be brief.");
    Sampler sampler({.temperature = 0.0f});
    const GenerationStats first = chat.reply("Hello", sampler, params, {});
    const int64_t cached_after_first = chat.cached_tokens();
    EXPECT_EQ(session.position(), cached_after_first);
    const GenerationStats second = chat.reply("How are you?", sampler, params, {});
    // The second turn evaluates only what the cache lacks, far fewer tokens than the whole prompt.
    const auto full = render_chat(
        ChatTemplate::plain, model->tokenizer(),
        std::vector<ChatMessage>(chat.messages().begin(), chat.messages().end() - 1), true);
    EXPECT_LT(second.n_prompt, static_cast<int64_t>(full.size()) - 10);
    EXPECT_GT(second.n_prompt, 0);
    // A fresh session fed the whole rendered conversation generates the same answer.
    Session fresh(model);
    Sampler greedy({.temperature = 0.0f});
    const GenerationStats expected = generate(fresh, greedy, full, params, {});
    EXPECT_EQ(second.tokens, expected.tokens);
    EXPECT_EQ(chat.messages().size(), 5u);  // system, user, assistant, user, assistant
    (void)first;
    chat.reset();
    EXPECT_EQ(chat.cached_tokens(), 0);
    EXPECT_EQ(session.position(), 0);
    EXPECT_EQ(chat.messages().size(), 1u);  // the system prompt stays
}

}  // namespace
}  // namespace tern::test
