// Sampling: penalties, truncation (top-k, top-p, min-p), temperature, seeded draw.
#include "util/strings.h"

#include <tern/error.h>
#include <tern/sampler.h>

#include <algorithm>
#include <cmath>

namespace tern {

namespace {

void check(bool ok, const std::string& what) {
    if (!ok) throw Error(ErrorCode::invalid_argument, what);
}

}  // namespace

Sampler::Sampler(const SamplerParams& params) : params_(params), rng_(params.seed) {
    recent_.reserve(static_cast<size_t>(std::max(0, params.penalty_last_n)) + 1);
    check(std::isfinite(params.temperature) && params.temperature >= 0.0f,
          cat("temperature must be a finite number >= 0, got ", params.temperature));
    check(params.top_p > 0.0f && params.top_p <= 1.0f,
          cat("top-p must be in (0, 1], got ", params.top_p));
    check(params.min_p >= 0.0f && params.min_p <= 1.0f,
          cat("min-p must be in [0, 1], got ", params.min_p));
    check(std::isfinite(params.repeat_penalty) && params.repeat_penalty > 0.0f,
          cat("repeat penalty must be > 0, got ", params.repeat_penalty));
    check(std::isfinite(params.frequency_penalty) && std::isfinite(params.presence_penalty),
          "frequency and presence penalties must be finite");
    check(params.penalty_last_n >= 0,
          cat("the penalty window must be >= 0 tokens, got ", params.penalty_last_n));
}

void Sampler::accept(Token token) {
    if (params_.penalty_last_n == 0) return;
    if (recent_.size() == static_cast<size_t>(params_.penalty_last_n))
        recent_.erase(recent_.begin());
    recent_.push_back(token);
}

void Sampler::reset() {
    recent_.clear();
    rng_.seed(params_.seed);
}

bool Sampler::penalises() const {
    return !recent_.empty() &&
           (params_.repeat_penalty != 1.0f || params_.frequency_penalty != 0.0f ||
            params_.presence_penalty != 0.0f);
}

LogitsNeeded Sampler::logits_needed() const {
    LogitsNeeded needed;
    needed.top = params_.temperature == 0.0f ? 1 : std::max(0, params_.top_k);
    if (penalises()) needed.penalised = recent_;
    return needed;
}

Token Sampler::sample(std::span<const float> logits) {
    if (logits.empty()) throw Error(ErrorCode::invalid_argument, "cannot sample from empty logits");
    const float* values = logits.data();
    const bool penalise = penalises();
    if (penalise) {
        adjusted_.assign(logits.begin(), logits.end());
        // Each distinct recent token once, with its count (the window is small: a linear scan).
        for (size_t i = 0; i < recent_.size(); ++i) {
            const Token t = recent_[i];
            if (t < 0 || static_cast<size_t>(t) >= adjusted_.size()) continue;
            if (std::find(recent_.begin(), recent_.begin() + static_cast<std::ptrdiff_t>(i), t) !=
                recent_.begin() + static_cast<std::ptrdiff_t>(i)) {
                continue;  // already penalised
            }
            const auto count = std::count(recent_.begin(), recent_.end(), t);
            float& l = adjusted_[static_cast<size_t>(t)];
            l = l > 0.0f ? l / params_.repeat_penalty : l * params_.repeat_penalty;
            l -= static_cast<float>(count) * params_.frequency_penalty + params_.presence_penalty;
        }
        values = adjusted_.data();
    }
    const size_t n = logits.size();
    // A NaN logit (NaN or infinite weights in the file) would make the choice arbitrary and the
    // sorts below undefined: the pass that reads every logit also looks for one, and sampling
    // stops with the reason. A screened output layer's uncomputed logits are -inf, which is fine.
    bool has_nan = false;
    const auto refuse_nan = [&] {
        if (!has_nan) return;
        throw Error(ErrorCode::model,
                    "the model computed NaN logits (its weights or norms may hold NaN or "
                    "infinite values)");
    };
    if (params_.temperature == 0.0f) {
        // Greedy; ties go to the lowest id so the choice is deterministic.
        size_t best = 0;
        for (size_t i = 0; i < n; ++i) {
            has_nan |= values[i] != values[i];
            if (values[i] > values[best]) best = i;
        }
        refuse_nan();
        return static_cast<Token>(best);
    }
    candidates_.resize(n);
    for (size_t i = 0; i < n; ++i) {
        candidates_[i] = {values[i], static_cast<Token>(i)};
        has_nan |= values[i] != values[i];
    }
    refuse_nan();
    // Highest logit first; equal logits by id, so the order never depends on the sort algorithm.
    auto higher = [](const std::pair<float, Token>& a, const std::pair<float, Token>& b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
    };
    size_t keep = n;
    if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < keep) {
        keep = static_cast<size_t>(params_.top_k);
        std::partial_sort(candidates_.begin(),
                          candidates_.begin() + static_cast<std::ptrdiff_t>(keep),
                          candidates_.end(), higher);
    } else {
        std::sort(candidates_.begin(), candidates_.end(), higher);
    }
    // Truncation uses the probabilities at temperature 1 (double sums for stability).
    const double max_logit = candidates_[0].first;
    probs_.resize(keep);
    std::vector<double>& probs = probs_;
    double total = 0.0;
    for (size_t i = 0; i < keep; ++i) {
        probs[i] = std::exp(static_cast<double>(candidates_[i].first) - max_logit);
        total += probs[i];
    }
    if (params_.top_p < 1.0f) {
        double cumulative = 0.0;
        for (size_t i = 0; i < keep; ++i) {
            cumulative += probs[i] / total;
            if (cumulative >= params_.top_p) {
                keep = i + 1;
                break;
            }
        }
    }
    if (params_.min_p > 0.0f) {
        size_t i = 1;
        while (i < keep && probs[i] >= params_.min_p * probs[0]) ++i;
        keep = i;
    }
    // Temperature applies to the survivors; then one draw with 53 random bits
    // (platform-independent).
    total = 0.0;
    for (size_t i = 0; i < keep; ++i) {
        probs[i] =
            std::exp((static_cast<double>(candidates_[i].first) - max_logit) / params_.temperature);
        total += probs[i];
    }
    const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53 * total;
    double cumulative = 0.0;
    for (size_t i = 0; i < keep; ++i) {
        cumulative += probs[i];
        if (u < cumulative) return candidates_[i].second;
    }
    return candidates_[keep - 1].second;
}

}  // namespace tern
