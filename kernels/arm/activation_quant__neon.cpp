// NEON per-token int8 activation quantisation, bit-identical to the scalar reference: the same
// float multiply, round to nearest with ties to even (FCVTNS), clamp, and the same scale.
#include "kernels/arm/neon_kernels.h"

#include <arm_neon.h>

#include <algorithm>
#include <cmath>

namespace tern::kernels {

QuantizedRowInfo quantize_row_i8__neon(const float* x, int64_t n, int8_t* q) {
    float32x4_t vmax = vdupq_n_f32(0.0f);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vmax = vmaxq_f32(vmax, vabsq_f32(vld1q_f32(x + i)));
    float amax = vmaxvq_f32(vmax);
    for (; i < n; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float scale = 127.0f / std::max(amax, 1e-5f);

    const float32x4_t vscale = vdupq_n_f32(scale);
    const int32x4_t lo = vdupq_n_s32(-128), hi = vdupq_n_s32(127);
    int32x4_t vsum = vdupq_n_s32(0);
    i = 0;
    for (; i + 16 <= n; i += 16) {
        int32x4_t v[4];
        for (int j = 0; j < 4; ++j) {
            v[j] = vminq_s32(
                vmaxq_s32(vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + i + 4 * j), vscale)), lo), hi);
            vsum = vaddq_s32(vsum, v[j]);
        }
        const int16x8_t h0 = vcombine_s16(vmovn_s32(v[0]), vmovn_s32(v[1]));
        const int16x8_t h1 = vcombine_s16(vmovn_s32(v[2]), vmovn_s32(v[3]));
        vst1q_s8(q + i, vcombine_s8(vmovn_s16(h0), vmovn_s16(h1)));
    }
    int32_t sum = vaddvq_s32(vsum);
    for (; i < n; ++i) {
        const float r = std::nearbyint(x[i] * scale);
        const auto v = static_cast<int32_t>(std::clamp(r, -128.0f, 127.0f));
        q[i] = static_cast<int8_t>(v);
        sum += v;
    }
    return {scale, sum};
}

}  // namespace tern::kernels
