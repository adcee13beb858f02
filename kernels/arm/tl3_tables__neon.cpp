// NEON construction of the tl3 lookup tables: the 16 int16 entries of a group as two vectors of
// digit-weighted sums, narrowed to the low and high byte planes.
#include "kernels/arm/neon_kernels.h"
#include "kernels/tl3_tables.h"

#include <arm_neon.h>

namespace tern::kernels {

void build_tl3_tables__neon(ActivationBatch& a, int64_t token_begin, int64_t token_end) {
    int16_t digit_lanes[3][16] = {};
    for (int i = 0; i < 14; ++i) {
        for (int j = 0; j < 3; ++j) digit_lanes[j][i] = kTl3Digits[i][j];
    }
    int16x8_t d[3][2];
    for (int j = 0; j < 3; ++j) {
        d[j][0] = vld1q_s16(digit_lanes[j]);
        d[j][1] = vld1q_s16(digit_lanes[j] + 8);
    }
    for (int64_t t = token_begin; t < token_end; ++t) {
        const int8_t* q = a.token_q(t);
        uint8_t* out = a.tables.get() + t * a.table_groups * 32;
        for (int64_t g = 0; g < a.table_groups; ++g) {
            int16_t v[3];
            for (int j = 0; j < 3; ++j) {
                const int64_t c = 3 * g + j;
                v[j] = c < a.stride ? q[c] : 0;
            }
            for (int h = 0; h < 2; ++h) {
                int16x8_t e = vmulq_n_s16(d[0][h], v[0]);
                e = vmlaq_n_s16(e, d[1][h], v[1]);
                e = vmlaq_n_s16(e, d[2][h], v[2]);
                vst1_u8(out + g * 32 + 8 * h, vmovn_u16(vreinterpretq_u16_s16(e)));
                vst1_u8(out + g * 32 + 16 + 8 * h, vshrn_n_u16(vreinterpretq_u16_s16(e), 8));
            }
        }
    }
}

}  // namespace tern::kernels
