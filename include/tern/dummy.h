// Random-weight models of any architecture and shape, written as real GGUF files.
#pragma once

#include <tern/model.h>
#include <tern/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tern {

struct DummyModelSpec {
    Architecture arch = Architecture::bitnet_b158;
    TensorType weight_type = TensorType::i2_s;  // i2_s, tq2_0, tq1_0, f16 or f32
    int64_t n_vocab = 0;                        // 0 = the size of the built-in vocabulary
    int64_t n_embd = 256;
    int64_t n_layer = 2;
    int64_t n_head = 4;
    int64_t n_head_kv = 2;
    int64_t n_ff = 512;
    int64_t n_ctx = 512;
    float rope_freq_base = 10000.0f;
    bool separate_output = false;  // write output.weight instead of tying to token_embd
    uint64_t seed = 1;
    std::string name = "tern-dummy";
    // Copy tokenizer.* from this GGUF (e.g. a vocab-only file); n_vocab then comes from it.
    std::optional<std::filesystem::path> vocab_from;
};

// Named shapes: "tiny", "bitnet-large" (0.7B), "2b4t" (BitNet-b1.58-2B-4T), "3b" (bitnet 3B).
// Throws Error(invalid_argument) for an unknown name; fills every shape field and the arch.
DummyModelSpec dummy_preset(std::string_view name);
std::vector<std::string> dummy_preset_names();

// Writes the model atomically. Weights: per tensor, trits in {-1, 0, +1} distributed as the
// absmean ternarisation of N(0, sigma^2) and scale sigma*sqrt(2/pi) rounded to fp16 (so
// every weight type stores the same model exactly); norms near 1; token
// embedding N(0, 0.02^2) as F16. Progress gets (tensors done, tensors total).
void write_dummy_model(const DummyModelSpec& spec, const std::filesystem::path& path,
                       const std::function<void(size_t, size_t)>& progress = {});

}  // namespace tern
