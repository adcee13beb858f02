// AVX2 tl3 GEMV: per group of 3 columns, two pshufb lookups give the partial sums of 32 rows.
#include "kernels/x86/stream_prefetch.h"
#include "kernels/x86/tl3_gemm__avx2.h"
#include "kernels/x86/tl3_lookup__avx2.h"

#include <algorithm>

namespace tern::kernels {

using namespace avx2;

namespace {

// One group's step of the assembly loop below, given its index in %[idx]: the sign mask from the
// top bit of %[signs] (then doubled for the next group), the two table halves at byte offset
// TABLE of %[tab] looked up, complemented where negative, interleaved to int16 and added.
// clang-format off
#define TL3_LOOKUP_ADD(TABLE)                                 \
    "vpcmpgtb %[signs], %[zero], %[mask]\n\t"                 \
    "vpaddb %[signs], %[signs], %[signs]\n\t"                 \
    "vbroadcasti128 " #TABLE "(%[tab]), %[tlo]\n\t"           \
    "vbroadcasti128 16+" #TABLE "(%[tab]), %[thi]\n\t"        \
    "vpshufb %[idx], %[tlo], %[tlo]\n\t"                      \
    "vpshufb %[idx], %[thi], %[thi]\n\t"                      \
    "vpxor %[mask], %[tlo], %[tlo]\n\t"                       \
    "vpxor %[mask], %[thi], %[thi]\n\t"                       \
    "vpunpcklbw %[thi], %[tlo], %[idx]\n\t"                   \
    "vpunpckhbw %[thi], %[tlo], %[tlo]\n\t"                   \
    "vpaddw %[idx], %[lo], %[lo]\n\t"                         \
    "vpaddw %[tlo], %[hi], %[hi]\n\t"

// Groups 2P + 1 (high nibbles of the octet's index bytes P) and 2P (low nibbles).
#define TL3_GROUP_PAIR(P, HIGH_TABLE, LOW_TABLE)              \
    "vmovdqa 32*" #P "(%[octet]), %[bytes]\n\t"               \
    "vpsrlw $4, %[bytes], %[idx]\n\t"                         \
    "vpand %[low4], %[idx], %[idx]\n\t"                       \
    TL3_LOOKUP_ADD(HIGH_TABLE)                                \
    "vpand %[low4], %[bytes], %[idx]\n\t"                     \
    TL3_LOOKUP_ADD(LOW_TABLE)
// clang-format on

// Adds `n` (>= 1) octets of one tile, from `octet` on, looked up in `tab` (the tables of the
// first octet's groups), to the int16 sums lo and hi: decode_octet and lookup_add written out in
// assembly, groups 7 down to 0. From the intrinsics GCC 12 kept one accumulator and the table
// pointer on the stack and reloaded them every octet (~10 extra instructions per ~100).
// Each octet prefetches the weights 4 KiB ahead into L2 (`prefetcht1`). Non-temporal, as until
// 2026-12-03, holds an L1 miss buffer per line until it arrives: on the Intel Xeon (Emerald
// Rapids) VM that capped the stream, 2B-4T gate / up with 1 thread 519-521 us against 336-352
// (down 530-563 against 343-349); 8 and 16 KiB were slower. On Zen 3 the hints and distances
// were all within the noise (bench/HISTORY.md).
void octets(const uint8_t* octet, const uint8_t* tab, int64_t n, __m256i& lo, __m256i& hi) {
    const __m256i low4 = _mm256_set1_epi8(0x0F), zero = _mm256_setzero_si256();
    __m256i signs, bytes, idx, mask, tlo, thi;
    __asm__("1:\n\t"
            "prefetcht1 4096(%[octet])\n\t"
            "prefetcht1 4160(%[octet])\n\t"
            "prefetcht1 4224(%[octet])\n\t"
            "vmovdqa 128(%[octet]), %[signs]\n\t"  // group G's sign is bit G of a row's byte
            TL3_GROUP_PAIR(3, 224, 192) TL3_GROUP_PAIR(2, 160, 128) TL3_GROUP_PAIR(1, 96, 64)
                TL3_GROUP_PAIR(0, 32, 0)
            "add $160, %[octet]\n\t"
            "add $256, %[tab]\n\t"
            "dec %[n]\n\t"
            "jnz 1b"
            : [lo] "+&x"(lo), [hi] "+&x"(hi), [signs] "=&x"(signs), [bytes] "=&x"(bytes),
              [idx] "=&x"(idx), [mask] "=&x"(mask), [tlo] "=&x"(tlo), [thi] "=&x"(thi),
              [octet] "+r"(octet), [tab] "+r"(tab), [n] "+r"(n)
            : [low4] "x"(low4), [zero] "x"(zero)
            : "cc", "memory");
}

#undef TL3_GROUP_PAIR
#undef TL3_LOOKUP_ADD

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
