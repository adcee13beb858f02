// The transformer forward pass over a batch of tokens, with its working buffers.
#pragma once

#include "graph/attention.h"
#include "graph/kv_cache.h"
#include "graph/linear.h"
#include "graph/ops.h"
#include "graph/output_screen.h"
#include "model/model_impl.h"

#include <cstdint>
#include <vector>

namespace tern {

class ThreadPool;

class ForwardPass {
public:
    // Buffers are sized for batches of up to `max_batch` tokens and a cache of `n_ctx` positions.
    ForwardPass(const Model::Impl& model, int64_t n_ctx, int64_t max_batch, KvCacheType kv_type,
                int threads);

    // Runs tokens[0..n) at positions pos0..pos0+n-1 (n <= max_batch), writing them into the KV
    // cache. Logits are computed for the last `n_logits` tokens only (1 for generation, n for
    // perplexity) into `logits` ([n_logits][n_vocab]). Given `needed` (n_logits == 1) and a
    // model with an output screen, only the logits it says are computed (screened_logits), and
    // the rows computed from the file's layer are returned; otherwise 0.
    int64_t run(const Token* tokens, int64_t n, int64_t pos0, int64_t n_logits, float* logits,
                ThreadPool& pool, const LogitsNeeded* needed = nullptr);

    const KvCache& cache() const { return cache_; }

private:
    void embed(const Token* tokens, int64_t n);
    void layer(int64_t index, int64_t n, int64_t pos0, ThreadPool& pool);
    // Runs body(t) for each token, on the pool when there are several tokens.
    template <typename Body>
    void per_token(int64_t n, ThreadPool& pool, const Body& body);

    const Model::Impl& model_;
    const ModelConfig& c_;
    const kernels::FloatKernels& fk_;
    int64_t max_batch_;
    KvCache cache_;
    RopeTable rope_;
    // Activations, row-major [tokens][features]:
    std::vector<float> hidden_;     // [max_batch][n_embd] residual stream
    std::vector<float> normed_;     // [max_batch][max(n_embd, n_ff)] norm output
    std::vector<float> q_;          // [max_batch][n_embd]
    std::vector<float> k_, v_;      // [max_batch][kv_dim]
    std::vector<float> attn_;       // [max_batch][n_embd]
    std::vector<float> gate_, up_;  // [max_batch][n_ff]
    std::vector<float> proj_;       // [max_batch][n_embd] output of attn_output / ffn_down
    QuantizedActivations quantized_;
    LinearScratch linear_scratch_;
    AttentionScratch attention_scratch_;
    ScreenScratch screen_scratch_;
    std::vector<uint8_t> embedding_row_;  // [token_embd.row_bytes] a row read from the file
};

}  // namespace tern
