// AVX2 i2 GEMM: each row's 128-column block is unpacked once and dotted with 8 tokens.
#include "kernels/x86/i2_gemm__avx2.h"
#include "kernels/x86/i2_unpack__avx2.h"

#include <algorithm>

namespace tern::kernels {

using namespace avx2;

namespace {

constexpr int kTokenTile = 8;

// Rows of one i2 tile against tokens [t0, t0 + T).
template <int T>
void row_tokens(const MatmulArgs& args, int64_t tile, int64_t r, int64_t t0) {
    const PackedTernary& w = *args.w;
    const __m256i ones = _mm256_set1_epi16(1);
    const int8_t* q[T];
    __m256i acc32[T];
    for (int j = 0; j < T; ++j) {
        q[j] = args.a->token_q(t0 + j);
        acc32[j] = _mm256_setzero_si256();
    }
    const uint8_t* row = i2_block(w, tile * kI2RowTile + r, 0);
    for (int64_t b = args.unit_begin; b < args.unit_end;) {
        const int64_t chunk_end = std::min(args.unit_end, b + kI2BlocksPerWiden);
        __m256i acc16[T];
        for (int j = 0; j < T; ++j) acc16[j] = _mm256_setzero_si256();
        for (; b < chunk_end; ++b) {
            const I2Codes codes = unpack_i2_block(row + b * kI2BlockStride);
            for (int j = 0; j < T; ++j)
                acc16[j] = _mm256_add_epi16(acc16[j], i2_block_dot(codes, q[j] + b * kI2ColBlock));
        }
        for (int j = 0; j < T; ++j)
            acc32[j] = _mm256_add_epi32(acc32[j], _mm256_madd_epi16(acc16[j], ones));
    }
    const int64_t out_row = tile * kI2RowTile + r;
    for (int j = 0; j < T; ++j) {
        args.out[(t0 + j) * args.out_stride + out_row] =
            hsum_epi32(acc32[j]) - i2_code_offset(args, t0 + j);
    }
}

}  // namespace

void i2_gemm_1x128x8__avx2(const MatmulArgs& args) {
    const PackedTernary& w = *args.w;
    for (int64_t tile = args.tile_begin; tile < args.tile_end; ++tile) {
        for (int64_t r = 0; r < kI2RowTile && tile * kI2RowTile + r < w.rows; ++r) {
            int64_t t = args.token_begin;
            for (; t + kTokenTile <= args.token_end; t += kTokenTile)
                row_tokens<kTokenTile>(args, tile, r, t);
            for (; t + 4 <= args.token_end; t += 4) row_tokens<4>(args, tile, r, t);
            for (; t < args.token_end; ++t) row_tokens<1>(args, tile, r, t);
        }
    }
}

}  // namespace tern::kernels
