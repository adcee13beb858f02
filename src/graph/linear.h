// Linear layers over a batch of tokens: BitLinear (int8 activations x ternary or float weights)
// and plain float linears, dispatched to the active kernel set.
#pragma once

#include "kernels/ternary_matmul.h"
#include "model/weights.h"

#include <cstdint>
#include <span>
#include <vector>

namespace tern {

class ThreadPool;

// One batch of activations quantised per token, shared by every linear that reads the same
// norm output (Q/K/V; gate/up). Buffers grow to the largest batch and are then reused.
class QuantizedActivations {
public:
    void quantize(const float* x, int64_t n_tokens, int64_t k, ThreadPool& pool);
    const kernels::ActivationBatch& batch() const { return batch_; }
    // What `kernel` reads beyond q (tl3 tables or token quads), built on first use after each
    // quantize().
    void prepare(const kernels::NamedKernel& kernel, ThreadPool& pool);
    // q / scale per element ([n_tokens][k]), for BitLinears whose weights are not ternary.
    const float* dequantized();

private:
    kernels::ActivationBatch batch_;
    std::vector<float> dequant_;
    bool has_dequant_ = false;
};

// Scratch a linear layer needs; sized on first use, reused afterwards.
struct LinearScratch {
    std::vector<int32_t> acc;  // [n_tokens][rows] integer sums
    // Int8 activations of an int8_activations layer: [n_tokens][cols] values, their scales
    // ([n_tokens][cols / 32] for Q8_0, [n_tokens][cols / 256] for the k-quants) and, for the
    // k-quants, the sums of each 16 values ([n_tokens][cols / 16]).
    std::vector<int8_t> q8;
    std::vector<float> q8_scales;
    std::vector<int16_t> q8_sums;
};

// out[n][rows] = W x[n] for n < n_tokens. `x` are the float inputs ([n_tokens][cols]) and `qx`
// their quantised form (used when w.quantize_input). out has row stride w.rows().
void linear_forward(const LinearWeight& w, const float* x, QuantizedActivations& qx,
                    int64_t n_tokens, float* out, LinearScratch& scratch, ThreadPool& pool);

// out[n][rows] = M x[n] for a Q8_0 / Q6_K / Q4_K matrix (an output layer requantized at load,
// or a screen) against int8 activations, each token quantised once: per 32 values for Q8_0
// (scratch.q8, scratch.q8_scales), per 256 (with 16-value sums) for the k-quants.
void int8_activation_forward(const FloatMatrix& m, const float* x, int64_t n_tokens, float* out,
                             LinearScratch& scratch, ThreadPool& pool);

// One of several linears reading the same input: its weights and its output [n_tokens][rows].
struct LinearTarget {
    const LinearWeight* w;
    float* out;
};

// linear_forward for each target, all reading x / qx (Q, K and V; gate and up). For one token
// with ternary weights of one layout they run as one job (one token through a single ternary
// linear_forward is that job with one target): the threads split the matrices' row tiles taken
// together, so each reads one stream through all of them with no join in between (up to 4
// targets; more run one by one). Each output is computed as linear_forward computes it.
void linear_forward_shared(std::span<const LinearTarget> targets, const float* x,
                           QuantizedActivations& qx, int64_t n_tokens, LinearScratch& scratch,
                           ThreadPool& pool);

// Has each of the pool's workers read into its cache, while it waits, the start of its share of
// the job that linear_forward_shared(targets, ...) will run for one token next (only `w` is
// used): ThreadPool::prefetch_while_idle on the range parallel_for_balanced would give it now.
// Call it after the job before, so the caller's work in between (norms, attention) overlaps
// reading weights. Nothing for one thread, or for targets that do not run as one ternary job.
void prefetch_next_one_token_job(std::span<const LinearTarget> targets, ThreadPool& pool);

}  // namespace tern
