// Scalar reference ternary matmul over the plain 2-bit reference layout.
#include "kernels/ternary_ref.h"

#include <cstring>

namespace tern::kernels {

int64_t ternary_ref_row_bytes(int64_t k) {
    return (k + 127) / 128 * 32;
}

void ternary_ref_pack_row(const int8_t* trits, int64_t k, uint8_t* row) {
    const int64_t bytes = ternary_ref_row_bytes(k);
    std::memset(row, 0x55, static_cast<size_t>(bytes));  // 0b01 everywhere: weight 0
    for (int64_t c = 0; c < k; ++c) {
        const int shift = 2 * static_cast<int>(c % 4);
        const auto code = static_cast<uint8_t>(trits[c] + 1);
        row[c / 4] = static_cast<uint8_t>((row[c / 4] & ~(3 << shift)) | (code << shift));
    }
}

void ternary_gemm_ref(const uint8_t* codes, int64_t row_bytes, int64_t m_rows, int64_t k,
                      const int8_t* act, int64_t act_stride, int64_t n_tokens, int32_t* out,
                      int64_t out_stride) {
    for (int64_t n = 0; n < n_tokens; ++n) {
        const int8_t* a = act + n * act_stride;
        for (int64_t m = 0; m < m_rows; ++m) {
            const uint8_t* row = codes + m * row_bytes;
            int32_t sum = 0;
            for (int64_t c = 0; c < k; ++c) {
                const int t = ((row[c / 4] >> (2 * (c % 4))) & 3) - 1;
                sum += t * a[c];
            }
            out[n * out_stride + m] = sum;
        }
    }
}

}  // namespace tern::kernels
