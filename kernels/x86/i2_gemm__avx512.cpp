// AVX-512 VNNI i2 GEMM for prompts: a row tile's four rows against six tokens, a row pair per
// 512-bit register (as the AVX-512 GEMV). Compiled with -mavx512f -mavx512vl -mavx512vnni; chosen
// only when the CPU has all three.
#include "kernels/x86/avx512_gcc_warnings.h"  // first: before any intrinsics header

#include "kernels/x86/i2_gemm__avx512.h"
#include "kernels/x86/i2_unpack__avx2.h"
#include "kernels/x86/vnni__avx512.h"

#include <immintrin.h>

namespace tern::kernels {

namespace {

using avx512::broadcast_slice;
using avx512::dpbusd;

// Slice S (columns [32S, 32S + 32)) of one block of a tile, against T tokens: each pair's
// 64 bytes (x[p]: rows 2p and 2p + 1 side by side) shifted and masked to its codes once, each
// token's 32 activations broadcast to both halves once and multiplied into both pairs. The
// 32-bit shift (AVX-512F; the 16-bit one needs BW) moves other bytes' bits only into bits the
// mask clears.
template <int S, int T>
[[gnu::always_inline]] inline void slice(const __m512i (&x)[2], const int8_t* const* qb,
                                         __m512i (&acc)[2][T]) {
    const __m512i mask = _mm512_set1_epi8(3);
    __m512i codes[2];
    for (int p = 0; p < 2; ++p)
        codes[p] = _mm512_and_si512(_mm512_srli_epi32(x[p], 6 - 2 * S), mask);
    for (int j = 0; j < T; ++j) {
        const __m512i a = broadcast_slice(qb[j] + 32 * S);
        acc[0][j] = dpbusd(acc[0][j], codes[0], a);
        acc[1][j] = dpbusd(acc[1][j], codes[1], a);
    }
}

// The tile's four rows against tokens [t0, t0 + T): 2 x T accumulators (lanes 0-7 / 8-15 of
// acc[p][j] are row 2p / 2p + 1 against token j). Per block: two weight loads, 16 shifts and
// masks, 4T broadcasts and 8T 512-bit VPDPBUSD (64 x 8T multiply-adds).
template <int T>
void tile_tokens(const MatmulArgs& args, int64_t tile, int64_t t0) {
    const PackedTernary& w = *args.w;
    const int8_t* q[T];
    __m512i acc[2][T];
    for (int j = 0; j < T; ++j) {
        q[j] = args.a->token_q(t0 + j);
        acc[0][j] = acc[1][j] = _mm512_setzero_si512();
    }
    // Block b of the tile: 128 bytes at row0 + b * kI2BlockStride, pair p's 64 at + 64 p.
    const uint8_t* row0 = i2_block(w, tile * kI2RowTile, 0);
    for (int64_t b = args.unit_begin; b < args.unit_end; ++b) {
        const uint8_t* blocks = row0 + b * kI2BlockStride;
        const __m512i x[2] = {_mm512_loadu_si512(blocks), _mm512_loadu_si512(blocks + 64)};
        const int8_t* qb[T];
        for (int j = 0; j < T; ++j) qb[j] = q[j] + b * kI2ColBlock;
        slice<0>(x, qb, acc);
        slice<1>(x, qb, acc);
        slice<2>(x, qb, acc);
        slice<3>(x, qb, acc);
    }
    const int64_t first = tile * kI2RowTile;
    for (int j = 0; j < T; ++j)
        avx2::store_tile_sums(_mm512_castsi512_si256(acc[0][j]),
                              _mm512_extracti64x4_epi64(acc[0][j], 1),
                              _mm512_castsi512_si256(acc[1][j]),
                              _mm512_extracti64x4_epi64(acc[1][j], 1), i2_code_offset(args, t0 + j),
                              args.out + (t0 + j) * args.out_stride + first, w.rows - first);
}

}  // namespace

void i2_gemm_4x32x6__avx512(const MatmulArgs& args) {
    constexpr int kTokens = 6;
    for (int64_t tile = args.tile_begin; tile < args.tile_end; ++tile) {
        int64_t t = args.token_begin;
        for (; t + kTokens <= args.token_end; t += kTokens) tile_tokens<kTokens>(args, tile, t);
        switch (args.token_end - t) {
            case 5:
                tile_tokens<5>(args, tile, t);
                break;
            case 4:
                tile_tokens<4>(args, tile, t);
                break;
            case 3:
                tile_tokens<3>(args, tile, t);
                break;
            case 2:
                tile_tokens<2>(args, tile, t);
                break;
            case 1:
                tile_tokens<1>(args, tile, t);
                break;
            default:
                break;
        }
    }
}

}  // namespace tern::kernels
