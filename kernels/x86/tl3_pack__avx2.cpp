// AVX2 packing of trits into the tl3 layout (byte-identical to the portable packer): each row's
// group codes are computed 32 columns at a time, then gathered and transposed into the octets
// eight groups (one 64-bit word) at a time.
#include "kernels/x86/tl3_gemm__avx2.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace tern::kernels {

namespace {

// code[c] = |v| | (v < 0) << 4 with v = 9 t[c] + 3 t[c+1] + t[c+2], for c in [0, n) (n a multiple
// of 32; `t` readable up to n + 2). Only c = 3g is used: group g's index and sign.
void position_codes(const int8_t* t, int64_t n, uint8_t* code) {
    const __m256i sign_bit = _mm256_set1_epi8(16);
    for (int64_t c = 0; c < n; c += 32) {
        const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + c));
        const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + c + 1));
        const __m256i d = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + c + 2));
        const __m256i u = _mm256_add_epi8(_mm256_add_epi8(_mm256_add_epi8(a, a), a), b);  // 3a + b
        const __m256i v =
            _mm256_add_epi8(_mm256_add_epi8(_mm256_add_epi8(u, u), u), d);  // 9a + 3b + d
        const __m256i negative =
            _mm256_and_si256(_mm256_cmpgt_epi8(_mm256_setzero_si256(), v), sign_bit);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(code + c),
                            _mm256_or_si256(_mm256_abs_epi8(v), negative));
    }
}

// The codes of groups 0..7 of an octet (bytes 0, 3, ..., 21 of `code`), group g in byte g.
inline uint64_t octet_codes(const uint8_t* code) {
    const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(code));
    const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(code + 16));
    const __m128i from_lo =
        _mm_setr_epi8(0, 3, 6, 9, 12, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m128i from_hi =
        _mm_setr_epi8(-1, -1, -1, -1, -1, -1, 2, 5, -1, -1, -1, -1, -1, -1, -1, -1);
    return static_cast<uint64_t>(_mm_cvtsi128_si64(
        _mm_or_si128(_mm_shuffle_epi8(lo, from_lo), _mm_shuffle_epi8(hi, from_hi))));
}

}  // namespace

void pack_tiles__avx2(PackedTernary& m, int64_t tile_begin, int64_t tile_end, const int8_t* trits) {
    if (m.layout != TernaryLayout::tl3) {
        pack_row_tiles(m, tile_begin, tile_end, trits);
        return;
    }
    const int64_t padded_cols = m.col_units * kTl3OctetCols;
    const int64_t code_cols = (padded_cols + 31) / 32 * 32;
    // One row's trits, zero past m.cols, and its position codes; 32 spare bytes for the wide loads.
    std::vector<int8_t> row(static_cast<size_t>(code_cols + 32), 0);
    std::vector<uint8_t> code(static_cast<size_t>(code_cols + 32), 0);
    for (int64_t tile = tile_begin; tile < tile_end; ++tile) {
        const int8_t* tile_trits = trits + (tile - tile_begin) * kTl3RowTile * m.cols;
        uint8_t* octets = m.data.get() + tile * m.col_units * kTl3OctetBytes;
        int32_t* negatives = m.neg_count.data() + tile * kTl3RowTile;
        std::memset(
            octets, 0,
            static_cast<size_t>(m.col_units * kTl3OctetBytes));  // padding rows: zero weights
        std::fill(negatives, negatives + kTl3RowTile, 0);
        const int64_t live_rows = std::min<int64_t>(kTl3RowTile, m.rows - tile * kTl3RowTile);
        for (int64_t r = 0; r < live_rows; ++r) {
            std::memcpy(row.data(), tile_trits + r * m.cols, static_cast<size_t>(m.cols));
            position_codes(row.data(), code_cols, code.data());
            int32_t negative_groups = 0;
            for (int64_t o = 0; o < m.col_units; ++o) {
                const uint64_t x = octet_codes(code.data() + o * kTl3OctetCols);
                // Indices: group 2p in the low nibble and 2p+1 in the high nibble of byte 2p.
                const uint64_t index = x & 0x0F0F0F0F0F0F0F0Full;
                const uint64_t pairs = index | (index >> 4);
                // Signs: bit 4 of each byte, gathered into bits 0..7 (the multiply moves bit 8g to
                // 56+g).
                const uint64_t sign_bits = (x >> 4) & 0x0101010101010101ull;
                const auto signs = static_cast<uint8_t>((sign_bits * 0x0102040810204080ull) >> 56);
                uint8_t* out = octets + o * kTl3OctetBytes;
                for (int p = 0; p < 4; ++p)
                    out[p * 32 + r] = static_cast<uint8_t>(pairs >> (16 * p));
                out[128 + r] = signs;
                negative_groups += static_cast<int32_t>((sign_bits * 0x0101010101010101ull) >> 56);
            }
            negatives[r] = negative_groups;
        }
    }
}

}  // namespace tern::kernels
