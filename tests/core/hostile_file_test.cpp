// Hostile model files beyond the GGUF container: vocabularies with holes or empty tokens, and a
// file that is truncated while tern has it mapped.
#include "support/gguf_edit.h"

#include <tern/tern.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

namespace tern::test {
namespace {

using ::testing::HasSubstr;

std::string tokenizer_error(const std::filesystem::path& path) {
    try {
        Tokenizer::from_gguf(GgufFile::open(path));
    } catch (const Error& e) {
        return e.what();
    }
    return "no error";
}

// Empty tokens are a defined case: kept in place (ids do not shift), never produced by encoding,
// decoded to nothing. A token list shorter than the ids the file names is an error.
TEST(HostileVocabulary, EmptyTokensAreInertAndMissingIdsAreNamed) {
    TempDir dir;
    write_dummy_model(tiny_spec(), dir / "a.gguf");
    const GgufFile original = GgufFile::open(dir / "a.gguf");
    const GgufArray& tokens = *original.get_array("tokenizer.ggml.tokens");
    std::vector<std::string> with_empty;
    for (uint64_t i = 0; i < tokens.size(); ++i) with_empty.emplace_back(tokens.string_at(i));
    const Tokenizer before = Tokenizer::from_gguf(original);
    const std::string text = "Once upon a time, the little dog";
    const std::vector<Token> ids = before.encode(text, true);
    const Token emptied = ids[3];
    with_empty[static_cast<size_t>(emptied)] = "";
    GgufEdit empty;
    empty.extra = [&](GgufWriter& w) { w.set_strings("tokenizer.ggml.tokens", with_empty); };
    rewrite_gguf(dir / "a.gguf", dir / "empty.gguf", empty);
    const Tokenizer after = Tokenizer::from_gguf(GgufFile::open(dir / "empty.gguf"));
    EXPECT_EQ(after.n_vocab(), before.n_vocab());
    const std::vector<Token> again = after.encode(text, true);
    EXPECT_EQ(std::count(again.begin(), again.end(), emptied), 0);
    EXPECT_EQ(after.decode(again), text);
    EXPECT_EQ(after.piece(emptied), "");

    std::vector<std::string> short_list(with_empty.begin(), with_empty.begin() + 2);
    GgufEdit missing;
    missing.extra = [&](GgufWriter& w) {
        w.set_strings("tokenizer.ggml.tokens", short_list);
        w.set_f32s("tokenizer.ggml.scores", std::vector<float>(2, 0.0f));
        w.set_i32s("tokenizer.ggml.token_type", std::vector<int32_t>{2, 3});
    };
    rewrite_gguf(dir / "a.gguf", dir / "missing.gguf", missing);
    EXPECT_THAT(tokenizer_error(dir / "missing.gguf"),
                HasSubstr("tokenizer.ggml.eos_token_id is 2, outside the vocabulary"));
}

TEST(HostileVocabulary, EmptyBpeTokenIsInert) {
    TempDir dir;
    GgufWriter w;
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", "llama-bpe");
    const std::vector<std::string> tokens = {"a", "", "b", "ab"};
    w.set_strings("tokenizer.ggml.tokens", tokens);
    w.set_strings("tokenizer.ggml.merges", std::vector<std::string>{"a b"});
    w.write(dir / "bpe.gguf");
    const Tokenizer t = Tokenizer::from_gguf(GgufFile::open(dir / "bpe.gguf"));
    EXPECT_EQ(t.encode("abba", false), (std::vector<Token>{3, 2, 0}));
    EXPECT_EQ(t.decode(std::vector<Token>{0, 1, 2}), "ab");
}

// The file shrinks under a live mapping: reading a page past the new end raises SIGBUS, which
// tern reports as one line naming the file, exit status 1.
// After a lossless load nothing is read from the file: the ternary and output layers are copies
// of the model's own and the tied embedding reads the output layer's copy. A file truncated
// under a loaded model therefore changes nothing.
TEST(HostileFile, TruncatedAfterLoadChangesNothingWhenNothingIsReadFromIt) {
    TempDir dir;
    write_dummy_model(tiny_spec(), dir / "m.gguf");
    const auto path = dir / "m.gguf";
    auto model = Model::load(path);
    const std::vector<Token> prompt = {1, 300, 301};
    Session before(model, SessionOptions{});
    const auto span = before.eval(prompt);
    const std::vector<float> expected(span.begin(), span.end());
    std::filesystem::resize_file(path, 4096);
    Session after(model, SessionOptions{});
    const auto logits = after.eval(prompt);
    ASSERT_EQ(logits.size(), expected.size());
    EXPECT_TRUE(std::equal(logits.begin(), logits.end(), expected.begin()));
}

// With a requantized output layer the tied embedding's rows are still read from the mapping; a
// file truncated under it is then a clean error naming the file, not a SIGBUS crash.
TEST(HostileFileDeathTest, TruncatedWhileMappedIsAnErrorNotACrash) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    TempDir dir;
    write_dummy_model(tiny_spec(), dir / "m.gguf");
    const auto path = dir / "m.gguf";
    auto truncate_then_eval = [&] {
        ModelLoadOptions options;
        options.output_type = OutputLayerType::q8_0;
        auto model = Model::load(path, options);
        Session session(model, SessionOptions{});
        std::filesystem::resize_file(path, 4096);
        const std::vector<Token> prompt = {1, 300, 301};
        session.eval(prompt);  // reads token_embd rows from the mapping
        std::exit(0);
    };
    EXPECT_EXIT(truncate_then_eval(), ::testing::ExitedWithCode(1),
                "tern: error: .*m.gguf changed on disk while in use");
}

}  // namespace
}  // namespace tern::test
