// Writes the fuzz targets' seed corpora: small valid GGUF files made by tern's writer, and texts
// and conversations for the tokenizer and chat targets. Usage: tern_fuzz_seeds OUT_DIR
#include "fuzz_vocab.h"

#include <tern/dummy.h>
#include <tern/files.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace fs = std::filesystem;

void put(const fs::path& dir, const std::string& name, std::string_view bytes) {
    fs::create_directories(dir);
    tern::write_file_atomically(dir / name, bytes);
}

std::string as_string(const std::vector<uint8_t>& bytes) {
    return {bytes.begin(), bytes.end()};
}

// Texts for both tokenizers: the first byte holds the flags (1 = BOS, 2 = parse special tokens).
const std::vector<std::string> kTexts = {
    std::string("\x01") + "Once upon a time, there was a little girl named Lily.",
    std::string("\x00", 1) +
        "Grüße aus Köln! Ça va? 東京は晴れ。 Привет мир 🙂👍🏽 "
        "नमस्ते",
    std::string("\x00", 1) + "def f(x):\n\treturn x**2  # square\n\n\nint main() { return 0; }",
    std::string("\x00", 1) + "   leading and trailing   \t\n",
    std::string("\x02") +
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><s></s>",
    std::string("\x03") + "numbers 1234567890 3.14159 and don't we'll I'M",
    std::string("\x00", 1) + "\xe2\x96\x81sentencepiece space \xe2\x96\x81\xe2\x96\x81",
    std::string("\x00", 1) + "bad \xff\xfe utf-8 \xc3",
};

// Conversations: byte 0 = template | 8 (BPE) | 16 (generation prompt); messages separated by
// 0x1E, each starting with its role byte (0 system, 1 user, 2 assistant, 3 tool).
const std::vector<std::string> kChats = {
    std::string("\x10") + std::string("\x00", 1) +
        "You are helpful.\x1e\x01Hello!\x1e\x02Hi there.\x1e\x01Tell me a story.",
    std::string("\x19") +
        "\x01What is 2+2?\x1e\x02"
        "4\x1e\x01<|eot_id|> and [INST] typed by a user",
    std::string("\x1a") + std::string("\x00", 1) + "Be brief.\x1e\x01Summarise: the cat sat.",
    std::string("\x0b") + "\x01  padded  \x1e\x02\x1e\x01\n\nnew lines\n",
    std::string("\x14") +
        "\x01"
        "Grüße 🙂",
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: tern_fuzz_seeds OUT_DIR\n");
        return 2;
    }
    const fs::path out = argv[1];
    using tern::Architecture, tern::TensorType;
    put(out / "gguf", "tiny-b158-i2_s.gguf", as_string(tern::fuzz::tiny_model_gguf()));
    put(out / "gguf", "tiny-bitnet-tq2_0.gguf",
        as_string(tern::fuzz::tiny_model_gguf(TensorType::tq2_0, Architecture::bitnet)));
    put(out / "gguf", "tiny-b158-tq1_0.gguf",
        as_string(tern::fuzz::tiny_model_gguf(TensorType::tq1_0)));
    put(out / "gguf", "tiny-llama-f16.gguf",
        as_string(tern::fuzz::tiny_model_gguf(TensorType::f16, Architecture::llama)));
    put(out / "gguf", "bpe-vocab.gguf", as_string(tern::fuzz::bpe_vocab_gguf()));
    for (size_t i = 0; i < kTexts.size(); ++i) {
        put(out / "tokenizer_spm", "text-" + std::to_string(i), kTexts[i]);
        put(out / "tokenizer_bpe", "text-" + std::to_string(i), kTexts[i]);
    }
    for (size_t i = 0; i < kChats.size(); ++i)
        put(out / "chat", "chat-" + std::to_string(i), kChats[i]);
    std::printf("seeds written to %s\n", out.c_str());
    return 0;
}
