// A small built-in sentencepiece-style vocabulary so that random-weight models can be run as text.
#pragma once

#include <tern/gguf.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tern {

struct BuiltinVocab {
    std::vector<std::string> tokens;
    std::vector<float> scores;
    std::vector<int32_t> types;  // GGUF token types
};

// <unk>, <s>, </s>, the 256 byte tokens <0x00>..<0xFF>, printable ASCII characters, and every
// "▁"-prefixed prefix of a few hundred common English words (so sentencepiece's merges can build
// each word letter by letter). Padded with "<unused_N>" tokens (type unused) to `n_vocab` when
// that is larger. Throws Error(invalid_argument) if n_vocab is smaller than the built-in size.
BuiltinVocab builtin_vocab(int64_t n_vocab = 0);

// Writes tokenizer.ggml.* for a vocabulary (model "llama", BOS 1, EOS 2, UNK 0).
void write_vocab(GgufWriter& writer, const BuiltinVocab& vocab);

}  // namespace tern
