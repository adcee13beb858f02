// AVX-VNNI i2 kernels: GEMV (4 rows per step, shared activation loads) and GEMM (one row's
// unpacked block against 8 tokens). Compiled with -mavxvnni; chosen only when the CPU has it.
#include "kernels/x86/i2_gemm__avxvnni.h"
#include "kernels/x86/i2_unpack__avx2.h"

#include <algorithm>

namespace tern::kernels {

using namespace avx2;

namespace {

constexpr int64_t kPrefetchBytes = 4096;

// Adds sum over 128 columns of code * q into the int32 lanes of acc.
inline __m256i block_dot(__m256i acc, const I2Codes& codes, const int8_t* q) {
    const auto* a = reinterpret_cast<const __m256i*>(q);
    acc = _mm256_dpbusd_avx_epi32(acc, codes.c[0], _mm256_loadu_si256(a));
    acc = _mm256_dpbusd_avx_epi32(acc, codes.c[1], _mm256_loadu_si256(a + 1));
    acc = _mm256_dpbusd_avx_epi32(acc, codes.c[2], _mm256_loadu_si256(a + 2));
    return _mm256_dpbusd_avx_epi32(acc, codes.c[3], _mm256_loadu_si256(a + 3));
}

int32_t offset_of(const MatmulArgs& args, int64_t t) {
    const int32_t* block_sums = args.a->token_block_sums(t);
    int32_t offset = 0;
    for (int64_t b = args.unit_begin; b < args.unit_end; ++b) offset += block_sums[b];
    return offset;
}

template <int T>
void row_tokens(const MatmulArgs& args, int64_t tile, int64_t r, int64_t t0) {
    const PackedTernary& w = *args.w;
    const int8_t* q[T];
    __m256i acc[T];
    for (int j = 0; j < T; ++j) {
        q[j] = args.a->token_q(t0 + j);
        acc[j] = _mm256_setzero_si256();
    }
    const uint8_t* row = w.data.get() + (tile * w.col_units * kI2RowTile + r) * kI2BlockBytes;
    for (int64_t b = args.unit_begin; b < args.unit_end; ++b) {
        const I2Codes codes = unpack_i2_block(row + b * kI2RowTile * kI2BlockBytes);
        for (int j = 0; j < T; ++j) acc[j] = block_dot(acc[j], codes, q[j] + b * kI2ColBlock);
    }
    for (int j = 0; j < T; ++j) {
        args.out[(t0 + j) * args.out_stride + tile * kI2RowTile + r] = hsum_epi32(acc[j]) - offset_of(args, t0 + j);
    }
}

}  // namespace

void i2_gemv_4x128__avxvnni(const MatmulArgs& args) {
    const PackedTernary& w = *args.w;
    for (int64_t t = args.token_begin; t < args.token_end; ++t) {
        const int8_t* q = args.a->token_q(t);
        const int32_t offset = offset_of(args, t);
        for (int64_t tile = args.tile_begin; tile < args.tile_end; ++tile) {
            __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                              _mm256_setzero_si256()};
            const uint8_t* base = w.data.get() + tile * w.col_units * kI2RowTile * kI2BlockBytes;
            for (int64_t b = args.unit_begin; b < args.unit_end; ++b) {
                const uint8_t* rows = base + b * kI2RowTile * kI2BlockBytes;
                _mm_prefetch(reinterpret_cast<const char*>(rows + kPrefetchBytes), _MM_HINT_NTA);
                _mm_prefetch(reinterpret_cast<const char*>(rows + kPrefetchBytes + 64), _MM_HINT_NTA);
                const int8_t* qb = q + b * kI2ColBlock;
                for (int r = 0; r < 4; ++r) acc[r] = block_dot(acc[r], unpack_i2_block(rows + r * 32), qb);
            }
            const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(acc[0], acc[1]), _mm256_hadd_epi32(acc[2], acc[3]));
            const __m128i sums = _mm_sub_epi32(_mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1)),
                                               _mm_set1_epi32(offset));
            alignas(16) int32_t rows_out[4];
            _mm_store_si128(reinterpret_cast<__m128i*>(rows_out), sums);
            const int64_t first = tile * kI2RowTile;
            const int64_t n = std::min<int64_t>(kI2RowTile, w.rows - first);
            for (int64_t r = 0; r < n; ++r) args.out[t * args.out_stride + first + r] = rows_out[r];
        }
    }
}

void i2_gemm_1x128x8__avxvnni(const MatmulArgs& args) {
    const PackedTernary& w = *args.w;
    for (int64_t tile = args.tile_begin; tile < args.tile_end; ++tile) {
        for (int64_t r = 0; r < kI2RowTile && tile * kI2RowTile + r < w.rows; ++r) {
            int64_t t = args.token_begin;
            for (; t + 8 <= args.token_end; t += 8) row_tokens<8>(args, tile, r, t);
            for (; t + 4 <= args.token_end; t += 4) row_tokens<4>(args, tile, r, t);
            for (; t < args.token_end; ++t) row_tokens<1>(args, tile, r, t);
        }
    }
}

}  // namespace tern::kernels
