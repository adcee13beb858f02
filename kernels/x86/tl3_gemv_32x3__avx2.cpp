// AVX2 tl3 GEMV: per group of 3 columns, two pshufb lookups give the partial sums of 32 rows.
#include "kernels/x86/stream_prefetch.h"
#include "kernels/x86/tl3_gemm__avx2.h"
#include "kernels/x86/tl3_lookup__avx2.h"

#include <algorithm>

namespace tern::kernels {

using namespace avx2;

namespace {

// Adds `n` (>= 1) octets of one tile, from `octet` on, looked up in `tab` (the tables of the
// first octet's groups), to the int16 sums lo and hi: decode_octet and lookup_add written out in
// assembly, groups 7 down to 0. From the intrinsics GCC 12 kept one accumulator and the table
// pointer on the stack and reloaded them every octet (~10 extra instructions per ~100).
// Each octet prefetches the weights 4 KiB ahead (non-temporal: read once).
void octets(const uint8_t* octet, const uint8_t* tab, int64_t n, __m256i& lo, __m256i& hi) {
    const __m256i low4 = _mm256_set1_epi8(0x0F), zero = _mm256_setzero_si256();
    __m256i signs, bytes, idx, mask, tlo, thi;
    __asm__(
        "1:\n\t"
        "prefetchnta 4096(%[octet])\n\t"
        "prefetchnta 4160(%[octet])\n\t"
        "prefetchnta 4224(%[octet])\n\t"
        "vmovdqa 128(%[octet]), %[signs]\n\t"
        "vmovdqa 96(%[octet]), %[bytes]\n\t"
        // group 7
        "vpsrlw $4, %[bytes], %[idx]\n\t"
        "vpand %[low4], %[idx], %[idx]\n\t"
        "vpcmpgtb %[signs], %[zero], %[mask]\n\t"
        "vpaddb %[signs], %[signs], %[signs]\n\t"
        "vbroadcasti128 224(%[tab]), %[tlo]\n\t"
        "vbroadcasti128 240(%[tab]), %[thi]\n\t"
        "vpshufb %[idx], %[tlo], %[tlo]\n\t"
        "vpshufb %[idx], %[thi], %[thi]\n\t"
        "vpxor %[mask], %[tlo], %[tlo]\n\t"
        "vpxor %[mask], %[thi], %[thi]\n\t"
        "vpunpcklbw %[thi], %[tlo], %[idx]\n\t"
        "vpunpckhbw %[thi], %[tlo], %[tlo]\n\t"
        "vpaddw %[idx], %[lo], %[lo]\n\t"
        "vpaddw %[tlo], %[hi], %[hi]\n\t"
        // group 6
        "vpand %[low4], %[bytes], %[idx]\n\t"
        "vpcmpgtb %[signs], %[zero], %[mask]\n\t"
        "vpaddb %[signs], %[signs], %[signs]\n\t"
        "vbroadcasti128 192(%[tab]), %[tlo]\n\t"
        "vbroadcasti128 208(%[tab]), %[thi]\n\t"
        "vpshufb %[idx], %[tlo], %[tlo]\n\t"
        "vpshufb %[idx], %[thi], %[thi]\n\t"
        "vpxor %[mask], %[tlo], %[tlo]\n\t"
        "vpxor %[mask], %[thi], %[thi]\n\t"
        "vpunpcklbw %[thi], %[tlo], %[idx]\n\t"
        "vpunpckhbw %[thi], %[tlo], %[tlo]\n\t"
        "vpaddw %[idx], %[lo], %[lo]\n\t"
        "vpaddw %[tlo], %[hi], %[hi]\n\t"
        "vmovdqa 64(%[octet]), %[bytes]\n\t"
        // group 5
        "vpsrlw $4, %[bytes], %[idx]\n\t"
        "vpand %[low4], %[idx], %[idx]\n\t"
        "vpcmpgtb %[signs], %[zero], %[mask]\n\t"
        "vpaddb %[signs], %[signs], %[signs]\n\t"
        "vbroadcasti128 160(%[tab]), %[tlo]\n\t"
        "vbroadcasti128 176(%[tab]), %[thi]\n\t"
        "vpshufb %[idx], %[tlo], %[tlo]\n\t"
        "vpshufb %[idx], %[thi], %[thi]\n\t"
        "vpxor %[mask], %[tlo], %[tlo]\n\t"
        "vpxor %[mask], %[thi], %[thi]\n\t"
        "vpunpcklbw %[thi], %[tlo], %[idx]\n\t"
        "vpunpckhbw %[thi], %[tlo], %[tlo]\n\t"
        "vpaddw %[idx], %[lo], %[lo]\n\t"
        "vpaddw %[tlo], %[hi], %[hi]\n\t"
        // group 4
        "vpand %[low4], %[bytes], %[idx]\n\t"
        "vpcmpgtb %[signs], %[zero], %[mask]\n\t"
        "vpaddb %[signs], %[signs], %[signs]\n\t"
        "vbroadcasti128 128(%[tab]), %[tlo]\n\t"
        "vbroadcasti128 144(%[tab]), %[thi]\n\t"
        "vpshufb %[idx], %[tlo], %[tlo]\n\t"
        "vpshufb %[idx], %[thi], %[thi]\n\t"
        "vpxor %[mask], %[tlo], %[tlo]\n\t"
        "vpxor %[mask], %[thi], %[thi]\n\t"
        "vpunpcklbw %[thi], %[tlo], %[idx]\n\t"
        "vpunpckhbw %[thi], %[tlo], %[tlo]\n\t"
        "vpaddw %[idx], %[lo], %[lo]\n\t"
        "vpaddw %[tlo], %[hi], %[hi]\n\t"
        "vmovdqa 32(%[octet]), %[bytes]\n\t"
        // group 3
        "vpsrlw $4, %[bytes], %[idx]\n\t"
        "vpand %[low4], %[idx], %[idx]\n\t"
        "vpcmpgtb %[signs], %[zero], %[mask]\n\t"
        "vpaddb %[signs], %[signs], %[signs]\n\t"
        "vbroadcasti128 96(%[tab]), %[tlo]\n\t"
        "vbroadcasti128 112(%[tab]), %[thi]\n\t"
        "vpshufb %[idx], %[tlo], %[tlo]\n\t"
        "vpshufb %[idx], %[thi], %[thi]\n\t"
        "vpxor %[mask], %[tlo], %[tlo]\n\t"
        "vpxor %[mask], %[thi], %[thi]\n\t"
        "vpunpcklbw %[thi], %[tlo], %[idx]\n\t"
        "vpunpckhbw %[thi], %[tlo], %[tlo]\n\t"
        "vpaddw %[idx], %[lo], %[lo]\n\t"
        "vpaddw %[tlo], %[hi], %[hi]\n\t"
        // group 2
        "vpand %[low4], %[bytes], %[idx]\n\t"
        "vpcmpgtb %[signs], %[zero], %[mask]\n\t"
        "vpaddb %[signs], %[signs], %[signs]\n\t"
        "vbroadcasti128 64(%[tab]), %[tlo]\n\t"
        "vbroadcasti128 80(%[tab]), %[thi]\n\t"
        "vpshufb %[idx], %[tlo], %[tlo]\n\t"
        "vpshufb %[idx], %[thi], %[thi]\n\t"
        "vpxor %[mask], %[tlo], %[tlo]\n\t"
        "vpxor %[mask], %[thi], %[thi]\n\t"
        "vpunpcklbw %[thi], %[tlo], %[idx]\n\t"
        "vpunpckhbw %[thi], %[tlo], %[tlo]\n\t"
        "vpaddw %[idx], %[lo], %[lo]\n\t"
        "vpaddw %[tlo], %[hi], %[hi]\n\t"
        "vmovdqa 0(%[octet]), %[bytes]\n\t"
        // group 1
        "vpsrlw $4, %[bytes], %[idx]\n\t"
        "vpand %[low4], %[idx], %[idx]\n\t"
        "vpcmpgtb %[signs], %[zero], %[mask]\n\t"
        "vpaddb %[signs], %[signs], %[signs]\n\t"
        "vbroadcasti128 32(%[tab]), %[tlo]\n\t"
        "vbroadcasti128 48(%[tab]), %[thi]\n\t"
        "vpshufb %[idx], %[tlo], %[tlo]\n\t"
        "vpshufb %[idx], %[thi], %[thi]\n\t"
        "vpxor %[mask], %[tlo], %[tlo]\n\t"
        "vpxor %[mask], %[thi], %[thi]\n\t"
        "vpunpcklbw %[thi], %[tlo], %[idx]\n\t"
        "vpunpckhbw %[thi], %[tlo], %[tlo]\n\t"
        "vpaddw %[idx], %[lo], %[lo]\n\t"
        "vpaddw %[tlo], %[hi], %[hi]\n\t"
        // group 0
        "vpand %[low4], %[bytes], %[idx]\n\t"
        "vpcmpgtb %[signs], %[zero], %[mask]\n\t"
        "vpaddb %[signs], %[signs], %[signs]\n\t"
        "vbroadcasti128 0(%[tab]), %[tlo]\n\t"
        "vbroadcasti128 16(%[tab]), %[thi]\n\t"
        "vpshufb %[idx], %[tlo], %[tlo]\n\t"
        "vpshufb %[idx], %[thi], %[thi]\n\t"
        "vpxor %[mask], %[tlo], %[tlo]\n\t"
        "vpxor %[mask], %[thi], %[thi]\n\t"
        "vpunpcklbw %[thi], %[tlo], %[idx]\n\t"
        "vpunpckhbw %[thi], %[tlo], %[tlo]\n\t"
        "vpaddw %[idx], %[lo], %[lo]\n\t"
        "vpaddw %[tlo], %[hi], %[hi]\n\t"
        "add $160, %[octet]\n\t"
        "add $256, %[tab]\n\t"
        "dec %[n]\n\t"
        "jnz 1b"
        : [lo] "+x"(lo), [hi] "+x"(hi), [signs] "=&x"(signs), [bytes] "=&x"(bytes),
          [idx] "=&x"(idx), [mask] "=&x"(mask), [tlo] "=&x"(tlo), [thi] "=&x"(thi),
          [octet] "+r"(octet), [tab] "+r"(tab), [n] "+r"(n)
        : [low4] "x"(low4), [zero] "x"(zero)
        : "cc", "memory");
}

}  // namespace

void tl3_gemv_32x3__avx2(const MatmulArgs& args) {
    const PackedTernary& w = *args.w;
    // The call's first lines at once, as the other GEMVs do: its in-loop prefetch only reaches
    // 4 KiB ahead, so a call's start otherwise waits miss by miss (120 calls a token in 2B-4T).
    prefetch_stream_start(w.data.get() + args.tile_begin * w.col_units * kTl3OctetBytes,
                          w.data.get() + args.tile_end * w.col_units * kTl3OctetBytes);
    for (int64_t t = args.token_begin; t < args.token_end; ++t) {
        const uint8_t* tables = args.a->token_tables(t);
        int32_t* out = args.out + t * args.out_stride;
        for (int64_t tile = args.tile_begin; tile < args.tile_end; ++tile) {
            __m256i acc32[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(),
                                _mm256_setzero_si256(), _mm256_setzero_si256()};
            const uint8_t* base = w.data.get() + tile * w.col_units * kTl3OctetBytes;
            for (int64_t o = 0; o < w.col_units;) {
                const int64_t chunk_end = std::min(w.col_units, o + kTl3OctetsPerWiden);
                __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
                octets(base + o * kTl3OctetBytes, tables + o * 8 * 32, chunk_end - o, lo, hi);
                o = chunk_end;
                widen(lo, hi, acc32);
            }
            store_tile(acc32, w.neg_count.data() + tile * kTl3RowTile, tile * kTl3RowTile, w.rows,
                       out);
        }
    }
}

}  // namespace tern::kernels
