// Serialising a GGUF sentencepiece vocabulary as a sentencepiece ModelProto, so that the
// sentencepiece library can be loaded without a separate tokenizer.model file.
#pragma once

#include "tokenizer/vocab.h"

#include <string>

namespace tern {

// Returns the serialised ModelProto for a "llama" vocabulary: BPE model type, the pieces with
// their scores and types, byte fallback when all 256 <0xNN> tokens exist, an identity normaliser
// that escapes spaces as U+2581 and adds a dummy prefix when add_space_prefix is set.
std::string serialize_spm_model(const Vocab& vocab);

}  // namespace tern
