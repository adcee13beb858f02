// AVX2 i2 GEMV: 4 rows x 128 columns per step with maddubs on the w+1 codes, one token at a time.
#include "kernels/x86/i2_gemm__avx2.h"
#include "kernels/x86/i2_unpack__avx2.h"
#include "kernels/x86/stream_prefetch.h"

#include <algorithm>

namespace tern::kernels {

using namespace avx2;

namespace {
// How far ahead of the current block the tile stream is prefetched, into L2 (`prefetcht1`). It
// was non-temporal at the same distance, which on the Intel Xeon (Emerald Rapids) VM held an L1
// miss buffer per line until it arrived and capped the stream at ~7 GB/s per core: 2B-4T gate /
// up with 1 thread 616-647 us, now 359-382 (down 543 -> 359-371), the AVX-512 kernel's speed.
// The paged form (8 KiB, pages 32 KiB ahead) was no faster.
constexpr int64_t kPrefetchBytes = 4096;
}  // namespace

void i2_gemv_4x128__avx2(const MatmulArgs& args) {
    const PackedTernary& w = *args.w;
    const __m256i ones = _mm256_set1_epi16(1);
    const I2GemvRows rows = i2_gemv_rows(args);
    const uint8_t* stream_end = rows.stream_end;
    if (rows.begin >= rows.end) return;
    prefetch_stream_start(i2_block(w, rows.begin, args.unit_begin), stream_end);
    for (int64_t t = args.token_begin; t < args.token_end; ++t) {
        const int8_t* q = args.a->token_q(t);
        const int32_t offset = i2_code_offset(args, t);
        for (int64_t tile = args.tile_begin; tile < args.tile_end; ++tile) {
            __m256i acc32[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(),
                                _mm256_setzero_si256(), _mm256_setzero_si256()};
            const uint8_t* row0 = i2_block(w, tile * kI2RowTile, 0);
            // Row r's block b at row0 + b * kI2BlockStride + r * kI2BlockBytes: the tile is one
            // stream, two cache lines per block.
            for (int64_t b = args.unit_begin; b < args.unit_end;) {
                const int64_t chunk_end = std::min(args.unit_end, b + kI2BlocksPerWiden);
                __m256i acc16[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(),
                                    _mm256_setzero_si256(), _mm256_setzero_si256()};
                for (; b < chunk_end; ++b) {
                    const uint8_t* blocks = row0 + b * kI2BlockStride;
                    const int8_t* qb = q + b * kI2ColBlock;
                    prefetch_ahead<kPrefetchBytes, 2>(blocks, stream_end);
                    prefetch_ahead<kPrefetchBytes, 2>(blocks + 64, stream_end);
                    for (int r = 0; r < 4; ++r) {
                        const uint8_t* row_block = blocks + r * kI2BlockBytes;
                        acc16[r] = _mm256_add_epi16(acc16[r],
                                                    i2_block_dot(unpack_i2_block(row_block), qb));
                    }
                }
                for (int r = 0; r < 4; ++r)
                    acc32[r] = _mm256_add_epi32(acc32[r], _mm256_madd_epi16(acc16[r], ones));
            }
            const int64_t first = tile * kI2RowTile;
            store_tile_sums(acc32[0], acc32[1], acc32[2], acc32[3], offset,
                            args.out + t * args.out_stride + first, w.rows - first);
        }
    }
}

}  // namespace tern::kernels
