// Small vocabularies the fuzz targets and their seed generator share: a sentencepiece one (tern's
// built-in vocabulary) and a byte-level BPE one with LLaMA-3's special tokens.
#pragma once

#include <tern/gguf.h>
#include <tern/model.h>
#include <tern/tokenizer.h>

#include <cstdint>
#include <filesystem>
#include <vector>

namespace tern::fuzz {

// A vocabulary-only GGUF image: tokenizer.ggml.model "gpt2", pre "llama-bpe", the 256 byte
// tokens in GPT-2's byte-to-unicode spelling, merges building a few hundred English words, and
// <|begin_of_text|>, <|end_of_text|>, <|start_header_id|>, <|end_header_id|>, <|eot_id|>,
// <|system|>, <|user|>, <|assistant|> as control tokens.
std::vector<uint8_t> bpe_vocab_gguf();

// A complete tiny model (built-in sentencepiece vocabulary, 256 wide, 1 layer; TQ formats need
// rows of 256) with the given weight type and architecture.
std::vector<uint8_t> tiny_model_gguf(TensorType type = TensorType::i2_s,
                                     Architecture arch = Architecture::bitnet_b158);

// Tokenizers built from those images, once per process.
const Tokenizer& spm_tokenizer();
const Tokenizer& bpe_tokenizer();

}  // namespace tern::fuzz
