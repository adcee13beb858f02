// AVX2 tl3 GEMM: each group's indices and signs are decoded once and looked up for 4 tokens.
#include "kernels/x86/tl3_gemm__avx2.h"
#include "kernels/x86/tl3_lookup__avx2.h"

#include <algorithm>

namespace tern::kernels {

using namespace avx2;

namespace {

template <int T>
struct TokenAccumulators {
    __m256i lo[T], hi[T];
};

template <int T>
void tile_tokens(const MatmulArgs& args, int64_t tile, int64_t t0) {
    const PackedTernary& w = *args.w;
    const uint8_t* tables[T];
    __m256i acc32[T][4];
    for (int j = 0; j < T; ++j) {
        tables[j] = args.a->token_tables(t0 + j);
        for (int i = 0; i < 4; ++i) acc32[j][i] = _mm256_setzero_si256();
    }
    const uint8_t* base = w.data.get() + tile * w.col_units * kTl3OctetBytes;
    for (int64_t o = 0; o < w.col_units;) {
        const int64_t chunk_end = std::min(w.col_units, o + kTl3OctetsPerWiden);
        TokenAccumulators<T> acc;
        for (int j = 0; j < T; ++j) acc.lo[j] = acc.hi[j] = _mm256_setzero_si256();
        for (; o < chunk_end; ++o) {
            const uint8_t* octet = base + o * kTl3OctetBytes;
            decode_octet(octet, [&](int g, const Tl3Group& group) {
                for (int j = 0; j < T; ++j)
                    lookup_add(group, tables[j] + (o * 8 + g) * 32, acc.lo[j], acc.hi[j]);
            });
        }
        for (int j = 0; j < T; ++j) widen(acc.lo[j], acc.hi[j], acc32[j]);
    }
    for (int j = 0; j < T; ++j) {
        store_tile(acc32[j], w.neg_count.data() + tile * kTl3RowTile, tile * kTl3RowTile, w.rows,
                   args.out + (t0 + j) * args.out_stride);
    }
}

}  // namespace

void tl3_gemm_32x3x4__avx2(const MatmulArgs& args) {
    for (int64_t tile = args.tile_begin; tile < args.tile_end; ++tile) {
        int64_t t = args.token_begin;
        for (; t + 4 <= args.token_end; t += 4) tile_tokens<4>(args, tile, t);
        for (; t < args.token_end; ++t) tile_tokens<1>(args, tile, t);
    }
}

}  // namespace tern::kernels
