// AVX2 tl3 GEMM for prompts: each 32-row tile is decoded once into int8 codes, then multiplied
// into the tokens with maddubs, 32 multiply-adds per maddubs + add where the lookups spend about
// 11.5 vector instructions per 96.
#include "kernels/tl3_tables.h"
#include "kernels/x86/tl3_gemm__avx2.h"
#include "kernels/x86/tl3_lookup__avx2.h"

#include <algorithm>

namespace tern::kernels {

using namespace avx2;

namespace {

// A tile decoded for maddubs, quad by quad of columns: quad q (columns 4q..4q+3) is four vectors,
// vector v holding rows 4v..4v+3 (32-bit lanes 0-3) and 16+4v..16+4v+3 (lanes 4-7), each lane the
// row's four codes w + 1 (0, 1 or 2) in column order. [quads][4 vectors][32 bytes].
constexpr int64_t kQuadBytes = 4 * 32;
constexpr int64_t kOctetQuads = kTl3OctetCols / 4;

// Row of 32-bit lane `lane` of vector `v` of a quad.
constexpr int64_t quad_row(int64_t v, int64_t lane) {
    return (lane < 4 ? 0 : 16) + 4 * v + (lane & 3);
}

// Digit j of pattern i (kTl3Digits) at byte i of row j, entries 14 and 15 unused: the pshufb
// tables of decode_tile, built once.
struct DigitTables {
    alignas(16) int8_t digit[3][16] = {};
    DigitTables() {
        for (int i = 0; i < 14; ++i)
            for (int j = 0; j < 3; ++j) digit[j][i] = kTl3Digits[i][j];
    }
};

// Decodes tile `tile` of `w` into `quads` (w.col_units * kOctetQuads quads).
void decode_tile(const PackedTernary& w, int64_t tile, uint8_t* quads) {
    static const DigitTables tables;
    __m256i digit_table[3];
    for (int j = 0; j < 3; ++j) {
        digit_table[j] = _mm256_broadcastsi128_si256(
            _mm_load_si128(reinterpret_cast<const __m128i*>(tables.digit[j])));
    }
    const __m256i one = _mm256_set1_epi8(1);
    const uint8_t* base = w.data.get() + tile * w.col_units * kTl3OctetBytes;
    for (int64_t o = 0; o < w.col_units; ++o) {
        __m256i column[kTl3OctetCols];  // codes of the octet's 24 columns, byte r = row r
        decode_octet(base + o * kTl3OctetBytes, [&](int g, const Tl3Group& group) {
            // The sign as +1 / -1 per row: psignb then negates the digits of negative groups.
            const __m256i sign = _mm256_or_si256(group.sign, one);
            for (int j = 0; j < 3; ++j) {
                const __m256i d = _mm256_shuffle_epi8(digit_table[j], group.index);
                column[3 * g + j] = _mm256_add_epi8(_mm256_sign_epi8(d, sign), one);
            }
        });
        uint8_t* out = quads + o * kOctetQuads * kQuadBytes;
        for (int q = 0; q < kOctetQuads; ++q) {
            const __m256i* c = column + 4 * q;
            const __m256i p01_lo = _mm256_unpacklo_epi8(c[0], c[1]);  // rows 0-7 | 16-23
            const __m256i p01_hi = _mm256_unpackhi_epi8(c[0], c[1]);  // rows 8-15 | 24-31
            const __m256i p23_lo = _mm256_unpacklo_epi8(c[2], c[3]);
            const __m256i p23_hi = _mm256_unpackhi_epi8(c[2], c[3]);
            const __m256i v[4] = {
                _mm256_unpacklo_epi16(p01_lo, p23_lo), _mm256_unpackhi_epi16(p01_lo, p23_lo),
                _mm256_unpacklo_epi16(p01_hi, p23_hi), _mm256_unpackhi_epi16(p01_hi, p23_hi)};
            for (int i = 0; i < 4; ++i)
                _mm256_store_si256(reinterpret_cast<__m256i*>(out + q * kQuadBytes + 32 * i), v[i]);
        }
    }
}

// Quads whose int16 sums may be added before widening: a quad adds at most 2 * 2 * 128 to an
// int16 lane, and 63 * 512 < 32767. A chunk's decoded codes (8 KiB) stay in L1 while every token
// block passes over them.
constexpr int64_t kQuadsPerChunk = 63;

// One token's step of the assembly loop below: its column quad at byte X of %[xq] broadcast and
// multiplied into both weight vectors, the products added to its accumulators ACC0 and ACC1.
// clang-format off
#define TL3_MAD_TOKEN(X, ACC0, ACC1)                          \
    "vpbroadcastd " #X "(%[xq]), %[x]\n\t"                    \
    "vpmaddubsw %[x], %[w0], %[p0]\n\t"                       \
    "vpmaddubsw %[x], %[w1], %[p1]\n\t"                       \
    "vpaddw %[p0], %[" #ACC0 "], %[" #ACC0 "]\n\t"            \
    "vpaddw %[p1], %[" #ACC1 "], %[" #ACC1 "]\n\t"
// clang-format on

// Half `half` of a decoded tile (vectors 2 half and 2 half + 1: 16 rows) over quads [q0, q1)
// (q1 > q0) against the 4 tokens of one block of token quads, added to sums ([4 tokens]
// [4 vectors][8 lanes] int32). Each quad costs 2 weight loads, 4 broadcast loads and 8 maddubs +
// 8 adds. The loop is assembly: from intrinsics GCC 12 added 9 register moves, a spill and two
// reloads per quad to the 22 instructions, and the front end became the limit (a quad chunk in
// L1, 1 thread, Zen 3: 161 against 127 GMAC/s).
void half_chunk(const uint8_t* quads, int64_t q0, int64_t q1, int half, const int8_t* block,
                int32_t* sums) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,
            a7 = a0;  // token j: a(2j) rows of vector 2 half, a(2j+1) of vector 2 half + 1
    __m256i w0, w1, x, p0, p1;
    const uint8_t* w = quads + q0 * kQuadBytes + half * 64;
    const int8_t* xq = block + 16 * q0;
    int64_t n = q1 - q0;
    // AT&T order: vpmaddubsw signed, unsigned, dst (dst = maddubs(unsigned codes, signed x)).
    __asm__("1:\n\t"
            "vmovdqa (%[w]), %[w0]\n\t"
            "vmovdqa 32(%[w]), %[w1]\n\t" TL3_MAD_TOKEN(0, a0, a1) TL3_MAD_TOKEN(4, a2, a3)
                TL3_MAD_TOKEN(8, a4, a5) TL3_MAD_TOKEN(12, a6, a7)
            "add $128, %[w]\n\t"
            "add $16, %[xq]\n\t"
            "dec %[n]\n\t"
            "jnz 1b"
        : [a0] "+x"(a0), [a1] "+x"(a1), [a2] "+x"(a2), [a3] "+x"(a3), [a4] "+x"(a4), [a5] "+x"(a5),
          [a6] "+x"(a6), [a7] "+x"(a7), [w0] "=&x"(w0), [w1] "=&x"(w1), [x] "=&x"(x),
          [p0] "=&x"(p0), [p1] "=&x"(p1), [w] "+r"(w), [xq] "+r"(xq), [n] "+r"(n)
        :
        : "cc", "memory");
#undef TL3_MAD_TOKEN
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i acc[4][2] = {{a0, a1}, {a2, a3}, {a4, a5}, {a6, a7}};
    for (int j = 0; j < 4; ++j) {
        for (int v = 0; v < 2; ++v) {
            auto* dst = reinterpret_cast<__m256i*>(sums + j * 32 + (2 * half + v) * 8);
            _mm256_store_si256(
                dst, _mm256_add_epi32(_mm256_load_si256(dst), _mm256_madd_epi16(acc[j][v], ones)));
        }
    }
}

}  // namespace

void tl3_gemm_decoded_32x4x4__avx2(const MatmulArgs& args) {
    const PackedTernary& w = *args.w;
    const ActivationBatch& a = *args.a;
    // Quads read: the columns of k rounded up to 4 (the activations are zero from k to their
    // stride, a multiple of 128, so padding weights past k add nothing and nothing past the
    // stride is read).
    const int64_t n_quads = (w.cols + 3) / 4;
    // Whole blocks of 4 tokens: a range that starts or ends inside one computes it all and
    // writes only its own tokens.
    const int64_t block_begin = args.token_begin / 4, block_end = (args.token_end + 3) / 4;
    const int64_t blocks = block_end - block_begin;
    uint8_t* quads = thread_scratch(ScratchSlot::decoded_tile,
                                    static_cast<size_t>(w.col_units * kOctetQuads * kQuadBytes));
    auto* sums = reinterpret_cast<int32_t*>(thread_scratch(
        ScratchSlot::tile_sums, static_cast<size_t>(blocks * 4 * 32) * sizeof(int32_t)));
    for (int64_t tile = args.tile_begin; tile < args.tile_end; ++tile) {
        decode_tile(w, tile, quads);
        std::fill(sums, sums + blocks * 4 * 32, 0);
        for (int64_t q0 = 0; q0 < n_quads; q0 += kQuadsPerChunk) {
            const int64_t q1 = std::min(n_quads, q0 + kQuadsPerChunk);
            for (int64_t b = 0; b < blocks; ++b) {
                const int8_t* block = a.quad_block(block_begin + b);
                half_chunk(quads, q0, q1, 0, block, sums + b * 4 * 32);
                half_chunk(quads, q0, q1, 1, block, sums + b * 4 * 32);
            }
        }
        const int64_t first_row = tile * kTl3RowTile;
        for (int64_t t = args.token_begin; t < args.token_end; ++t) {
            // sum (w + 1) q = sum w q + sum q over the columns read, where q is zero past k.
            const int32_t offset = a.token_sum(t);
            const int32_t* token_sums = sums + (t - 4 * block_begin) * 32;
            int32_t* out = args.out + t * args.out_stride + first_row;
            if (first_row + kTl3RowTile <= w.rows) {
                // Vector v holds rows 4v..4v+3 and 16+4v..16+4v+3: rows 0-7 are the low halves of
                // vectors 0 and 1, rows 16-23 their high halves, and so on.
                const __m256i* v = reinterpret_cast<const __m256i*>(token_sums);
                const __m256i v0 = _mm256_load_si256(v), v1 = _mm256_load_si256(v + 1),
                              v2 = _mm256_load_si256(v + 2), v3 = _mm256_load_si256(v + 3);
                const __m256i rows[4] = {_mm256_permute2x128_si256(v0, v1, 0x20),
                                         _mm256_permute2x128_si256(v2, v3, 0x20),
                                         _mm256_permute2x128_si256(v0, v1, 0x31),
                                         _mm256_permute2x128_si256(v2, v3, 0x31)};
                const __m256i off = _mm256_set1_epi32(offset);
                for (int i = 0; i < 4; ++i) {
                    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 8 * i),
                                        _mm256_sub_epi32(rows[i], off));
                }
                continue;
            }
            for (int v = 0; v < 4; ++v) {
                for (int lane = 0; lane < 8; ++lane) {
                    const int64_t row = quad_row(v, lane);
                    if (first_row + row < w.rows) out[row] = token_sums[v * 8 + lane] - offset;
                }
            }
        }
    }
}

}  // namespace tern::kernels
