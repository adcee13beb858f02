// Scalar reference for per-token int8 activation quantisation.
#include "kernels/activation_quant.h"

#include <algorithm>
#include <cmath>

namespace tern::kernels {

QuantizedRowInfo quantize_row_i8_scalar(const float* x, int64_t n, int8_t* q) {
    float amax = 0.0f;
    for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float scale = 127.0f / std::max(amax, 1e-5f);
    int32_t sum = 0;
    for (int64_t i = 0; i < n; ++i) {
        // nearbyint rounds half to even in the default rounding mode, like torch.round.
        const float r = std::nearbyint(x[i] * scale);
        const int32_t v = static_cast<int32_t>(std::clamp(r, -128.0f, 127.0f));
        q[i] = static_cast<int8_t>(v);
        sum += v;
    }
    return {scale, sum};
}

}  // namespace tern::kernels
