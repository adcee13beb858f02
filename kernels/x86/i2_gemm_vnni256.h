// The 256-bit VNNI i2 GEMM (a tile's four rows against three tokens, 12 accumulators), for the
// AVX-VNNI set (VEX VPDPBUSD); until 2026-12-03 the AVX-512 set ran it too, in the EVEX encoding,
// hence the Dot parameter. Included only by the file compiled for an ISA; Dot, a type local to
// that file (so the instantiations stay in it, never shared with code built for another ISA),
// supplies dpbusd(acc, u8 codes, s8).
#pragma once

#include "kernels/ternary_matmul.h"
#include "kernels/x86/i2_unpack__avx2.h"

#include <immintrin.h>

#include <algorithm>

namespace tern::kernels::vnni256 {

// The four rows of one tile against T tokens: per 32-column slice each row's codes are decoded
// once and multiplied into 4 x T independent accumulators, so VPDPBUSD (latency 4-5 cycles)
// never waits on its own previous result and the activation loads are shared by four rows.
template <class Dot, int S, int T>
inline void slice(const uint8_t* blocks, const int8_t* const* qb, __m256i (&acc)[kI2RowTile][T]) {
    const __m256i mask = _mm256_set1_epi8(3);
    __m256i a[T];
    for (int j = 0; j < T; ++j)
        a[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qb[j] + 32 * S));
    for (int r = 0; r < kI2RowTile; ++r) {
        const __m256i x =
            _mm256_load_si256(reinterpret_cast<const __m256i*>(blocks + r * kI2BlockBytes));
        const __m256i codes = _mm256_and_si256(_mm256_srli_epi16(x, 6 - 2 * S), mask);
        for (int j = 0; j < T; ++j) acc[r][j] = Dot::dpbusd(acc[r][j], codes, a[j]);
    }
}

template <class Dot, int T>
void tile_tokens(const MatmulArgs& args, int64_t tile, int64_t t0) {
    const PackedTernary& w = *args.w;
    const int8_t* q[T];
    __m256i acc[kI2RowTile][T];
    for (int j = 0; j < T; ++j) {
        q[j] = args.a->token_q(t0 + j);
        for (int r = 0; r < kI2RowTile; ++r) acc[r][j] = _mm256_setzero_si256();
    }
    // Row r's block b at row0 + b * kI2BlockStride + r * kI2BlockBytes: the tile is one stream.
    const uint8_t* row0 = i2_block(w, tile * kI2RowTile, 0);
    for (int64_t b = args.unit_begin; b < args.unit_end; ++b) {
        const uint8_t* blocks = row0 + b * kI2BlockStride;
        const int8_t* qb[T];
        for (int j = 0; j < T; ++j) qb[j] = q[j] + b * kI2ColBlock;
        slice<Dot, 0>(blocks, qb, acc);
        slice<Dot, 1>(blocks, qb, acc);
        slice<Dot, 2>(blocks, qb, acc);
        slice<Dot, 3>(blocks, qb, acc);
    }
    const int64_t first = tile * kI2RowTile;
    const int64_t n = std::min<int64_t>(kI2RowTile, w.rows - first);
    for (int j = 0; j < T; ++j) {
        const int32_t offset = i2_code_offset(args, t0 + j);
        int32_t* out = args.out + (t0 + j) * args.out_stride + first;
        for (int64_t r = 0; r < n; ++r) out[r] = avx2::hsum_epi32(acc[r][j]) - offset;
    }
}

// Every tile of args' range against every token, three tokens at a time.
template <class Dot>
void i2_gemm_4x32x3(const MatmulArgs& args) {
    for (int64_t tile = args.tile_begin; tile < args.tile_end; ++tile) {
        int64_t t = args.token_begin;
        for (; t + 3 <= args.token_end; t += 3) tile_tokens<Dot, 3>(args, tile, t);
        if (args.token_end - t == 2) tile_tokens<Dot, 2>(args, tile, t);
        if (args.token_end - t == 1) tile_tokens<Dot, 1>(args, tile, t);
    }
}

}  // namespace tern::kernels::vnni256
