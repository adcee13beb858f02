// NEON i2 kernels with widening multiplies (no dotprod): products of trits and activations in
// int16 (vmull_s8), pairwise accumulated into int32 (vpadalq_s16). Exact for any K.
#include "kernels/arm/i2_unpack__neon.h"
#include "kernels/arm/neon_kernels.h"

#include <algorithm>

namespace tern::kernels {

using namespace neon;

namespace {

inline int32x4_t block_dot(int32x4_t acc, const I2Trits& w, const int8_t* q) {
    for (int v = 0; v < 8; ++v) {
        const int8x16_t a = vld1q_s8(q + 16 * v);
        acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(w.t[v]), vget_low_s8(a)));
        acc = vpadalq_s16(acc, vmull_high_s8(w.t[v], a));
    }
    return acc;
}

template <int T>
void row_tokens(const MatmulArgs& args, int64_t tile, int64_t r, int64_t t0) {
    const PackedTernary& w = *args.w;
    int32x4_t acc[T];
    for (int j = 0; j < T; ++j) acc[j] = vdupq_n_s32(0);
    const uint8_t* row = i2_block(w, tile * kI2RowTile + r, 0);
    for (int64_t b = args.unit_begin; b < args.unit_end; ++b) {
        const I2Trits trits = unpack_i2_block(row + b * kI2BlockStride);
        for (int j = 0; j < T; ++j)
            acc[j] = block_dot(acc[j], trits, args.a->token_q(t0 + j) + b * kI2ColBlock);
    }
    for (int j = 0; j < T; ++j)
        args.out[(t0 + j) * args.out_stride + tile * kI2RowTile + r] = vaddvq_s32(acc[j]);
}

}  // namespace

void i2_gemv_4x128__neon(const MatmulArgs& args) {
    const PackedTernary& w = *args.w;
    for (int64_t t = args.token_begin; t < args.token_end; ++t) {
        for (int64_t tile = args.tile_begin; tile < args.tile_end; ++tile) {
            for (int64_t r = 0; r < kI2RowTile && tile * kI2RowTile + r < w.rows; ++r)
                row_tokens<1>(args, tile, r, t);
        }
    }
}

void i2_gemm_1x128x4__neon(const MatmulArgs& args) {
    const PackedTernary& w = *args.w;
    for (int64_t tile = args.tile_begin; tile < args.tile_end; ++tile) {
        for (int64_t r = 0; r < kI2RowTile && tile * kI2RowTile + r < w.rows; ++r) {
            int64_t t = args.token_begin;
            for (; t + 4 <= args.token_end; t += 4) row_tokens<4>(args, tile, r, t);
            for (; t < args.token_end; ++t) row_tokens<1>(args, tile, r, t);
        }
    }
}

}  // namespace tern::kernels
