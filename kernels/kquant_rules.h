// The scalar steps of the Q6_K and Q4_K quantizers' per-group scale choices (kquant.h), shared by
// the scalar definitions and the vector quantizers so they decide alike.
#pragma once

#include "kernels/nearest_int.h"

#include <cstdint>

namespace tern::kernels {

// v rounded toward zero, as a float, after clamping to [lo, hi] (NaN gives lo).
inline float toward_zero_in(float v, float lo, float hi) {
    return static_cast<float>(static_cast<int>(clamp_to(v, lo, hi)));
}

// 1 / step, or 0 for step 0 (which gives level 0 to every value).
inline float inverse(float step) {
    return step == 0.0f ? 0.0f : 1.0f / step;
}

// The index of the smallest of `count` candidates' errors (the first on ties; NaN never wins).
template <int count>
int smallest(const float* err) {
    int best = 0;
    for (int c = 1; c < count; ++c)
        if (err[c] < err[best]) best = c;
    return best;
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

// The four (sc, m) candidates for a Q4_K group, given its scale ((max - min) / 15) and offset
// (-min) and the block's d and dmin: each rounded toward zero and one up, clamped to 0..63, in the
// order (down, down), (down, up), (up, down), (up, up), with the step d * sc and shift dmin * m
// they decode with.
struct Q4KCandidates {
    int sc[4], m[4];
    float step[4], shift[4];
};

inline Q4KCandidates q4_k_candidates(float scale, float offset, float d, float dmin) {
    const float exact_sc = d == 0.0f ? 0.0f : scale / d;
    const float exact_m = dmin == 0.0f ? 0.0f : offset / dmin;
    const float sc_down = toward_zero_in(exact_sc, 0, 63);
    const float m_down = toward_zero_in(exact_m, 0, 63);
    Q4KCandidates c;
    for (int i = 0; i < 4; ++i) {
        c.sc[i] = nearest_in(sc_down + static_cast<float>(i / 2), 0, 63);
        c.m[i] = nearest_in(m_down + static_cast<float>(i % 2), 0, 63);
        c.step[i] = d * static_cast<float>(c.sc[i]);
        c.shift[i] = dmin * static_cast<float>(c.m[i]);
    }
    return c;
}

// A Q4_K block's eight 6-bit scales and mins into its 12 scale bytes (float_rows.h).
inline void pack_q4_k_scales(const int* sc, const int* m, uint8_t* bytes) {
    for (int j = 0; j < 4; ++j) {
        bytes[j] = static_cast<uint8_t>(sc[j] | (sc[j + 4] >> 4) << 6);
        bytes[j + 4] = static_cast<uint8_t>(m[j] | (m[j + 4] >> 4) << 6);
        bytes[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | (m[j + 4] & 0xF) << 4);
    }
}

}  // namespace tern::kernels
