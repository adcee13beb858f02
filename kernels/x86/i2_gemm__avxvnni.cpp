// AVX-VNNI i2 kernels: GEMV (one row at a time, one sequential weight stream) and GEMM (a tile's
// four rows against three tokens, 12 accumulators). Compiled with -mavxvnni; chosen only when the
// CPU has it.
#include "kernels/x86/i2_gemm__avxvnni.h"
#include "kernels/x86/i2_unpack__avx2.h"
#include "kernels/x86/stream_prefetch.h"

#include <algorithm>

namespace tern::kernels {

using namespace avx2;

namespace {

// acc += VPDPBUSD(codes as u8, the 32 int8 activations at `activations`). GCC 12 compiles the
// intrinsic with a register copy of the accumulator around every call and spills loop constants
// to the stack: the GEMV ran at 19 GB/s against 26 GB/s for this form on the same machine. The
// inline assembly ties the accumulator to its register and folds the activation load.
inline __m256i dpbusd(__m256i acc, __m256i codes, const int8_t* activations) {
#if defined(__GNUC__) && !defined(__clang__)
    asm("%{vex%} vpdpbusd %2, %1, %0"
        : "+x"(acc)
        : "x"(codes), "m"(*reinterpret_cast<const __m256i_u*>(activations)));
    return acc;
#else
    return _mm256_dpbusd_avx_epi32(
        acc, codes, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(activations)));
#endif
}

// The same with the activations already in a register (the GEMM shares them across rows).
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
inline void slice(const uint8_t* blocks, int64_t row_bytes, const int8_t* const* qb,
                  __m256i (&acc)[kI2RowTile][T]) {
    const __m256i mask = _mm256_set1_epi8(3);
    __m256i a[T];
    for (int j = 0; j < T; ++j)
        a[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qb[j] + 32 * S));
    for (int r = 0; r < kI2RowTile; ++r) {
        const __m256i x =
            _mm256_load_si256(reinterpret_cast<const __m256i*>(blocks + r * row_bytes));
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
    const uint8_t* row0 = i2_block(w, tile * kI2RowTile, 0);
    const int64_t row_bytes = w.col_units * kI2BlockBytes;
    for (int64_t b = args.unit_begin; b < args.unit_end; ++b) {
        const uint8_t* blocks = row0 + b * kI2BlockBytes;  // row r's block at + r * row_bytes
        const int8_t* qb[T];
        for (int j = 0; j < T; ++j) qb[j] = q[j] + b * kI2ColBlock;
        slice<0>(blocks, row_bytes, qb, acc);
        slice<1>(blocks, row_bytes, qb, acc);
        slice<2>(blocks, row_bytes, qb, acc);
        slice<3>(blocks, row_bytes, qb, acc);
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
    const int64_t row_begin = args.tile_begin * kI2RowTile;
    const int64_t row_end = std::min(w.rows, args.tile_end * kI2RowTile);
    if (row_begin >= row_end) return;
    // Rows are contiguous, so the call's rows are one stream (with a column range, one with
    // gaps), prefetched no further than the last row's last block.
    const uint8_t* stream_end = i2_block(w, row_end - 1, args.unit_end);
    for (int64_t t = args.token_begin; t < args.token_end; ++t) {
        const int8_t* q = args.a->token_q(t);
        const int32_t offset = i2_code_offset(args, t);
        for (int64_t row = row_begin; row < row_end; ++row) {
            // One row at a time: the weights are read as one sequential stream. Two blocks per
            // step into eight accumulators [block parity][slice], so VPDPBUSD (latency 4-5
            // cycles, two per cycle) never waits on its own previous result.
            __m256i acc[2][4];
            for (auto& parity : acc)
                for (auto& a : parity) a = _mm256_setzero_si256();
            const uint8_t* blocks = i2_block(w, row, 0);
            const auto block_step = [&](int64_t b, __m256i(&into)[4]) {
                const __m256i x =
                    _mm256_load_si256(reinterpret_cast<const __m256i*>(blocks + b * kI2BlockBytes));
                const int8_t* a = q + b * kI2ColBlock;
                for (int s = 0; s < 4; ++s)
                    into[s] = dpbusd(into[s], _mm256_and_si256(x, masks[s]), a + 32 * s);
            };
            int64_t b = args.unit_begin;
            for (; b + 2 <= args.unit_end; b += 2) {
                prefetch_stream(blocks + b * kI2BlockBytes, stream_end);
                block_step(b, acc[0]);
                block_step(b + 1, acc[1]);
            }
            if (b < args.unit_end) block_step(b, acc[0]);
            __m256i sum = _mm256_setzero_si256();
            for (int s = 0; s < 4; ++s)
                sum = _mm256_add_epi32(
                    sum, _mm256_srai_epi32(_mm256_add_epi32(acc[0][s], acc[1][s]), 6 - 2 * s));
            args.out[t * args.out_stride + row] = hsum_epi32(sum) - offset;
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
