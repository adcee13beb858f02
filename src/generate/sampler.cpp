// Sampling: greedy at temperature 0, otherwise top-k, temperature, top-p, then a seeded draw.
#include "util/strings.h"

#include <tern/error.h>
#include <tern/sampler.h>

#include <algorithm>
#include <cmath>

namespace tern {

Sampler::Sampler(const SamplerParams& params) : params_(params), rng_(params.seed) {
    if (!(params.temperature >= 0.0f) || !std::isfinite(params.temperature)) {
        throw Error(ErrorCode::invalid_argument,
                    cat("temperature must be a finite number >= 0, got ", params.temperature));
    }
    if (!(params.top_p > 0.0f && params.top_p <= 1.0f)) {
        throw Error(ErrorCode::invalid_argument, cat("top-p must be in (0, 1], got ", params.top_p));
    }
}

Token Sampler::sample(std::span<const float> logits) {
    if (logits.empty()) throw Error(ErrorCode::invalid_argument, "cannot sample from empty logits");
    if (params_.temperature == 0.0f) {
        // Greedy; ties go to the lowest id so the choice is deterministic.
        return static_cast<Token>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    }
    candidates_.resize(logits.size());
    for (size_t i = 0; i < logits.size(); ++i) candidates_[i] = {logits[i], static_cast<Token>(i)};
    // Highest logit first; equal logits by id, so the order never depends on the sort algorithm.
    auto higher = [](const std::pair<float, Token>& a, const std::pair<float, Token>& b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
    };
    size_t keep = candidates_.size();
    if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < keep) {
        keep = static_cast<size_t>(params_.top_k);
        std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(keep),
                          candidates_.end(), higher);
    } else {
        std::sort(candidates_.begin(), candidates_.end(), higher);
    }
    // Softmax over the kept candidates at the given temperature (in double for stable sums).
    const double max_logit = candidates_[0].first;
    std::vector<double> probs(keep);
    double total = 0.0;
    for (size_t i = 0; i < keep; ++i) {
        probs[i] = std::exp((candidates_[i].first - max_logit) / params_.temperature);
        total += probs[i];
    }
    // Top-p: the smallest prefix whose probability reaches top_p.
    if (params_.top_p < 1.0f) {
        double cumulative = 0.0;
        for (size_t i = 0; i < keep; ++i) {
            cumulative += probs[i] / total;
            if (cumulative >= params_.top_p) {
                keep = i + 1;
                break;
            }
        }
        total = 0.0;
        for (size_t i = 0; i < keep; ++i) total += probs[i];
    }
    // Draw with 53 random bits so the result is identical on every platform.
    const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53 * total;
    double cumulative = 0.0;
    for (size_t i = 0; i < keep; ++i) {
        cumulative += probs[i];
        if (u < cumulative) return candidates_[i].second;
    }
    return candidates_[keep - 1].second;
}

}  // namespace tern
