// Causal grouped-query attention over the KV cache.
#pragma once

#include "graph/kv_cache.h"
#include "kernels/float_kernels.h"

#include <tern/model.h>

#include <vector>

namespace tern {

class ThreadPool;

// Working memory for attention, sized once per session.
struct AttentionScratch {
    std::vector<std::vector<float>> scores;  // per thread: [group][n_ctx]
    std::vector<float> token_scores;  // one token's, shared by several threads: [n_head][n_ctx]
    // group: the query heads sharing a KV head (n_head / n_head_kv).
    void reserve(int threads, int64_t n_head, int64_t group, int64_t n_ctx);
};

// For each token t < n_tokens at position pos0 + t and each query head h:
//   out[t][h] = sum_j softmax_j(q[t][h] . K[j][g] / sqrt(head_dim)) V[j][g],  j <= pos0 + t,
// where g = h / (n_head / n_head_kv) is the head's KV group. Each dot product and the weighted
// sum follow the canonical float order, so results do not depend on the thread count. q and out are
// [n_tokens][n_embd]; the cache must already hold positions 0..pos0+n_tokens-1 for this layer.
void attention(const kernels::FloatKernels& fk, const KvCache& cache, int64_t layer,
               const ModelConfig& config, const float* q, int64_t n_tokens, int64_t pos0,
               float* out, AttentionScratch& scratch, ThreadPool& pool);

}  // namespace tern
