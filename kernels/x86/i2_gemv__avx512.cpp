// AVX-512 VNNI i2 GEMV: a row tile's four rows at once, a pair of rows per 512-bit register (lanes
// 0-7 the pair's first row, 8-15 its second), one sequential weight stream. Compiled with
// -mavx512f -mavx512vnni; chosen only when the CPU has both.
#include "kernels/x86/avx512_gcc_warnings.h"  // first: before any intrinsics header

#include "kernels/x86/i2_gemv__avx512.h"
#include "kernels/x86/i2_unpack__avx2.h"
#include "kernels/x86/stream_prefetch.h"
#include "kernels/x86/vnni__avx512.h"

#include <immintrin.h>

namespace tern::kernels {

namespace {

using avx512::broadcast_slice;
using avx512::dpbusd;

// One row tile's blocks [b_begin, b_end) into acc[p][s]: slice s of pair p (rows 2p and 2p + 1
// of the tile), 4^(3-s) times its dot product. Block b is 128 bytes at tile + b * kI2BlockStride,
// pair p's 64 at + 64 p; both lines are prefetched kLineAheadBytes ahead (not past stream_end).
[[gnu::always_inline]] inline void tile_blocks(const uint8_t* tile, const int8_t* q,
                                               int64_t b_begin, int64_t b_end,
                                               const uint8_t* stream_end, const __m512i (&masks)[4],
                                               __m512i (&acc)[2][4]) {
    for (int64_t b = b_begin; b < b_end; ++b) {
        const uint8_t* bytes0 = tile + b * kI2BlockStride;
        const uint8_t* bytes1 = bytes0 + 64;
        prefetch_stream_paged(bytes0, stream_end);
        prefetch_stream_paged(bytes1, stream_end);
        const __m512i x0 = _mm512_loadu_si512(bytes0);
        const __m512i x1 = _mm512_loadu_si512(bytes1);
        const int8_t* a = q + b * kI2ColBlock;
        for (int s = 0; s < 4; ++s) {
            const __m512i slice = broadcast_slice(a + 32 * s);
            acc[0][s] = dpbusd(acc[0][s], _mm512_and_si512(x0, masks[s]), slice);
            acc[1][s] = dpbusd(acc[1][s], _mm512_and_si512(x1, masks[s]), slice);
        }
    }
}

}  // namespace

void i2_gemv_4x128__avx512(const MatmulArgs& args) {
    const PackedTernary& w = *args.w;
    // Slice s of a block is its bytes masked to bits 6-2s..7-2s: the codes times 4^(3-s), so no
    // shifts are needed; slice s's accumulators hold 4^(3-s) times its dot product (exact: at
    // most 4 * 128 * 127 per lane and block) and are shifted back at the end of the tile. Each
    // broadcast slice of activations feeds both pairs: 3 loads per 64 bytes of weights, where
    // one pair at a time took 5 and ran out of loads (1.4-1.7x slower from cache).
    const __m512i masks[4] = {_mm512_set1_epi8(static_cast<char>(0xC0)), _mm512_set1_epi8(0x30),
                              _mm512_set1_epi8(0x0C), _mm512_set1_epi8(0x03)};
    const I2GemvRows rows = i2_gemv_rows(args);
    const uint8_t* stream_end = rows.stream_end;
    if (rows.begin >= rows.end) return;
    prefetch_stream_start(i2_block(w, rows.begin, args.unit_begin), stream_end);
    for (int64_t t = args.token_begin; t < args.token_end; ++t) {
        const int8_t* q = args.a->token_q(t);
        const int32_t offset = i2_code_offset(args, t);
        for (int64_t first = rows.begin; first < rows.end; first += kI2RowTile) {
            // The tile's padded rows exist (zero weights); their sums are not written.
            const uint8_t* tile = i2_block(w, first, 0);
            __m512i acc[2][4];
            for (auto& p : acc)
                for (auto& a : p) a = _mm512_setzero_si512();
            tile_blocks(tile, q, args.unit_begin, args.unit_end, stream_end, masks, acc);
            __m512i sum[2];
            for (int p = 0; p < 2; ++p) {
                sum[p] = _mm512_srai_epi32(acc[p][0], 6);
                for (int s = 1; s < 4; ++s)
                    sum[p] = _mm512_add_epi32(sum[p], _mm512_srai_epi32(acc[p][s], 6 - 2 * s));
            }
            // Lanes 0-7 / 8-15 of sum[p] are rows 2p / 2p + 1.
            avx2::store_tile_sums(
                _mm512_castsi512_si256(sum[0]), _mm512_extracti64x4_epi64(sum[0], 1),
                _mm512_castsi512_si256(sum[1]), _mm512_extracti64x4_epi64(sum[1], 1), offset,
                args.out + t * args.out_stride + first, rows.end - first);
        }
    }
}

}  // namespace tern::kernels
