// AVX-VNNI i2 kernels: GEMV (4 rows per step, shared activation loads) and GEMM (a tile's four
// rows against three tokens, 12 accumulators). Compiled with -mavxvnni; chosen only when the CPU
// has it.
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

// The four rows of one tile against T tokens: per 32-column slice each row's codes are decoded
// once and multiplied into 4 x T independent accumulators, so VPDPBUSD (latency 4-5 cycles)
// never waits on its own previous result and the activation loads are shared by four rows.
template <int S, int T>
inline void slice(const uint8_t* rows, const int8_t* const* qb, __m256i (&acc)[kI2RowTile][T]) {
    const __m256i mask = _mm256_set1_epi8(3);
    __m256i a[T];
    for (int j = 0; j < T; ++j)
        a[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qb[j] + 32 * S));
    for (int r = 0; r < kI2RowTile; ++r) {
        const __m256i x =
            _mm256_load_si256(reinterpret_cast<const __m256i*>(rows + r * kI2BlockBytes));
        const __m256i codes = _mm256_and_si256(_mm256_srli_epi16(x, 6 - 2 * S), mask);
        for (int j = 0; j < T; ++j) acc[r][j] = _mm256_dpbusd_avx_epi32(acc[r][j], codes, a[j]);
    }
}

template <int T>
void tile_tokens(const MatmulArgs& args, int64_t tile, int64_t t0) {
    const PackedTernary& w = *args.w;
    const int8_t* q[T];
    __m256i acc[kI2RowTile][T];
    for (int j = 0; j < T; ++j) {
        q[j] = args.a->token_q(t0 + j);
        for (int r = 0; r < kI2RowTile; ++r) acc[r][j] = _mm256_setzero_si256();
    }
    const uint8_t* base = w.data.get() + tile * w.col_units * kI2RowTile * kI2BlockBytes;
    for (int64_t b = args.unit_begin; b < args.unit_end; ++b) {
        const uint8_t* rows = base + b * kI2RowTile * kI2BlockBytes;
        const int8_t* qb[T];
        for (int j = 0; j < T; ++j) qb[j] = q[j] + b * kI2ColBlock;
        slice<0>(rows, qb, acc);
        slice<1>(rows, qb, acc);
        slice<2>(rows, qb, acc);
        slice<3>(rows, qb, acc);
    }
    const int64_t first = tile * kI2RowTile;
    const int64_t n = std::min<int64_t>(kI2RowTile, w.rows - first);
    for (int j = 0; j < T; ++j) {
        const int32_t offset = offset_of(args, t0 + j);
        int32_t* out = args.out + (t0 + j) * args.out_stride + first;
        for (int64_t r = 0; r < n; ++r) out[r] = hsum_epi32(acc[r][j]) - offset;
    }
}
}  // namespace

void i2_gemv_4x128__avxvnni(const MatmulArgs& args) {
    const PackedTernary& w = *args.w;
    for (int64_t t = args.token_begin; t < args.token_end; ++t) {
        const int8_t* q = args.a->token_q(t);
        const int32_t offset = offset_of(args, t);
        for (int64_t tile = args.tile_begin; tile < args.tile_end; ++tile) {
            __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(),
                              _mm256_setzero_si256(), _mm256_setzero_si256()};
            const uint8_t* base = w.data.get() + tile * w.col_units * kI2RowTile * kI2BlockBytes;
            for (int64_t b = args.unit_begin; b < args.unit_end; ++b) {
                const uint8_t* rows = base + b * kI2RowTile * kI2BlockBytes;
                _mm_prefetch(reinterpret_cast<const char*>(rows + kPrefetchBytes), _MM_HINT_NTA);
                _mm_prefetch(reinterpret_cast<const char*>(rows + kPrefetchBytes + 64),
                             _MM_HINT_NTA);
                const int8_t* qb = q + b * kI2ColBlock;
                for (int r = 0; r < 4; ++r)
                    acc[r] = block_dot(acc[r], unpack_i2_block(rows + r * 32), qb);
            }
            const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(acc[0], acc[1]),
                                                _mm256_hadd_epi32(acc[2], acc[3]));
            const __m128i sums = _mm_sub_epi32(
                _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1)),
                _mm_set1_epi32(offset));
            alignas(16) int32_t rows_out[4];
            _mm_store_si128(reinterpret_cast<__m128i*>(rows_out), sums);
            const int64_t first = tile * kI2RowTile;
            const int64_t n = std::min<int64_t>(kI2RowTile, w.rows - first);
            for (int64_t r = 0; r < n; ++r) args.out[t * args.out_stride + first + r] = rows_out[r];
        }
    }
}

void i2_gemm_4x32x3__avxvnni(const MatmulArgs& args) {
    for (int64_t tile = args.tile_begin; tile < args.tile_end; ++tile) {
        int64_t t = args.token_begin;
        for (; t + 3 <= args.token_end; t += 3) tile_tokens<3>(args, tile, t);
        if (args.token_end - t == 2) tile_tokens<2>(args, tile, t);
        if (args.token_end - t == 1) tile_tokens<1>(args, tile, t);
    }
}

}  // namespace tern::kernels
