// NEON tl3 kernels: per group of 3 columns, TBL looks up the low and high bytes of the 16-bit
// partial sums for 16 rows at a time; negative groups take the one's complement (XOR 0xFF), which
// neg_count corrects at the end, exactly as in the AVX2 kernels.
#include "kernels/arm/neon_kernels.h"

#include <arm_neon.h>

#include <algorithm>

namespace tern::kernels {

namespace {

// int16 accumulators of a 32-row tile: a[0] rows 0-7, a[1] 8-15, a[2] 16-23, a[3] 24-31.
struct Acc16 {
    int16x8_t a[4];
};

// Indices and sign masks of group g for rows 0-15 (h = 0) and 16-31 (h = 1).
struct Group {
    uint8x16_t index[2];
    uint8x16_t sign[2];
};

inline Group decode(const uint8_t* octet, int g) {
    Group d;
    for (int h = 0; h < 2; ++h) {
        const uint8x16_t bytes = vld1q_u8(octet + (g / 2) * 32 + 16 * h);
        d.index[h] = (g % 2 == 0) ? vandq_u8(bytes, vdupq_n_u8(0x0F)) : vshrq_n_u8(bytes, 4);
        const uint8x16_t signs = vld1q_u8(octet + 128 + 16 * h);
        d.sign[h] = vtstq_u8(signs, vdupq_n_u8(static_cast<uint8_t>(1 << g)));
    }
    return d;
}

inline void lookup_add(const Group& d, const uint8_t* table, Acc16& acc) {
    const uint8x16_t t_lo = vld1q_u8(table), t_hi = vld1q_u8(table + 16);
    for (int h = 0; h < 2; ++h) {
        const uint8x16_t lo = veorq_u8(vqtbl1q_u8(t_lo, d.index[h]), d.sign[h]);
        const uint8x16_t hi = veorq_u8(vqtbl1q_u8(t_hi, d.index[h]), d.sign[h]);
        acc.a[2 * h] = vaddq_s16(acc.a[2 * h], vreinterpretq_s16_u8(vzip1q_u8(lo, hi)));
        acc.a[2 * h + 1] = vaddq_s16(acc.a[2 * h + 1], vreinterpretq_s16_u8(vzip2q_u8(lo, hi)));
    }
}

// Octets per widening: 64 groups * 385 < 32767.
constexpr int64_t kOctetsPerWiden = 8;

template <int T>
void tile_tokens(const MatmulArgs& args, int64_t tile, int64_t t0) {
    const PackedTernary& w = *args.w;
    int32x4_t acc32[T][8];
    for (int j = 0; j < T; ++j) {
        for (int i = 0; i < 8; ++i) acc32[j][i] = vdupq_n_s32(0);
    }
    const uint8_t* base = w.data.get() + tile * w.col_units * kTl3OctetBytes;
    for (int64_t o = 0; o < w.col_units;) {
        const int64_t chunk_end = std::min(w.col_units, o + kOctetsPerWiden);
        Acc16 acc[T];
        for (int j = 0; j < T; ++j) {
            for (int i = 0; i < 4; ++i) acc[j].a[i] = vdupq_n_s16(0);
        }
        for (; o < chunk_end; ++o) {
            const uint8_t* octet = base + o * kTl3OctetBytes;
            for (int g = 0; g < 8; ++g) {
                const Group d = decode(octet, g);
                for (int j = 0; j < T; ++j)
                    lookup_add(d, args.a->token_tables(t0 + j) + (o * 8 + g) * 32, acc[j]);
            }
        }
        for (int j = 0; j < T; ++j) {
            for (int i = 0; i < 4; ++i) {
                acc32[j][2 * i] = vaddw_s16(acc32[j][2 * i], vget_low_s16(acc[j].a[i]));
                acc32[j][2 * i + 1] = vaddw_high_s16(acc32[j][2 * i + 1], acc[j].a[i]);
            }
        }
    }
    const int64_t first = tile * kTl3RowTile;
    const int64_t n = std::min<int64_t>(kTl3RowTile, w.rows - first);
    for (int j = 0; j < T; ++j) {
        int32_t sums[32];
        for (int i = 0; i < 8; ++i) {
            vst1q_s32(sums + 4 * i,
                      vaddq_s32(acc32[j][i], vld1q_s32(w.neg_count.data() + first + 4 * i)));
        }
        int32_t* out = args.out + (t0 + j) * args.out_stride + first;
        for (int64_t r = 0; r < n; ++r) out[r] = sums[r];
    }
}

}  // namespace

void tl3_gemv_32x3__neon(const MatmulArgs& args) {
    for (int64_t t = args.token_begin; t < args.token_end; ++t) {
        for (int64_t tile = args.tile_begin; tile < args.tile_end; ++tile)
            tile_tokens<1>(args, tile, t);
    }
}

void tl3_gemm_32x3x4__neon(const MatmulArgs& args) {
    for (int64_t tile = args.tile_begin; tile < args.tile_end; ++tile) {
        int64_t t = args.token_begin;
        for (; t + 4 <= args.token_end; t += 4) tile_tokens<4>(args, tile, t);
        for (; t < args.token_end; ++t) tile_tokens<1>(args, tile, t);
    }
}

}  // namespace tern::kernels
