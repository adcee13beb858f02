// AVX-VNNI i2 kernels: GEMV (one row pair at a time, one sequential weight stream) and GEMM (a
// tile's four rows against three tokens, 12 accumulators). Compiled with -mavxvnni; chosen only
// when the CPU has it.
#include "kernels/x86/i2_gemm__avxvnni.h"
#include "kernels/x86/i2_unpack__avx2.h"
#include "kernels/x86/stream_prefetch.h"

#include <algorithm>

namespace tern::kernels {

using namespace avx2;

namespace {

// acc += VPDPBUSD(codes as u8, 32 int8 activations), the activations shared by the rows of a
// pair (GEMV) or a tile (GEMM). GCC 12 compiles the intrinsic with a register copy of the
// accumulator around every call and spills loop constants to the stack: the GEMV ran at 19 GB/s
// against 26 GB/s for this form on the same machine. The inline assembly ties the accumulator to
// its register.
inline __m256i dpbusd(__m256i acc, __m256i codes, __m256i activations) {
#if defined(__GNUC__) && !defined(__clang__)
    asm("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(codes), "xm"(activations));
    return acc;
#else
    return _mm256_dpbusd_avx_epi32(acc, codes, activations);
#endif
}

// The four rows of one tile against T tokens: per 32-column slice each row's codes are decoded
// once and multiplied into 4 x T independent accumulators, so VPDPBUSD (latency 4-5 cycles)
// never waits on its own previous result and the activation loads are shared by four rows.
template <int S, int T>
inline void slice(const uint8_t* blocks, int64_t pair_bytes, const int8_t* const* qb,
                  __m256i (&acc)[kI2RowTile][T]) {
    const __m256i mask = _mm256_set1_epi8(3);
    __m256i a[T];
    for (int j = 0; j < T; ++j)
        a[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qb[j] + 32 * S));
    for (int r = 0; r < kI2RowTile; ++r) {
        const __m256i x = _mm256_load_si256(
            reinterpret_cast<const __m256i*>(blocks + i2_row_offset(pair_bytes, r)));
        const __m256i codes = _mm256_and_si256(_mm256_srli_epi16(x, 6 - 2 * S), mask);
        for (int j = 0; j < T; ++j) acc[r][j] = dpbusd(acc[r][j], codes, a[j]);
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
    // Row r's block b at row0 + b * kI2BlockStride + i2_row_offset(pair_bytes, r): the tile's two
    // pairs, each one stream.
    const uint8_t* row0 = i2_block(w, tile * kI2RowTile, 0);
    const int64_t pair_bytes = i2_pair_bytes(w);
    for (int64_t b = args.unit_begin; b < args.unit_end; ++b) {
        const uint8_t* blocks = row0 + b * kI2BlockStride;
        const int8_t* qb[T];
        for (int j = 0; j < T; ++j) qb[j] = q[j] + b * kI2ColBlock;
        slice<0>(blocks, pair_bytes, qb, acc);
        slice<1>(blocks, pair_bytes, qb, acc);
        slice<2>(blocks, pair_bytes, qb, acc);
        slice<3>(blocks, pair_bytes, qb, acc);
    }
    const int64_t first = tile * kI2RowTile;
    const int64_t n = std::min<int64_t>(kI2RowTile, w.rows - first);
    for (int j = 0; j < T; ++j) {
        const int32_t offset = i2_code_offset(args, t0 + j);
        int32_t* out = args.out + (t0 + j) * args.out_stride + first;
        for (int64_t r = 0; r < n; ++r) out[r] = hsum_epi32(acc[r][j]) - offset;
    }
}
}  // namespace

void i2_gemv_1x128__avxvnni(const MatmulArgs& args) {
    const PackedTernary& w = *args.w;
    // Slice q of a block is its bytes masked to bits 6-2q..7-2q: the codes times 4^(3-q), so no
    // shifts are needed; slice q's accumulators hold 4^(3-q) times its dot product (exact: at
    // most 4 * 128 * 128 per lane and block) and are shifted back at the end of the row.
    const __m256i masks[4] = {_mm256_set1_epi8(static_cast<char>(0xC0)), _mm256_set1_epi8(0x30),
                              _mm256_set1_epi8(0x0C), _mm256_set1_epi8(0x03)};
    const I2GemvRows rows = i2_gemv_rows(args);
    const int64_t row_begin = rows.begin, row_end = rows.end;
    const uint8_t* stream_end = rows.stream_end;
    if (row_begin >= row_end) return;
    for (int64_t t = args.token_begin; t < args.token_end; ++t) {
        const int8_t* q = args.a->token_q(t);
        const int32_t offset = i2_code_offset(args, t);
        // Tiles start on even rows, so every pair lies within the rows padded to a tile; the
        // second row of the last pair may be padding (zero weights) and is not written.
        for (int64_t row = row_begin; row < row_end; row += kI2PairRows) {
            // acc[r][s]: row r of the pair, slice s. Each slice of activations is loaded once for
            // both rows; eight independent accumulators keep VPDPBUSD (latency 4-5 cycles, two
            // per cycle) from waiting on its own previous result.
            __m256i acc[kI2PairRows][4];
            for (auto& r : acc)
                for (auto& a : r) a = _mm256_setzero_si256();
            const uint8_t* pair = i2_block(w, row, 0);  // row's block b at + b * kI2BlockStride,
                                                        // the next row's 32 bytes later
            for (int64_t b = args.unit_begin; b < args.unit_end; ++b) {
                const uint8_t* blocks = pair + b * kI2BlockStride;
                prefetch_stream(blocks, stream_end);
                const __m256i x0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(blocks));
                const __m256i x1 =
                    _mm256_load_si256(reinterpret_cast<const __m256i*>(blocks + kI2BlockBytes));
                const int8_t* a = q + b * kI2ColBlock;
                for (int s = 0; s < 4; ++s) {
                    const __m256i as =
                        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + 32 * s));
                    acc[0][s] = dpbusd(acc[0][s], _mm256_and_si256(x0, masks[s]), as);
                    acc[1][s] = dpbusd(acc[1][s], _mm256_and_si256(x1, masks[s]), as);
                }
            }
            for (int r = 0; r < kI2PairRows && row + r < row_end; ++r) {
                __m256i sum = _mm256_setzero_si256();
                for (int s = 0; s < 4; ++s)
                    sum = _mm256_add_epi32(sum, _mm256_srai_epi32(acc[r][s], 6 - 2 * s));
                args.out[t * args.out_stride + row + r] = hsum_epi32(sum) - offset;
            }
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
