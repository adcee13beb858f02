// Model hyper-parameters from GGUF metadata, with per-architecture defaults and validation.
#include "model/config.h"

#include "util/strings.h"

#include <tern/error.h>

#include <cmath>

namespace tern {

std::string_view architecture_name(Architecture arch) {
    switch (arch) {
        case Architecture::llama:
            return "llama";
        case Architecture::bitnet:
            return "bitnet";
        case Architecture::bitnet_b158:
            return "bitnet-b1.58";
    }
    return "?";
}

std::optional<Architecture> parse_architecture(std::string_view name) {
    if (name == "llama") return Architecture::llama;
    if (name == "bitnet") return Architecture::bitnet;
    if (name == "bitnet-b1.58" || name == "bitnet-25") return Architecture::bitnet_b158;
    return std::nullopt;
}

namespace {

[[noreturn]] void bad(const GgufFile& file, const std::string& what) {
    throw Error(ErrorCode::model, cat(file.name(), ": ", what));
}

int64_t required_int(const GgufFile& file, const std::string& key) {
    const auto value = file.get_int(key);
    if (!value) bad(file, cat("missing hyper-parameter ", single_quoted(key)));
    if (*value <= 0)
        bad(file, cat("hyper-parameter ", single_quoted(key), " must be positive, got ", *value));
    return *value;
}

int64_t optional_int(const GgufFile& file, const std::string& key, int64_t fallback) {
    const auto value = file.get_int(key);
    if (!value) return fallback;
    if (*value <= 0)
        bad(file, cat("hyper-parameter ", single_quoted(key), " must be positive, got ", *value));
    return *value;
}

float optional_positive_float(const GgufFile& file, const std::string& key, float fallback) {
    const auto value = file.get_float(key);
    if (!value) return fallback;
    if (!std::isfinite(*value) || *value <= 0) {
        bad(file, cat("hyper-parameter ", single_quoted(key),
                      " must be a positive finite number, got ", *value));
    }
    return static_cast<float>(*value);
}

}  // namespace

ModelConfig read_model_config(const GgufFile& file) {
    const auto arch_name = file.get_string("general.architecture");
    if (!arch_name) {
        throw Error(ErrorCode::model, cat(file.name(), ": missing general.architecture"));
    }
    const auto arch = parse_architecture(*arch_name);
    if (!arch) {
        throw Error(ErrorCode::unsupported,
                    cat(file.name(), ": unknown architecture ", single_quoted(*arch_name),
                        " (tern runs llama, bitnet, bitnet-b1.58 and bitnet-25)"));
    }
    ModelConfig c;
    c.architecture = std::string(*arch_name);
    c.arch = *arch;
    const std::string p = c.architecture + ".";

    c.n_embd = required_int(file, p + "embedding_length");
    c.n_layer = required_int(file, p + "block_count");
    c.n_ff = required_int(file, p + "feed_forward_length");
    c.n_head = required_int(file, p + "attention.head_count");
    c.n_head_kv = optional_int(file, p + "attention.head_count_kv", c.n_head);
    c.n_ctx_train = optional_int(file, p + "context_length", 2048);
    c.rms_eps = optional_positive_float(file, p + "attention.layer_norm_rms_epsilon", 1e-5f);
    c.rope_freq_base = optional_positive_float(file, p + "rope.freq_base", 10000.0f);

    if (c.n_embd % c.n_head != 0) {
        bad(file,
            cat("attention.head_count ", c.n_head, " does not divide embedding_length ", c.n_embd));
    }
    c.head_dim = optional_int(file, p + "attention.key_length", c.n_embd / c.n_head);
    if (c.n_head * c.head_dim != c.n_embd) {
        bad(file, cat("head_count ", c.n_head, " x key_length ", c.head_dim,
                      " differs from embedding_length ", c.n_embd, " (tern needs them equal)"));
    }
    if (c.n_head % c.n_head_kv != 0) {
        bad(file,
            cat("attention.head_count_kv ", c.n_head_kv, " does not divide head_count ", c.n_head));
    }
    c.n_rot = optional_int(file, p + "rope.dimension_count", c.head_dim);
    if (c.n_rot > c.head_dim || c.n_rot % 2 != 0) {
        bad(file, cat("rope.dimension_count ", c.n_rot, " must be even and at most the head size ",
                      c.head_dim));
    }
    if (c.n_layer > static_cast<int64_t>(file.tensors().size())) {
        bad(file, cat("block_count ", c.n_layer, " exceeds the number of tensors in the file"));
    }

    switch (c.arch) {
        case Architecture::llama:
            c.rope = RopeStyle::norm;
            c.activation = FfnActivation::silu;
            c.sub_norms = false;
            c.bitlinear = false;  // decided per tensor: ternary weights quantise their input
            break;
        case Architecture::bitnet:
            c.rope = RopeStyle::neox;
            c.activation = FfnActivation::silu;
            c.sub_norms = true;
            c.bitlinear = true;
            break;
        case Architecture::bitnet_b158:
            c.rope = RopeStyle::neox;
            c.activation = FfnActivation::relu_squared;
            c.sub_norms = true;
            c.bitlinear = true;
            break;
    }
    // Some converters record the activation explicitly; it wins over the architecture default.
    if (const auto act = file.get_string(p + "hidden_act")) {
        if (*act == "silu" || *act == "swish") {
            c.activation = FfnActivation::silu;
        } else if (*act == "relu2" || *act == "relu_squared" || *act == "relu_sqr") {
            c.activation = FfnActivation::relu_squared;
        } else {
            throw Error(ErrorCode::unsupported,
                        cat(file.name(), ": unsupported ", p, "hidden_act ", single_quoted(*act)));
        }
    }

    const TensorView* embd = file.find_tensor("token_embd.weight");
    if (embd == nullptr) bad(file, "missing tensor 'token_embd.weight'");
    c.n_vocab = embd->ne[1];
    c.tied_output = file.find_tensor("output.weight") == nullptr;
    return c;
}

}  // namespace tern
