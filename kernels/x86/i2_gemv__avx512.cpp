// AVX-512 VNNI i2 GEMV: one row pair per 512-bit register (lanes 0-7 the pair's first row, 8-15
// its second), one sequential weight stream. Compiled with -mavx512f -mavx512vnni; chosen only
// when the CPU has both.
#include "kernels/x86/i2_gemv__avx512.h"
#include "kernels/x86/i2_unpack__avx2.h"
#include "kernels/x86/stream_prefetch.h"

// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*(), which it then reports as maybe
// uninitialised (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

namespace tern::kernels {

namespace {

// acc += VPDPBUSD(codes as u8, activations as s8); inline assembly for GCC, which otherwise
// copies the accumulator around every call (see the AVX-VNNI kernels).
inline __m512i dpbusd(__m512i acc, __m512i codes, __m512i activations) {
#if defined(__GNUC__) && !defined(__clang__)
    asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(codes), "vm"(activations));
    return acc;
#else
    return _mm512_dpbusd_epi32(acc, codes, activations);
#endif
}

// 32 activations (one slice of a 128-column block) in both 256-bit halves.
inline __m512i broadcast_slice(const int8_t* a) {
    return _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a)));
}

}  // namespace

void i2_gemv_1x128__avx512(const MatmulArgs& args) {
    const PackedTernary& w = *args.w;
    // Slice s of a block is its bytes masked to bits 6-2s..7-2s: the codes times 4^(3-s), so no
    // shifts are needed; slice s's accumulators hold 4^(3-s) times its dot product (exact: at
    // most 4 * 192 * 128 per lane and block) and are shifted back at the end of the pair.
    const __m512i masks[4] = {_mm512_set1_epi8(static_cast<char>(0xC0)), _mm512_set1_epi8(0x30),
                              _mm512_set1_epi8(0x0C), _mm512_set1_epi8(0x03)};
    const I2GemvRows rows = i2_gemv_rows(args);
    const int64_t row_begin = rows.begin, row_end = rows.end;
    const uint8_t* stream_end = rows.stream_end;
    if (row_begin >= row_end) return;
    prefetch_stream_start(i2_block(w, row_begin, args.unit_begin), stream_end);
    for (int64_t t = args.token_begin; t < args.token_end; ++t) {
        const int8_t* q = args.a->token_q(t);
        const int32_t offset = i2_code_offset(args, t);
        for (int64_t row = row_begin; row < row_end; row += kI2PairRows) {
            // acc[p][s]: slice s of the blocks of parity p (two blocks in flight, so VPDPBUSD
            // never waits on its own previous result).
            __m512i acc[2][4];
            for (auto& p : acc)
                for (auto& a : p) a = _mm512_setzero_si512();
            const uint8_t* pair = i2_block(w, row, 0);  // block b: 64 bytes at b * kI2BlockStride
            const auto block = [&](int64_t b, __m512i(&into)[4]) {
                const uint8_t* bytes = pair + b * kI2BlockStride;
                prefetch_stream_paged(bytes, stream_end);
                const __m512i x = _mm512_loadu_si512(bytes);
                const int8_t* a = q + b * kI2ColBlock;
                for (int s = 0; s < 4; ++s) {
                    into[s] =
                        dpbusd(into[s], _mm512_and_si512(x, masks[s]), broadcast_slice(a + 32 * s));
                }
            };
            int64_t b = args.unit_begin;
            for (; b + 2 <= args.unit_end; b += 2) {
                block(b, acc[0]);
                block(b + 1, acc[1]);
            }
            if (b < args.unit_end) block(b, acc[0]);
            __m512i sum = _mm512_setzero_si512();
            for (int s = 0; s < 4; ++s) {
                sum = _mm512_add_epi32(
                    sum, _mm512_srai_epi32(_mm512_add_epi32(acc[0][s], acc[1][s]), 6 - 2 * s));
            }
            int32_t* out = args.out + t * args.out_stride + row;
            out[0] = avx2::hsum_epi32(_mm512_castsi512_si256(sum)) - offset;
            if (row + 1 < row_end)
                out[1] = avx2::hsum_epi32(_mm512_extracti64x4_epi64(sum, 1)) - offset;
        }
    }
}

}  // namespace tern::kernels
