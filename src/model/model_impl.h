// Internals of Model shared with the session and the graph.
#pragma once

#include "model/weights.h"

#include <tern/model.h>

#include <optional>
#include <string>

namespace tern {

struct Model::Impl {
    GgufFile file;
    ModelConfig config;
    ModelWeights weights;
    std::optional<Tokenizer> tokenizer;
    std::string tokenizer_error;  // why `tokenizer` is absent
};

}  // namespace tern
