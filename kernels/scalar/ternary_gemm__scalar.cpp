// Scalar kernels for every ternary layout: the ref layout's plain loop, and per-element
// emulations of the i2 (multiply-add with the w+1 offset) and tl3 (table lookup with one's
// complement signs) algorithms, used on CPUs without SIMD and to check the layouts.
#include "kernels/scalar/ternary_gemm__scalar.h"

#include "kernels/ternary_ref.h"

#include <algorithm>

namespace tern::kernels {

void ref_gemm__scalar(const MatmulArgs& args) {
    const PackedTernary& w = *args.w;
    const int64_t row_bytes = ternary_ref_row_bytes(w.cols);
    const int64_t first_col = args.unit_begin * kI2ColBlock;
    const int64_t cols = std::min(w.cols, args.unit_end * kI2ColBlock) - first_col;
    const int64_t row_end = std::min(args.tile_end, w.rows);
    for (int64_t t = args.token_begin; t < args.token_end; ++t) {
        ternary_gemm_ref(w.data.get() + args.tile_begin * row_bytes + first_col / 4, row_bytes,
                         row_end - args.tile_begin, cols, args.a->token_q(t) + first_col, 0, 1,
                         args.out + t * args.out_stride + args.tile_begin, 0);
    }
}

void i2_gemm__scalar(const MatmulArgs& args) {
    const PackedTernary& w = *args.w;
    for (int64_t t = args.token_begin; t < args.token_end; ++t) {
        const int8_t* q = args.a->token_q(t);
        const int32_t* block_sums = args.a->token_block_sums(t);
        for (int64_t tile = args.tile_begin; tile < args.tile_end; ++tile) {
            for (int64_t r = 0; r < kI2RowTile; ++r) {
                const int64_t row = tile * kI2RowTile + r;
                if (row >= w.rows) break;
                int32_t sum = 0;  // sum of (t + 1) * q, then minus sum of q
                for (int64_t b = args.unit_begin; b < args.unit_end; ++b) {
                    const uint8_t* bytes = i2_block(w, row, b);
                    for (int q4 = 0; q4 < 4; ++q4) {
                        for (int j = 0; j < 32; ++j) {
                            const int code = (bytes[j] >> (6 - 2 * q4)) & 3;
                            sum += code * q[b * kI2ColBlock + 32 * q4 + j];
                        }
                    }
                    sum -= block_sums[b];
                }
                args.out[t * args.out_stride + row] = sum;
            }
        }
    }
}

void tl3_gemm__scalar(const MatmulArgs& args) {
    const PackedTernary& w = *args.w;
    for (int64_t t = args.token_begin; t < args.token_end; ++t) {
        const uint8_t* tables = args.a->token_tables(t);
        for (int64_t tile = args.tile_begin; tile < args.tile_end; ++tile) {
            for (int64_t r = 0; r < kTl3RowTile; ++r) {
                const int64_t row = tile * kTl3RowTile + r;
                if (row >= w.rows) break;
                int32_t sum = w.neg_count[static_cast<size_t>(row)];
                for (int64_t o = 0; o < w.col_units; ++o) {
                    const uint8_t* octet = w.data.get() + (tile * w.col_units + o) * kTl3OctetBytes;
                    for (int g = 0; g < 8; ++g) {
                        const uint8_t* table = tables + (o * 8 + g) * 32;
                        const int index = (octet[(g / 2) * 32 + r] >> (4 * (g % 2))) & 0xF;
                        auto value = static_cast<uint16_t>(table[index] | (table[16 + index] << 8));
                        if ((octet[128 + r] >> g) & 1) value = static_cast<uint16_t>(~value);
                        sum += static_cast<int16_t>(value);
                    }
                }
                args.out[t * args.out_stride + row] = sum;
            }
        }
    }
}

}  // namespace tern::kernels
