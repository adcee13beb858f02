// Round half to even with a clamp, in plain float operations (no libm calls), for the quantizers.
#pragma once

namespace tern::kernels {

// v clamped to [lo, hi], NaN giving lo (the comparisons compile to maxss / minss).
inline float clamp_to(float v, float lo, float hi) {
    v = v > lo ? v : lo;
    return v < hi ? v : hi;
}

// round_half_even(v) clamped to [lo, hi] as an int, NaN giving lo: nearbyint's result under the
// default rounding mode, without the libm calls (fmin, fmax, nearbyint) that made the load-time
// quantizers take seconds. Adding and subtracting 1.5 * 2^23 rounds any |v| <= 2^22 to an
// integer. lo and hi must lie within +-2^22.
inline int nearest_in(float v, float lo, float hi) {
    constexpr float kRound = 12582912.0f;
    return static_cast<int>((clamp_to(v, lo, hi) + kRound) - kRound);
}

}  // namespace tern::kernels
