// Linear layers over a batch of tokens: BitLinear (int8 activations x ternary or float weights)
// and plain float linears.
#pragma once

#include "model/weights.h"

#include <cstdint>
#include <vector>

namespace tern {

class ThreadPool;

// One batch of activations quantised per token, shared by every linear that reads the same
// norm output (Q/K/V; gate/up). Buffers grow to the largest batch and are then reused.
struct QuantizedActivations {
    int64_t n_tokens = 0;
    int64_t k = 0;
    std::vector<int8_t> q;       // [n_tokens][k]
    std::vector<float> scale;    // [n_tokens]: 127 / absmax
    std::vector<int32_t> sum;    // [n_tokens]: sum of q
    std::vector<float> dequant;  // [n_tokens][k]: q / scale, only for float-weight BitLinears
    bool has_dequant = false;

    void quantize(const float* x, int64_t n_tokens, int64_t k, ThreadPool& pool);
    const float* dequantized();  // computes `dequant` on first use
};

// Scratch a linear layer needs; sized on first use, reused afterwards.
struct LinearScratch {
    std::vector<int32_t> acc;  // [n_tokens][rows] integer sums (per group for grouped scales)
};

// out[n][rows] = W x[n] for n < n_tokens. `x` are the float inputs ([n_tokens][cols]) and `qx`
// their quantised form (used when w.quantize_input). out has row stride w.rows().
void linear_forward(const LinearWeight& w, const float* x, QuantizedActivations& qx,
                    int64_t n_tokens, float* out, LinearScratch& scratch, ThreadPool& pool);

}  // namespace tern
