// Small vocabularies for the fuzz targets, written through tern's own GGUF writer.
#include "fuzz_vocab.h"

#include "tokenizer/byte_unicode.h"

#include <tern/dummy.h>

#include <unistd.h>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

namespace tern::fuzz {
namespace {

// Words whose letter-by-letter merges the BPE vocabulary learns (with and without a leading space).
constexpr const char* kWords[] = {
    "the",  "and",   "was",  "she",   "he",   "they",  "said",   "little", "girl", "boy",  "day",
    "once", "upon",  "time", "there", "her",  "his",   "with",   "to",     "of",   "in",   "it",
    "a",    "ing",   "ed",   "er",    "play", "happy", "friend", "tree",   "mom",  "dog",  "cat",
    "sun",  "big",   "went", "saw",   "want", "help",  "def",    "return", "int",  "for",  "if",
    "else", "while", "(",    ")",     "{",    "}",     "::",     "->",     "  ",   "\n\n",
};

std::vector<uint8_t> file_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Writes through a temporary file (GgufWriter writes files) and returns the bytes.
template <typename Write>
std::vector<uint8_t> via_temp_file(const char* stem, Write write) {
    const auto path =
        std::filesystem::temp_directory_path() /
        (std::string("tern-fuzz-") + stem + "-" + std::to_string(::getpid()) + ".gguf");
    write(path);
    std::vector<uint8_t> bytes = file_bytes(path);
    std::filesystem::remove(path);
    return bytes;
}

}  // namespace

std::vector<uint8_t> bpe_vocab_gguf() {
    const ByteUnicodeMap& map = byte_unicode_map();
    std::vector<std::string> tokens;
    std::vector<int32_t> types;
    std::set<std::string> known;
    for (int b = 0; b < 256; ++b) {
        tokens.push_back(map.encode(static_cast<uint8_t>(b)));
        types.push_back(1);  // normal
        known.insert(tokens.back());
    }
    std::vector<std::string> merges;
    for (const char* word : kWords) {
        for (const std::string& spelled : {std::string(word), " " + std::string(word)}) {
            std::string prefix = map.encode(static_cast<uint8_t>(spelled[0]));
            for (size_t i = 1; i < spelled.size(); ++i) {
                const std::string next = map.encode(static_cast<uint8_t>(spelled[i]));
                if (known.insert(prefix + next).second) {
                    merges.push_back(prefix + " " + next);
                    tokens.push_back(prefix + next);
                    types.push_back(1);
                }
                prefix += next;
            }
        }
    }
    for (const char* special :
         {"<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
          "<|eot_id|>", "<|system|>", "<|user|>", "<|assistant|>"}) {
        tokens.push_back(special);
        types.push_back(3);  // control
    }
    const auto n = static_cast<uint32_t>(tokens.size());
    return via_temp_file("bpe", [&](const std::filesystem::path& path) {
        GgufWriter w;
        w.set_string("general.architecture", "llama");
        w.set_string("tokenizer.ggml.model", "gpt2");
        w.set_string("tokenizer.ggml.pre", "llama-bpe");
        w.set_strings("tokenizer.ggml.tokens", tokens);
        w.set_i32s("tokenizer.ggml.token_type", types);
        w.set_strings("tokenizer.ggml.merges", merges);
        w.set_u32("tokenizer.ggml.bos_token_id", n - 8);
        w.set_u32("tokenizer.ggml.eos_token_id", n - 7);
        w.write(path);
    });
}

std::vector<uint8_t> tiny_model_gguf(TensorType type, Architecture arch) {
    return via_temp_file("model", [&](const std::filesystem::path& path) {
        DummyModelSpec spec = dummy_preset("tiny");
        spec.weight_type = type;
        spec.arch = arch;
        spec.n_embd = 256;
        spec.n_layer = 1;
        spec.n_head = 2;
        spec.n_head_kv = 1;
        spec.n_ff = 256;
        spec.n_ctx = 64;
        spec.name = "tern-fuzz-seed";
        write_dummy_model(spec, path);
    });
}

const Tokenizer& spm_tokenizer() {
    static const Tokenizer tokenizer = [] {
        static const std::vector<uint8_t> bytes = tiny_model_gguf();
        return Tokenizer::from_gguf(GgufFile::parse(bytes));
    }();
    return tokenizer;
}

const Tokenizer& bpe_tokenizer() {
    static const Tokenizer tokenizer = [] {
        static const std::vector<uint8_t> bytes = bpe_vocab_gguf();
        return Tokenizer::from_gguf(GgufFile::parse(bytes));
    }();
    return tokenizer;
}

}  // namespace tern::fuzz
