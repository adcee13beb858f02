// The x86 k-quant GEMVs' row loop against int8 activations (--lm-head q6 / q4): rows read as
// far-apart streams, each block's exact integers from the instruction set's own code, then the
// canonical float steps of kquant.h. Templates over a block-sums type local to each kernel file,
// so every instantiation stays in the file (and instruction set) that makes it.
#pragma once

#include "kernels/kquant.h"
#include "kernels/x86/row_streams.h"
#include "kernels/x86/stream_prefetch.h"

#include <immintrin.h>

#include <cstring>

namespace tern::kernels {

// A block's fp16 scale as a float (F16C: exact, as half_to_float).
[[gnu::always_inline]] inline float kquant_half_at(const uint8_t* at) {
    uint16_t h;
    std::memcpy(&h, at, 2);
    return _cvtsh_ss(h);
}

// Rows rows[0..Count) against x, block by block, each into its own canonical float sum.
// BlockSums::q6(block, xq, xsums) is a Q6_K block's S_b; BlockSums::q4(block, xq, xsums, &s, &m)
// a Q4_K block's S_b and M_b (kquant.h).
template <FloatWeightFormat format, int Count, typename BlockSums>
[[gnu::always_inline]] inline void kquant_dot_rows(const BlockSums& sums,
                                                   const uint8_t* const* rows, int64_t blocks,
                                                   const Q8KActivations& x, const uint8_t* end,
                                                   float* out) {
    constexpr bool q6 = format == FloatWeightFormat::q6_k;
    constexpr int64_t block_bytes = q6 ? kQ6KBlockBytes : kQ4KBlockBytes;
    float acc[Count];
    for (int s = 0; s < Count; ++s) acc[s] = 0.0f;
    for (int64_t b = 0; b < blocks; ++b) {
        const int8_t* xq = x.q + kKQuantBlock * b;
        const int16_t* xsums = x.sums + 16 * b;
        for (int s = 0; s < Count; ++s) {
            const uint8_t* block = rows[s] + block_bytes * b;
            prefetch_near_lines(block, block_bytes, end);
            if constexpr (q6) {
                const int32_t s_b = sums.q6(block, xq, xsums);
                acc[s] += static_cast<float>(s_b) * (kquant_half_at(block + 208) * x.d[b]);
            } else {
                int32_t s_b, m_b;
                sums.q4(block, xq, xsums, &s_b, &m_b);
                acc[s] += static_cast<float>(s_b) * (kquant_half_at(block) * x.d[b]);
                acc[s] -= static_cast<float>(m_b) * (kquant_half_at(block + 2) * x.d[b]);
            }
        }
    }
    for (int s = 0; s < Count; ++s) out[s] = acc[s];
}

template <FloatWeightFormat format, typename BlockSums>
void kquant_gemv_rows(const BlockSums& sums, const uint8_t* w, int64_t row_bytes, int64_t m_rows,
                      int64_t k, const Q8KActivations& x, float* out) {
    const uint8_t* end = w + m_rows * row_bytes;
    const int64_t blocks = k / kKQuantBlock;
    far_streams(
        m_rows,
        [&](int64_t first, int64_t stride) {
            const uint8_t* rows[kFloatStreams];
            float dots[kFloatStreams];
            for (int s = 0; s < kFloatStreams; ++s) rows[s] = w + (first + s * stride) * row_bytes;
            kquant_dot_rows<format, kFloatStreams>(sums, rows, blocks, x, end, dots);
            for (int s = 0; s < kFloatStreams; ++s) out[first + s * stride] = dots[s];
        },
        [&](int64_t m) {
            const uint8_t* row = w + m * row_bytes;
            kquant_dot_rows<format, 1>(sums, &row, blocks, x, end, out + m);
        });
}

// FloatKernels::gemv_k_q8 over BlockSums: Q6_K or Q4_K rows as `format` says.
template <typename BlockSums>
void kquant_gemv(const BlockSums& sums, FloatWeightFormat format, const uint8_t* w,
                 int64_t row_bytes, int64_t m_rows, int64_t k, const Q8KActivations& x,
                 float* out) {
    if (format == FloatWeightFormat::q6_k) {
        kquant_gemv_rows<FloatWeightFormat::q6_k>(sums, w, row_bytes, m_rows, k, x, out);
    } else {
        kquant_gemv_rows<FloatWeightFormat::q4_k>(sums, w, row_bytes, m_rows, k, x, out);
    }
}

}  // namespace tern::kernels
