// AVX2 construction of the tl3 lookup tables: two groups per step, 16 int16 entries per group
// from sign(a_j, digit_j) sums, split into low and high byte planes.
#include "kernels/tl3_tables.h"
#include "kernels/x86/tl3_gemm__avx2.h"

#include <immintrin.h>

namespace tern::kernels {

namespace {

// Digit vectors: lane i holds digit j of table index i (lanes 14, 15 are 0).
__m256i digit_vector(int j) {
    alignas(32) int16_t lanes[16] = {};
    for (int i = 0; i < 14; ++i) lanes[i] = kTl3Digits[i][j];
    return _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes));
}

inline __m256i group_entries(int a0, int a1, int a2, const __m256i* digits) {
    const __m256i v0 = _mm256_sign_epi16(_mm256_set1_epi16(static_cast<int16_t>(a0)), digits[0]);
    const __m256i v1 = _mm256_sign_epi16(_mm256_set1_epi16(static_cast<int16_t>(a1)), digits[1]);
    const __m256i v2 = _mm256_sign_epi16(_mm256_set1_epi16(static_cast<int16_t>(a2)), digits[2]);
    return _mm256_add_epi16(_mm256_add_epi16(v0, v1), v2);
}

}  // namespace

void build_tl3_tables__avx2(ActivationBatch& a, int64_t token_begin, int64_t token_end) {
    const __m256i digits[3] = {digit_vector(0), digit_vector(1), digit_vector(2)};
    const __m256i low_byte = _mm256_set1_epi16(0xFF);
    for (int64_t t = token_begin; t < token_end; ++t) {
        const int8_t* q = a.token_q(t);
        uint8_t* out = a.tables.get() + t * a.table_groups * 32;
        auto value = [&](int64_t c) { return c < a.stride ? static_cast<int>(q[c]) : 0; };
        for (int64_t g = 0; g < a.table_groups; g += 2) {  // table_groups is a multiple of 8
            const __m256i e0 =
                group_entries(value(3 * g), value(3 * g + 1), value(3 * g + 2), digits);
            const __m256i e1 =
                group_entries(value(3 * g + 3), value(3 * g + 4), value(3 * g + 5), digits);
            // packus per 128-bit lane gives [e0 0-7, e1 0-7 | e0 8-15, e1 8-15]; reorder quadwords.
            const __m256i lo = _mm256_permute4x64_epi64(
                _mm256_packus_epi16(_mm256_and_si256(e0, low_byte), _mm256_and_si256(e1, low_byte)),
                0xD8);
            const __m256i hi = _mm256_permute4x64_epi64(
                _mm256_packus_epi16(_mm256_srli_epi16(e0, 8), _mm256_srli_epi16(e1, 8)), 0xD8);
            _mm256_store_si256(reinterpret_cast<__m256i*>(out + g * 32),
                               _mm256_permute2x128_si256(lo, hi, 0x20));
            _mm256_store_si256(reinterpret_cast<__m256i*>(out + g * 32 + 32),
                               _mm256_permute2x128_si256(lo, hi, 0x31));
        }
    }
}

}  // namespace tern::kernels
