// AVX2 attention over cached rows for several query heads at once (declarations).
#pragma once

#include "kernels/float_kernels.h"

namespace tern::kernels {

// Calls f.template operator()<H>() with H = count (1 to 4): the kernels' head count as a
// template argument, so their accumulators stay in registers.
template <typename F>
void with_heads(int64_t count, const F& f) {
    switch (count) {
        case 4:
            return f.template operator()<4>();
        case 3:
            return f.template operator()<3>();
        case 2:
            return f.template operator()<2>();
        default:
            return f.template operator()<1>();
    }
}

// FloatKernels::gemv_heads: F16 and F32 rows of a multiple of 32 values; others head by head.
void gemv_heads__avx2(FloatWeightFormat format, const uint8_t* rows, int64_t row_bytes, int64_t n,
                      int64_t len, const float* x, int64_t x_stride, int64_t heads, float* out,
                      int64_t out_stride);

// FloatKernels::add_weighted_rows_heads (and add_weighted_rows, as one head): F16 and F32 rows
// in register-held column blocks; others head by head.
void add_weighted_rows_heads__avx2(FloatWeightFormat format, const float* p, int64_t p_stride,
                                   int64_t n, const uint8_t* rows, int64_t row_bytes, int64_t len,
                                   float* y, int64_t y_stride, int64_t heads);

}  // namespace tern::kernels
