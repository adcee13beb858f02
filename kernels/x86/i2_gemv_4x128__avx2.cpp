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

// One row's 128-column block (32 bytes at `bytes`) against activations q[0..128), added to two
// int16 sums: `ones` gets the dot products of the codes in bits 4-5 and 0-1 of each byte
// (columns 32..63 and 96..127 of the block), `fours` four times those of bits 6-7 and 2-3
// (columns 0..31 and 64..95). Masking with 0x0C leaves a code times 4 in place, so one shift
// (by 4) and four masks unpack the block instead of three shifts and four masks. Per block a
// lane of `ones` grows by at most 2 * 2 * 2 * 128 = 1,024 and of `fours` by 4,096 (exactly
// -4,096 at worst below zero), so kI2BlocksPerWiden (8) blocks stay within int16. From L2
// (Intel Xeon VM, fastest of 4,000 calls interleaved with the three-shift form) 7-9 % faster on
// the 2B-4T q/o, k/v and gate/up and 0.7B shapes; from DRAM the stream decides.
[[gnu::always_inline]] inline void add_block(const uint8_t* bytes, const int8_t* q, __m256i& ones,
                                             __m256i& fours) {
    const __m256i low2 = _mm256_set1_epi8(0x03), high2 = _mm256_set1_epi8(0x0C);
    const __m256i x = _mm256_load_si256(reinterpret_cast<const __m256i*>(bytes));
    const __m256i y = _mm256_srli_epi16(x, 4);  // bits 4-7 of each byte in its bits 0-3
    const auto* a = reinterpret_cast<const __m256i*>(q);
    const __m256i p0 = _mm256_maddubs_epi16(_mm256_and_si256(y, high2), _mm256_loadu_si256(a));
    const __m256i p1 = _mm256_maddubs_epi16(_mm256_and_si256(y, low2), _mm256_loadu_si256(a + 1));
    const __m256i p2 = _mm256_maddubs_epi16(_mm256_and_si256(x, high2), _mm256_loadu_si256(a + 2));
    const __m256i p3 = _mm256_maddubs_epi16(_mm256_and_si256(x, low2), _mm256_loadu_si256(a + 3));
    ones = _mm256_add_epi16(ones, _mm256_add_epi16(p1, p3));
    fours = _mm256_add_epi16(fours, _mm256_add_epi16(p0, p2));
}
}  // namespace

void i2_gemv_4x128__avx2(const MatmulArgs& args) {
    const PackedTernary& w = *args.w;
    const __m256i ones16 = _mm256_set1_epi16(1);
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
                __m256i acc_ones[4], acc_fours[4];
                for (int r = 0; r < 4; ++r) acc_ones[r] = acc_fours[r] = _mm256_setzero_si256();
                for (; b < chunk_end; ++b) {
                    const uint8_t* blocks = row0 + b * kI2BlockStride;
                    const int8_t* qb = q + b * kI2ColBlock;
                    prefetch_ahead<kPrefetchBytes, 2>(blocks, stream_end);
                    prefetch_ahead<kPrefetchBytes, 2>(blocks + 64, stream_end);
                    for (int r = 0; r < 4; ++r)
                        add_block(blocks + r * kI2BlockBytes, qb, acc_ones[r], acc_fours[r]);
                }
                // fours / 4 is exact (a sum of multiples of 4); with ones at most 16,384.
                for (int r = 0; r < 4; ++r) {
                    const __m256i sum16 =
                        _mm256_add_epi16(acc_ones[r], _mm256_srai_epi16(acc_fours[r], 2));
                    acc32[r] = _mm256_add_epi32(acc32[r], _mm256_madd_epi16(sum16, ones16));
                }
            }
            const int64_t first = tile * kI2RowTile;
            store_tile_sums(acc32[0], acc32[1], acc32[2], acc32[3], offset,
                            args.out + t * args.out_stride + first, w.rows - first);
        }
    }
}

}  // namespace tern::kernels
