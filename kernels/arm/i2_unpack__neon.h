// Shared NEON helpers of the i2 kernels: trits of a 128-column block in eight 16-lane vectors.
#pragma once

#include <arm_neon.h>

#include <cstdint>

namespace tern::kernels::neon {

// Trits (code - 1) of columns [16v, 16v + 16) of a 128-column block, v = 0..7: code q of byte j
// (shift 6 - 2q) is column 32q + j, so vectors 2q and 2q+1 come from bytes 0-15 and 16-31.
struct I2Trits {
    int8x16_t t[8];
};

inline I2Trits unpack_i2_block(const uint8_t* bytes) {
    const uint8x16_t mask = vdupq_n_u8(3), one = vdupq_n_u8(1);
    const uint8x16_t x0 = vld1q_u8(bytes), x1 = vld1q_u8(bytes + 16);
    I2Trits r;
    r.t[0] = vreinterpretq_s8_u8(vsubq_u8(vshrq_n_u8(x0, 6), one));
    r.t[1] = vreinterpretq_s8_u8(vsubq_u8(vshrq_n_u8(x1, 6), one));
    r.t[2] = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(vshrq_n_u8(x0, 4), mask), one));
    r.t[3] = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(vshrq_n_u8(x1, 4), mask), one));
    r.t[4] = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(vshrq_n_u8(x0, 2), mask), one));
    r.t[5] = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(vshrq_n_u8(x1, 2), mask), one));
    r.t[6] = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(x0, mask), one));
    r.t[7] = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(x1, mask), one));
    return r;
}

}  // namespace tern::kernels::neon
