// Choosing the next token from logits: greedy, or temperature with top-k / top-p, seeded.
#pragma once

#include <tern/types.h>

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace tern {

struct SamplerParams {
    float temperature = 0.8f;  // 0 = greedy (always the highest logit)
    int top_k = 40;            // keep the k most likely tokens; <= 0 = all
    float top_p = 0.95f;       // keep the smallest set whose probability reaches p; 1 = all
    uint64_t seed = 0;         // same seed + same logits = same choices
};

class Sampler {
public:
    // Throws Error(invalid_argument) for a negative temperature or top_p outside (0, 1].
    explicit Sampler(const SamplerParams& params);

    Token sample(std::span<const float> logits);
    const SamplerParams& params() const { return params_; }

private:
    SamplerParams params_;
    std::mt19937_64 rng_;
    std::vector<std::pair<float, Token>> candidates_;  // reused between calls
};

}  // namespace tern
