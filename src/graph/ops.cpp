// Float operations of the graph: RMSNorm and gated activations over the float kernels, RoPE.
#include "graph/ops.h"

#include <cmath>

namespace tern {

void rms_norm(const kernels::FloatKernels& k, const float* x, const float* weight, int64_t n,
              float eps, float* y) {
    const float mean = k.sum_squares(x, n) / static_cast<float>(n);
    const float inv = 1.0f / std::sqrt(mean + eps);
    k.scale_mul(x, inv, weight, y, n);
}

void gated_activation(const kernels::FloatKernels& k, FfnActivation act, float* gate,
                      const float* up, int64_t n) {
    if (act == FfnActivation::silu) {
        k.silu_mul(gate, up, n);
    } else {
        k.relu_squared_mul(gate, up, n);
    }
}

RopeTable::RopeTable(int64_t n_ctx, int64_t n_rot, float freq_base) : half_(n_rot / 2) {
    cos_.resize(static_cast<size_t>(n_ctx * half_));
    sin_.resize(static_cast<size_t>(n_ctx * half_));
    for (int64_t j = 0; j < half_; ++j) {
        const double inv_freq =
            std::pow(static_cast<double>(freq_base),
                     -2.0 * static_cast<double>(j) / static_cast<double>(n_rot));
        for (int64_t pos = 0; pos < n_ctx; ++pos) {
            const double theta = static_cast<double>(pos) * inv_freq;
            cos_[static_cast<size_t>(pos * half_ + j)] = static_cast<float>(std::cos(theta));
            sin_[static_cast<size_t>(pos * half_ + j)] = static_cast<float>(std::sin(theta));
        }
    }
}

void RopeTable::apply(RopeStyle style, float* x, int64_t n_heads, int64_t head_dim,
                      int64_t pos) const {
    const float* c = cos_.data() + pos * half_;
    const float* s = sin_.data() + pos * half_;
    // One loop per style, each with fixed strides so the compiler vectorises it (the rotation of
    // each pair is the same multiplies and adds either way).
    for (int64_t h = 0; h < n_heads; ++h) {
        float* head = x + h * head_dim;
        if (style == RopeStyle::norm) {  // pairs (2j, 2j + 1)
            for (int64_t j = 0; j < half_; ++j) {
                const float x0 = head[2 * j], x1 = head[2 * j + 1];
                head[2 * j] = x0 * c[j] - x1 * s[j];
                head[2 * j + 1] = x0 * s[j] + x1 * c[j];
            }
        } else {  // pairs (j, j + half)
            float* lo = head;
            float* hi = head + half_;
            for (int64_t j = 0; j < half_; ++j) {
                const float x0 = lo[j], x1 = hi[j];
                lo[j] = x0 * c[j] - x1 * s[j];
                hi[j] = x0 * s[j] + x1 * c[j];
            }
        }
    }
}

}  // namespace tern
