// Tokenizer: sentencepiece built from a GGUF vocabulary, decoding, UTF-8 safety while streaming.
#include "support/gguf_edit.h"

#include <tern/error.h>
#include <tern/model.h>
#include <tern/tokenizer.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tern::test {
namespace {

class BuiltinVocabTokenizer : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir();
        write_dummy_model(tiny_spec(), dir_->path() / "m.gguf");
        file_ = new GgufFile(GgufFile::open(dir_->path() / "m.gguf"));
        tokenizer_ = new Tokenizer(Tokenizer::from_gguf(*file_));
    }
    static void TearDownTestSuite() {
        delete tokenizer_;
        delete file_;
        delete dir_;
    }
    static Token id(std::string_view text) {
        for (Token t = 0; t < tokenizer_->n_vocab(); ++t) {
            if (tokenizer_->token_text(t) == text) return t;
        }
        return -1;
    }
    static TempDir* dir_;
    static GgufFile* file_;
    static Tokenizer* tokenizer_;
};
TempDir* BuiltinVocabTokenizer::dir_ = nullptr;
GgufFile* BuiltinVocabTokenizer::file_ = nullptr;
Tokenizer* BuiltinVocabTokenizer::tokenizer_ = nullptr;

TEST_F(BuiltinVocabTokenizer, SpecialTokensAndFlags) {
    const Tokenizer& t = *tokenizer_;
    EXPECT_EQ(t.kind(), TokenizerKind::sentencepiece);
    EXPECT_EQ(t.bos(), 1);
    EXPECT_EQ(t.eos(), 2);
    EXPECT_TRUE(t.add_bos_by_default());
    EXPECT_TRUE(t.is_end_of_generation(2));
    EXPECT_FALSE(t.is_end_of_generation(1));
    EXPECT_TRUE(t.is_control(1));
    EXPECT_EQ(t.token_text(3), "<0x00>");
}

TEST_F(BuiltinVocabTokenizer, KnownSplits) {
    const Tokenizer& t = *tokenizer_;
    // Whole words of the vocabulary become one token each, with the dummy-prefix space.
    EXPECT_EQ(t.encode("the little dog", true),
              (std::vector<Token>{1, id("▁the"), id("▁little"), id("▁dog")}));
    // Unknown words fall back to prefixes and single characters: "Once" has no "▁O" piece.
    EXPECT_EQ(t.encode("Once", false),
              (std::vector<Token>{id("▁"), id("O"), id("n"), id("c"), id("e")}));
    // Characters outside the vocabulary use byte tokens: "é" = C3 A9.
    EXPECT_EQ(t.encode("é", false), (std::vector<Token>{id("▁"), id("<0xC3>"), id("<0xA9>")}));
    EXPECT_TRUE(t.encode("", false).empty());
    EXPECT_EQ(t.encode("", true), (std::vector<Token>{1}));
    // Special-token text in the input is ordinary text, never the control token.
    const auto ids = t.encode("<s>", false);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), 1), 0);
}

TEST_F(BuiltinVocabTokenizer, DecodeInvertsEncode) {
    const Tokenizer& t = *tokenizer_;
    const char* samples[] = {
        "Once upon a time, there was a little girl named Lily.",
        "  two leading spaces and   inner runs\tand tabs\nand\nnewlines\n\n",
        "Ünïcödé: 日本語のテキスト, Ελληνικά, русский, עברית",
        "emoji 🙂🚀👩‍👩‍👧 and symbols ∑∫√ ™ ©",
        "code: for (int i = 0; i < n; ++i) { x[i] += y[i] * 2; } // done",
        "\x01\x7f control bytes",
    };
    for (const char* text : samples) {
        const auto ids = t.encode(text, true);
        EXPECT_EQ(t.decode(ids), text) << text;
    }
}

TEST_F(BuiltinVocabTokenizer, InvalidUtf8IsRejectedWithItsOffset) {
    try {
        tokenizer_->encode("ok\xc3(", true);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::tokenizer);
        EXPECT_STREQ(e.what(), "text is not valid UTF-8 (byte 2 of 4)");
    }
    EXPECT_THROW(tokenizer_->encode("\xed\xa0\x80", true), Error);  // a surrogate
    EXPECT_THROW(tokenizer_->encode("\xc0\xaf", true), Error);      // an overlong '/'
}

TEST_F(BuiltinVocabTokenizer, PiecesReplaceTheSpaceMarkAndExpandBytes) {
    EXPECT_EQ(tokenizer_->piece(id("▁the")), " the");
    EXPECT_EQ(tokenizer_->piece(id("<0x0A>")), "\n");
    EXPECT_EQ(tokenizer_->piece(1), "");  // control tokens print nothing
    EXPECT_EQ(tokenizer_->piece(0), " \xe2\x81\x87 ");
    EXPECT_EQ(tokenizer_->piece(-5), "");
}

TEST(Utf8StreamDecoder, NeverSplitsACharacter) {
    Utf8StreamDecoder d;
    EXPECT_EQ(d.push("a\xe2"), "a");
    EXPECT_EQ(d.push("\x82"), "");
    EXPECT_EQ(d.push("\xac!"), "\xe2\x82\xac!");  // €!
    EXPECT_EQ(d.push("\xf0\x9f"), "");
    EXPECT_EQ(d.push("\x99\x82"), "\xf0\x9f\x99\x82");  // 🙂
    EXPECT_EQ(d.flush(), "");
}

TEST(Utf8StreamDecoder, ReplacesBytesThatCanNeverBeValid) {
    Utf8StreamDecoder d;
    EXPECT_EQ(d.push("\xff"
                     "a"),
              "\xef\xbf\xbd"
              "a");
    EXPECT_EQ(d.push("\xe2\x41"),
              "\xef\xbf\xbd"
              "A");  // lead byte followed by ASCII
    EXPECT_EQ(d.push("\xe2\x82"), "");
    EXPECT_EQ(d.flush(), "\xef\xbf\xbd");  // dangling partial character at the end
}

TEST(TokenizerErrors, BrokenVocabulariesAreNamed) {
    TempDir dir;
    write_dummy_model(tiny_spec(), dir / "a.gguf");
    auto message = [&](const GgufEdit& edit) {
        rewrite_gguf(dir / "a.gguf", dir / "b.gguf", edit);
        try {
            Tokenizer::from_gguf(GgufFile::open(dir / "b.gguf"));
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    GgufEdit short_scores;
    short_scores.extra = [](GgufWriter& w) {
        const std::vector<float> s = {0.0f, 1.0f};
        w.set_f32s("tokenizer.ggml.scores", s);
    };
    EXPECT_THAT(message(short_scores),
                ::testing::HasSubstr("tokenizer.ggml.scores has 2 entries for"));
    GgufEdit bad_bos;
    bad_bos.extra = [](GgufWriter& w) { w.set_u32("tokenizer.ggml.bos_token_id", 100000); };
    EXPECT_THAT(
        message(bad_bos),
        ::testing::HasSubstr("tokenizer.ggml.bos_token_id is 100000, outside the vocabulary"));
    GgufEdit bpe;
    bpe.extra = [](GgufWriter& w) { w.set_string("tokenizer.ggml.model", "gpt2"); };
    EXPECT_THAT(message(bpe), ::testing::HasSubstr("tokenizer.ggml.merges is missing"));
    GgufEdit t5;
    t5.extra = [](GgufWriter& w) { w.set_string("tokenizer.ggml.model", "t5"); };
    EXPECT_THAT(message(t5), ::testing::HasSubstr("tokenizer.ggml.model 't5' is not supported"));
    GgufEdit bad_merge;
    bad_merge.extra = [](GgufWriter& w) {
        w.set_string("tokenizer.ggml.model", "gpt2");
        w.set_string("tokenizer.ggml.pre", "gpt-2");
        const std::vector<std::string> merges = {"t h", "nosuchtoken x"};
        w.set_strings("tokenizer.ggml.merges", merges);
    };
    EXPECT_THAT(message(bad_merge),
                ::testing::HasSubstr(
                    "tokenizer.ggml.merges[0] 't h' names a token the vocabulary does not have"));
    GgufEdit unknown_pre;
    unknown_pre.extra = [](GgufWriter& w) {
        w.set_string("tokenizer.ggml.model", "gpt2");
        w.set_string("tokenizer.ggml.pre", "klingon");
    };
    EXPECT_THAT(message(unknown_pre),
                ::testing::HasSubstr("tokenizer.ggml.pre 'klingon' is not supported"));
    GgufEdit duplicate;
    duplicate.extra = [](GgufWriter& w) {
        std::vector<std::string> tokens = {"<unk>", "<s>", "</s>", "a", "a"};
        w.set_strings("tokenizer.ggml.tokens", tokens);
        w.set_f32s("tokenizer.ggml.scores", std::vector<float>(5, 0.0f));
        w.set_i32s("tokenizer.ggml.token_type", std::vector<int32_t>{2, 3, 3, 1, 1});
    };
    EXPECT_THAT(message(duplicate), ::testing::HasSubstr("is not a valid sentencepiece model"));
}

}  // namespace
}  // namespace tern::test
