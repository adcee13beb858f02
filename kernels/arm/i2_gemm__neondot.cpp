// NEON i2 kernels with SDOT (Armv8.2 dotprod): 16 trit x int8 products per instruction, summed
// straight into int32 lanes. Compiled with +dotprod; chosen only when the CPU reports it.
#include "kernels/arm/i2_unpack__neon.h"
#include "kernels/arm/neon_kernels.h"

namespace tern::kernels {

using namespace neon;

namespace {

inline int32x4_t block_dot(int32x4_t acc, const I2Trits& w, const int8_t* q) {
    for (int v = 0; v < 8; ++v) acc = vdotq_s32(acc, w.t[v], vld1q_s8(q + 16 * v));
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

void i2_gemv_4x128__neondot(const MatmulArgs& args) {
    const PackedTernary& w = *args.w;
    for (int64_t t = args.token_begin; t < args.token_end; ++t) {
        for (int64_t tile = args.tile_begin; tile < args.tile_end; ++tile) {
            for (int64_t r = 0; r < kI2RowTile && tile * kI2RowTile + r < w.rows; ++r)
                row_tokens<1>(args, tile, r, t);
        }
    }
}

void i2_gemm_1x128x4__neondot(const MatmulArgs& args) {
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
