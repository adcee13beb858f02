// Scalar construction of the tl3 lookup tables (the reference for the vectorised builders).
#include "kernels/tl3_tables.h"

namespace tern::kernels {

const int8_t kTl3Digits[14][3] = {
    {0, 0, 0},  {0, 0, 1},  {0, 1, -1}, {0, 1, 0}, {0, 1, 1},  {1, -1, -1}, {1, -1, 0},
    {1, -1, 1}, {1, 0, -1}, {1, 0, 0},  {1, 0, 1}, {1, 1, -1}, {1, 1, 0},   {1, 1, 1},
};

void tl3_group_table(int a0, int a1, int a2, uint8_t* out) {
    for (int i = 0; i < 16; ++i) {
        int value = 0;
        if (i < 14) value = kTl3Digits[i][0] * a0 + kTl3Digits[i][1] * a1 + kTl3Digits[i][2] * a2;
        const auto bits = static_cast<uint16_t>(static_cast<int16_t>(value));
        out[i] = static_cast<uint8_t>(bits & 0xFF);
        out[16 + i] = static_cast<uint8_t>(bits >> 8);
    }
}

void build_tl3_tables_scalar(ActivationBatch& a, int64_t token_begin, int64_t token_end) {
    for (int64_t t = token_begin; t < token_end; ++t) {
        const int8_t* q = a.token_q(t);
        uint8_t* tables = a.tables.get() + t * a.table_groups * 32;
        for (int64_t g = 0; g < a.table_groups; ++g) {
            int v[3];
            for (int j = 0; j < 3; ++j) {
                const int64_t c = 3 * g + j;
                v[j] = c < a.stride ? q[c] : 0;
            }
            tl3_group_table(v[0], v[1], v[2], tables + g * 32);
        }
    }
}

}  // namespace tern::kernels
