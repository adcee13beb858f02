// Reading and validating a model's hyper-parameters from GGUF metadata.
#pragma once

#include <tern/gguf.h>
#include <tern/model.h>

namespace tern {

// Reads {arch}.* keys and derives the graph options (RoPE style, activation, sub-norms).
// Throws Error(unsupported) for an unknown architecture and Error(model) for missing or
// inconsistent hyper-parameters, naming the key.
ModelConfig read_model_config(const GgufFile& file);

// Maps general.architecture to tern's families; nullopt if tern cannot run it.
std::optional<Architecture> parse_architecture(std::string_view name);

}  // namespace tern
