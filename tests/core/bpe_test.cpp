// Byte-level BPE: llama.cpp's GPT-2 test vectors (when ../shared is present), the byte map,
// round trips, special tokens, and pre-tokenizer splits.
#include "support/gguf_edit.h"
#include "tokenizer/byte_unicode.h"
#include "tokenizer/pretokenizer.h"

#include <tern/error.h>
#include <tern/tokenizer.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace tern::test {
namespace {

const std::filesystem::path kGpt2Vocab =
    std::filesystem::path(TERN_SHARED_DIR) / "vectors/ggml-vocab-gpt-2.gguf";

std::string slurp(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

TEST(Gpt2Vectors, AllOfLlamaCppsTestStringsMatch) {
    if (!std::filesystem::exists(kGpt2Vocab))
        GTEST_SKIP() << "no " << kGpt2Vocab << " (../shared is absent)";
    const GgufFile file = GgufFile::open(kGpt2Vocab);
    const Tokenizer tokenizer = Tokenizer::from_gguf(file);
    EXPECT_EQ(tokenizer.kind(), TokenizerKind::bpe);
    const std::string inputs = slurp(kGpt2Vocab.string() + ".inp");
    std::istringstream outputs(slurp(kGpt2Vocab.string() + ".out"));
    const std::string separator = "\n__ggml_vocab_test__\n";
    size_t start = 0, count = 0;
    std::string expected_line;
    while (start < inputs.size() && std::getline(outputs, expected_line)) {
        size_t end = inputs.find(separator, start);
        if (end == std::string::npos) end = inputs.size();
        const std::string text = inputs.substr(start, end - start);
        start = end + separator.size();
        std::vector<Token> expected;
        std::istringstream ids(expected_line);
        for (Token id; ids >> id;) expected.push_back(id);
        EXPECT_EQ(tokenizer.encode(text, false), expected) << "text: '" << text << "'";
        EXPECT_EQ(tokenizer.decode(tokenizer.encode(text, false)), text);
        ++count;
    }
    EXPECT_EQ(count, 46u);  // the vector files hold 46 strings (46 separators, 46 expected lines)
}

TEST(ByteUnicode, MapIsABijectionWithGpt2sPrintableBytes) {
    const ByteUnicodeMap& map = byte_unicode_map();
    EXPECT_EQ(map.encode(static_cast<uint8_t>(' ')), "\xc4\xa0");  // U+0120 'Ġ'
    EXPECT_EQ(map.encode(static_cast<uint8_t>('A')), "A");
    EXPECT_EQ(map.encode(static_cast<uint8_t>('\n')), "\xc4\x8a");  // U+010A 'Ċ'
    std::string all;
    for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
    std::string back;
    ASSERT_TRUE(map.decode(map.encode(all), back));
    EXPECT_EQ(back, all);
    EXPECT_FALSE(map.decode("\xe4\xb8\xad", back));  // a code point no byte maps to
}

TEST(PreTokenizer, Llama3SplitsLikeItsRegex) {
    std::vector<std::string> patterns;
    bool ignore_merges = false;
    ASSERT_TRUE(pretokenizer_patterns("llama-bpe", patterns, ignore_merges));
    EXPECT_TRUE(ignore_merges);
    const PreTokenizer pre(patterns);
    auto split = [&](std::string_view text) {
        std::vector<std::string> out;
        for (auto piece : pre.split(text)) out.emplace_back(piece);
        return out;
    };
    EXPECT_EQ(split("Hello world"), (std::vector<std::string>{"Hello", " world"}));
    EXPECT_EQ(split("I'M done"), (std::vector<std::string>{"I", "'M", " done"}));
    EXPECT_EQ(split("12345"), (std::vector<std::string>{"123", "45"}));
    EXPECT_EQ(split("a  b"), (std::vector<std::string>{"a", " ", " b"}));
    EXPECT_EQ(split("x\n\n  y"), (std::vector<std::string>{"x", "\n\n", " ", " y"}));
    EXPECT_EQ(split("ok!!! "), (std::vector<std::string>{"ok", "!!!", " "}));
    EXPECT_EQ(split("Ελληνικά 日本語"), (std::vector<std::string>{"Ελληνικά", " 日本語"}));
    EXPECT_FALSE(pretokenizer_patterns("no-such-pre", patterns, ignore_merges));
}

TEST(Bpe, SpecialTokensOnlyWhenAsked) {
    if (!std::filesystem::exists(kGpt2Vocab)) GTEST_SKIP() << "no " << kGpt2Vocab;
    const Tokenizer tokenizer = Tokenizer::from_gguf(GgufFile::open(kGpt2Vocab));
    const Token eot = tokenizer.special_token("<|endoftext|>");
    ASSERT_EQ(eot, 50256);
    const auto plain = tokenizer.encode("a<|endoftext|>b", false);
    EXPECT_EQ(std::count(plain.begin(), plain.end(), eot), 0);
    const auto special = tokenizer.encode("a<|endoftext|>b", false, true);
    EXPECT_EQ(special, (std::vector<Token>{tokenizer.encode("a", false)[0], eot,
                                           tokenizer.encode("b", false)[0]}));
    EXPECT_TRUE(tokenizer.is_end_of_generation(eot));
}

TEST(Bpe, RoundTripsAnyText) {
    if (!std::filesystem::exists(kGpt2Vocab)) GTEST_SKIP() << "no " << kGpt2Vocab;
    const Tokenizer tokenizer = Tokenizer::from_gguf(GgufFile::open(kGpt2Vocab));
    const char* samples[] = {
        "Once upon a time, there was a little girl named Lily.",
        "  two leading spaces and   inner runs\tand tabs\nand\r\nnewlines\n\n",
        "Ünïcödé: 日本語のテキスト, Ελληνικά, русский, עברית, العربية, हिन्दी, ไทย, 한국어",
        "emoji 🙂🚀👩‍👩‍👧 flags 🇫🇷 and symbols ∑∫√ ™ ©",
        "code: for (int i = 0; i < n; ++i) { x[i] += y[i] * 2; } // done",
        "\x01\x7f control bytes and a NUL: \0 end",
    };
    for (const char* text : samples) {
        EXPECT_EQ(tokenizer.decode(tokenizer.encode(text, false)), text) << text;
    }
    const std::string with_nul("a\0b", 3);
    EXPECT_EQ(tokenizer.decode(tokenizer.encode(with_nul, false)), with_nul);
}

}  // namespace
}  // namespace tern::test
