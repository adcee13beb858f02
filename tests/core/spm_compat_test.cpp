// The sentencepiece tokenizer tern builds from a GGUF vocabulary must encode exactly like the
// sentencepiece library loading the original .model file the vocabulary came from.
#include "support/gguf_edit.h"

#include <tern/gguf.h>
#include <tern/tokenizer.h>

#include <gtest/gtest.h>

#include <sentencepiece_processor.h>

namespace tern::test {
namespace {

// Writes a vocab-only GGUF holding the .model's pieces, scores and types, as a converter would.
void write_vocab_gguf(const sentencepiece::SentencePieceProcessor& sp,
                      const std::filesystem::path& path) {
    std::vector<std::string> tokens;
    std::vector<float> scores;
    std::vector<int32_t> types;
    for (int id = 0; id < sp.GetPieceSize(); ++id) {
        tokens.push_back(sp.IdToPiece(id));
        scores.push_back(sp.GetScore(id));
        int32_t type = 1;
        if (sp.IsUnknown(id))
            type = 2;
        else if (sp.IsControl(id))
            type = 3;
        else if (sp.IsUnused(id))
            type = 5;
        else if (sp.IsByte(id))
            type = 6;
        types.push_back(type);
    }
    GgufWriter w;
    w.set_string("general.architecture", "llama");
    w.set_string("tokenizer.ggml.model", "llama");
    w.set_strings("tokenizer.ggml.tokens", tokens);
    w.set_f32s("tokenizer.ggml.scores", scores);
    w.set_i32s("tokenizer.ggml.token_type", types);
    w.set_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(sp.bos_id()));
    w.set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(sp.eos_id()));
    w.set_u32("tokenizer.ggml.unknown_token_id", static_cast<uint32_t>(sp.unk_id()));
    w.write(path);
}

TEST(SentencepieceCompat, EncodesExactlyLikeTheOriginalModel) {
    sentencepiece::SentencePieceProcessor sp;
    ASSERT_TRUE(sp.Load(std::string(TERN_TEST_DATA_DIR) + "/spm-bpe-800.model").ok());
    TempDir dir;
    write_vocab_gguf(sp, dir / "vocab.gguf");
    const Tokenizer tokenizer = Tokenizer::from_gguf(GgufFile::open(dir / "vocab.gguf"));
    ASSERT_EQ(tokenizer.n_vocab(), 800);

    const std::vector<std::string> texts = {
        "Once upon a time, there was a little girl named Lily.",
        "She loved to play outside in the park with her friends!",
        "  Leading spaces,   inner   runs, trailing  ",
        "Tabs\tand\nnewlines\n\nand \r\n carriage returns",
        "Numbers: 0 12 345 6789 3.14159 -42 1,000,000",
        "Ünïcödé àçcénts, 日本語のテキスト, Ελληνικά, русский текст, עברית, العربية",
        "Emoji 🙂🚀👩‍👩‍👧 flags 🇫🇷 and symbols ∑∫√ ™ © ½",
        "code: for (int i = 0; i < n; ++i) { x[i] += y[i] * 2; } // done",
        "\"Quotes\" and 'apostrophes' — dashes – and ellipses…",
        "a",
        " ",
        "",
        "The",
        "the end.",
        "ALL CAPS SENTENCE WITH SHOUTING",
        "mixedCaseIdentifiers_and_snake_case words",
    };
    for (const std::string& text : texts) {
        std::vector<int> expected;
        ASSERT_TRUE(sp.Encode(text, &expected).ok());
        const auto ids = tokenizer.encode(text, false);
        EXPECT_EQ(std::vector<int>(ids.begin(), ids.end()), expected) << "text: " << text;
        std::string decoded;
        ASSERT_TRUE(sp.Decode(expected, &decoded).ok());
        EXPECT_EQ(tokenizer.decode(ids), decoded) << "text: " << text;
    }
    EXPECT_EQ(tokenizer.bos(), sp.bos_id());
    EXPECT_EQ(tokenizer.eos(), sp.eos_id());
}

}  // namespace
}  // namespace tern::test
