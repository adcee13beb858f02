// Choosing the next token from logits: repetition penalties, then top-k / top-p / min-p
// truncation, temperature and a seeded draw (greedy at temperature 0), in llama.cpp's order.
#pragma once

#include <tern/session.h>
#include <tern/types.h>

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace tern {

struct SamplerParams {
    float temperature = 0.8f;  // 0 = greedy (the highest logit after penalties)
    int top_k = 40;            // keep the k most likely tokens; <= 0 = all
    float top_p = 0.95f;       // keep the smallest set whose probability reaches p; 1 = all
    float min_p = 0.05f;       // drop tokens below min_p x the top probability; 0 = off
    float repeat_penalty =
        1.0f;  // divide positive / multiply negative logits of recent tokens; 1 = off
    float frequency_penalty = 0.0f;  // subtract count x this from recent tokens' logits
    float presence_penalty = 0.0f;   // subtract this from every recent token's logit
    int penalty_last_n = 64;         // how many recent tokens the penalties look at; 0 = off
    uint64_t seed = 0;               // same seed + same logits = same choices
};

class Sampler {
public:
    // Throws Error(invalid_argument) naming the parameter for values outside their range.
    explicit Sampler(const SamplerParams& params);

    Token sample(std::span<const float> logits);
    // Which logits sample() reads: the top_k highest (1 when greedy; all when top_k <= 0) after
    // the penalties, which change the logits of the recent tokens (none when they are off).
    // Ask after accepting every token the next sample() penalises; valid until the next
    // accept() or reset().
    LogitsNeeded logits_needed() const;
    // Records a token (prompt or generated) for the repetition penalties.
    void accept(Token token);
    void reset();  // forgets the recent tokens and reseeds
    const SamplerParams& params() const { return params_; }

private:
    bool penalises() const;  // some penalty is on and there are recent tokens

    SamplerParams params_;
    std::mt19937_64 rng_;
    std::vector<Token> recent_;    // the penalty window, oldest first (capacity reserved once)
    std::vector<float> adjusted_;  // logits after penalties, reused
    std::vector<std::pair<float, Token>> candidates_;  // reused between calls
    std::vector<double> probs_;                        // reused between calls
};

}  // namespace tern
