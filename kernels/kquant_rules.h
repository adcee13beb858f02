// The scalar steps of the Q6_K quantizer's per-group scale choice (kquant.h), shared by the
// scalar definition and the vector quantizers so they decide alike.
#pragma once

#include "kernels/nearest_int.h"

namespace tern::kernels {

// v rounded toward zero, as a float, after clamping to [lo, hi] (NaN gives lo).
inline float toward_zero_in(float v, float lo, float hi) {
    return static_cast<float>(static_cast<int>(clamp_to(v, lo, hi)));
}

// 1 / step, or 0 for step 0 (which gives level 0 to every value).
inline float inverse(float step) {
    return step == 0.0f ? 0.0f : 1.0f / step;
}

// The two candidates for a Q6_K group's int8 scale, given its float scale and the block's d
// (not 0): scale / d rounded toward zero and one further from zero, each clamped to -128..127,
// and the steps d * sc they decode with.
struct Q6KScaleCandidates {
    int sc[2];
    float step[2];
};

inline Q6KScaleCandidates q6_k_scale_candidates(float scale, float d) {
    const float exact = scale / d;
    const float down = toward_zero_in(exact, -128, 127);
    Q6KScaleCandidates c;
    c.sc[0] = nearest_in(down, -128, 127);
    c.sc[1] = nearest_in(down + (exact < 0.0f ? -1.0f : 1.0f), -128, 127);
    c.step[0] = d * static_cast<float>(c.sc[0]);
    c.step[1] = d * static_cast<float>(c.sc[1]);
    return c;
}

}  // namespace tern::kernels
