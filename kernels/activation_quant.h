// Per-token int8 activation quantisation, exactly as BitNet b1.58 training does it.
#pragma once

#include <cstdint>

namespace tern::kernels {

// What quantising one token's activations produced.
struct QuantizedRowInfo {
    float scale;  // 127 / max(max|x|, 1e-5): q = x * scale rounded; x ~= q / scale
    int32_t sum;  // sum of the q values (kernels that store weights as w + 1 subtract it)
};

// q[i] = clamp(round_half_even(x[i] * scale), -128, 127) with scale as above, computed in float
// exactly as PyTorch's `(x * (127 / x.abs().max().clamp(min=1e-5))).round().clamp(-128, 127)`.
// x: n floats; q: n int8. NaN inputs are not expected (the graph never produces them).
QuantizedRowInfo quantize_row_i8_scalar(const float* x, int64_t n, int8_t* q);

}  // namespace tern::kernels
