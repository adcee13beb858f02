// AVX-VNNI i2 kernels: GEMV (a tile's rows a pair at a time, each pair reading one of the tile's
// two cache lines per block) and GEMM (a tile's four rows against three tokens, 12 accumulators).
// Compiled with -mavxvnni; chosen only when the CPU has it.
#include "kernels/x86/i2_gemm__avxvnni.h"
#include "kernels/x86/i2_gemm_vnni256.h"
#include "kernels/x86/i2_unpack__avx2.h"
#include "kernels/x86/stream_prefetch.h"

namespace tern::kernels {

using namespace avx2;

namespace {

// acc += VPDPBUSD(codes as u8, 32 int8 activations), the activations shared by the rows of a
// pair (GEMV) or a tile (GEMM). GCC 12 compiles the intrinsic with a register copy of the
// accumulator around every call and spills loop constants to the stack: the GEMV ran at 19 GB/s
// against 26 GB/s for this form on the same machine. The inline assembly ties the accumulator to
// its register; {vex} asks for the AVX-VNNI encoding (the assembler's default is AVX-512's).
struct VexDot {
    static inline __m256i dpbusd(__m256i acc, __m256i codes, __m256i activations) {
#if defined(__GNUC__) && !defined(__clang__)
        asm("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(codes), "xm"(activations));
        return acc;
#else
        return _mm256_dpbusd_avx_epi32(acc, codes, activations);
#endif
    }
};

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
        // A tile's two pairs one after the other: pair h's block b is the 64 bytes at
        // + b * kI2BlockStride + h * 64 of the tile, one cache line. The first pass prefetches
        // both lines of each block, so the second reads its lines from L2 (the 16 registers hold
        // one pair's eight accumulators, not two). The second row of the last pair may be
        // padding (zero weights) and is not written.
        for (int64_t row = row_begin; row < row_end; row += 2) {
            const bool first_pair = row % kI2RowTile == 0;
            // acc[r][s]: row r of the pair, slice s. Each slice of activations is loaded once for
            // both rows; eight independent accumulators keep VPDPBUSD (latency 4-5 cycles, two
            // per cycle) from waiting on its own previous result.
            __m256i acc[2][4];
            for (auto& r : acc)
                for (auto& a : r) a = _mm256_setzero_si256();
            const uint8_t* pair = i2_block(w, row, 0);  // row's block b at + b * kI2BlockStride,
                                                        // the next row's 32 bytes later
            for (int64_t b = args.unit_begin; b < args.unit_end; ++b) {
                const uint8_t* blocks = pair + b * kI2BlockStride;
                if (first_pair) {
                    prefetch_stream(blocks, stream_end);
                    prefetch_stream(blocks + 64, stream_end);
                }
                const __m256i x0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(blocks));
                const __m256i x1 =
                    _mm256_load_si256(reinterpret_cast<const __m256i*>(blocks + kI2BlockBytes));
                const int8_t* a = q + b * kI2ColBlock;
                for (int s = 0; s < 4; ++s) {
                    const __m256i as =
                        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + 32 * s));
                    acc[0][s] = VexDot::dpbusd(acc[0][s], _mm256_and_si256(x0, masks[s]), as);
                    acc[1][s] = VexDot::dpbusd(acc[1][s], _mm256_and_si256(x1, masks[s]), as);
                }
            }
            for (int r = 0; r < 2 && row + r < row_end; ++r) {
                __m256i sum = _mm256_setzero_si256();
                for (int s = 0; s < 4; ++s)
                    sum = _mm256_add_epi32(sum, _mm256_srai_epi32(acc[r][s], 6 - 2 * s));
                args.out[t * args.out_stride + row + r] = hsum_epi32(sum) - offset;
            }
        }
    }
}

void i2_gemm_4x32x3__avxvnni(const MatmulArgs& args) {
    vnni256::i2_gemm_4x32x3<VexDot>(args);
}

}  // namespace tern::kernels
