// Per-row float operations of the transformer graph, on the active kernel set's float kernels
// (one canonical operation order on every ISA).
#pragma once

#include "kernels/float_kernels.h"

#include <tern/model.h>

#include <cstdint>
#include <vector>

namespace tern {

// y = x / sqrt(mean(x^2) + eps) * weight for one row of n floats. x and y may alias.
void rms_norm(const kernels::FloatKernels& k, const float* x, const float* weight, int64_t n,
              float eps, float* y);

// gate[i] = act(gate[i]) * up[i] with act = SiLU (x / (1 + e^-x)) or ReLU² (max(x, 0)^2).
void gated_activation(const kernels::FloatKernels& k, FfnActivation act, float* gate,
                      const float* up, int64_t n);

// Rotary position embedding tables: cos/sin of pos * base^(-2j / n_rot) for j < n_rot / 2,
// computed in double and rounded to float; rows for positions 0..n_ctx-1.
class RopeTable {
public:
    RopeTable(int64_t n_ctx, int64_t n_rot, float freq_base);
    // Rotates the first n_rot dimensions of each of `n_heads` heads (head_dim floats apart) of
    // one token at position `pos`: NORM pairs (2j, 2j+1), NEOX pairs (j, j + n_rot/2).
    void apply(RopeStyle style, float* x, int64_t n_heads, int64_t head_dim, int64_t pos) const;

private:
    int64_t half_;
    std::vector<float> cos_, sin_;  // [n_ctx][n_rot / 2]
};

}  // namespace tern
