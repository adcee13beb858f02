// AVX2 tl3 GEMV: per group of 3 columns, two pshufb lookups give the partial sums of 32 rows.
#include "kernels/x86/tl3_gemm__avx2.h"
#include "kernels/x86/tl3_lookup__avx2.h"

#include <algorithm>

namespace tern::kernels {

using namespace avx2;

void tl3_gemv_32x3__avx2(const MatmulArgs& args) {
    const PackedTernary& w = *args.w;
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
                for (; o < chunk_end; ++o) {
                    const uint8_t* octet = base + o * kTl3OctetBytes;
                    const uint8_t* tab = tables + o * 8 * 32;
                    _mm_prefetch(reinterpret_cast<const char*>(octet + 4096), _MM_HINT_NTA);
                    _mm_prefetch(reinterpret_cast<const char*>(octet + 4096 + 64), _MM_HINT_NTA);
                    _mm_prefetch(reinterpret_cast<const char*>(octet + 4096 + 128), _MM_HINT_NTA);
                    decode_octet(octet, [&](int g, const Tl3Group& group) {
                        lookup_add(group, tab + g * 32, lo, hi);
                    });
                }
                widen(lo, hi, acc32);
            }
            store_tile(acc32, w.neg_count.data() + tile * kTl3RowTile, tile * kTl3RowTile, w.rows,
                       out);
        }
    }
}

}  // namespace tern::kernels
