// NEON kernels (declarations): quantiser, table builder, i2 multiply-add and tl3 lookup kernels.
#pragma once

#include "kernels/float_kernels.h"
#include "kernels/ternary_matmul.h"

#include <arm_neon.h>

#include <cstring>

namespace tern::kernels {

// The fp16 value stored at `at` as a float, by the FPU's conversion (exact, as half_to_float,
// without its branches).
inline float neon_half_at(const uint8_t* at) {
    uint16_t h;
    std::memcpy(&h, at, 2);
    return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0);
}

QuantizedRowInfo quantize_row_i8__neon(const float* x, int64_t n, int8_t* q);
void build_tl3_tables__neon(ActivationBatch& a, int64_t token_begin, int64_t token_end);

// i2 with widening multiplies (vmull_s8 + vpadal), for cores without the dotprod extension.
void i2_gemv_4x128__neon(const MatmulArgs& args);
void i2_gemm_1x128x4__neon(const MatmulArgs& args);
// i2 with SDOT (Armv8.2 dotprod).
void i2_gemv_4x128__neondot(const MatmulArgs& args);
void i2_gemm_1x128x4__neondot(const MatmulArgs& args);

const FloatKernels& neon_float_kernels();
// FloatKernels::gemv for Q6_K / Q4_K rows with float activations (kquant_gemv__neon.cpp): each
// weight decoded exactly as float_rows decodes it, then the canonical float dot.
void gemv_k_float__neon(FloatWeightFormat format, const uint8_t* w, int64_t row_bytes,
                        int64_t m_rows, int64_t k, const float* x, float* out);
// FloatKernels::gemv_k_q8 (kquant_gemv__neon.cpp).
void gemv_k_q8__neon(FloatWeightFormat format, const uint8_t* w, int64_t row_bytes, int64_t m_rows,
                     int64_t k, const Q8KActivations& x, float* out);

// tl3 with TBL lookups.
void tl3_gemv_32x3__neon(const MatmulArgs& args);
void tl3_gemm_32x3x4__neon(const MatmulArgs& args);

}  // namespace tern::kernels
