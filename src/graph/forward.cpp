// The transformer forward pass: embedding, pre-norm attention and FFN blocks, output logits.
#include "graph/forward.h"

#include "graph/kernel_choice.h"
#include "util/thread_pool.h"

#include <algorithm>

namespace tern {

namespace {
constexpr int64_t kKvPrefetchBytes = int64_t{256} << 10;
}  // namespace

ForwardPass::ForwardPass(const Model::Impl& model, int64_t n_ctx, int64_t max_batch,
                         KvCacheType kv_type, int threads)
    : model_(model),
      c_(model.config),
      fk_(*active_kernels().floats),
      max_batch_(max_batch),
      cache_(kv_type, c_.n_layer, n_ctx, c_.n_head_kv, c_.head_dim),
      rope_(n_ctx, c_.n_rot, c_.rope_freq_base) {
    const auto b = static_cast<size_t>(max_batch);
    const auto embd = static_cast<size_t>(c_.n_embd), ff = static_cast<size_t>(c_.n_ff);
    const auto kv = static_cast<size_t>(c_.n_head_kv * c_.head_dim);
    hidden_.resize(b * embd);
    normed_.resize(b * std::max(embd, ff));
    q_.resize(b * embd);
    k_.resize(b * kv);
    v_.resize(b * kv);
    attn_.resize(b * embd);
    gate_.resize(b * ff);
    up_.resize(b * ff);
    proj_.resize(b * embd);
    embedding_row_.resize(static_cast<size_t>(model.weights.token_embd.row_bytes));
    attention_scratch_.reserve(threads, c_.n_head, c_.n_head / c_.n_head_kv, n_ctx);
}

template <typename Body>
void ForwardPass::per_token(int64_t n, ThreadPool& pool, const Body& body) {
    if (n == 1) {
        body(0);
        return;
    }
    pool.parallel_for(n, 1, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) body(t);
    });
}

void ForwardPass::embed(const Token* tokens, int64_t n) {
    const FloatMatrix& e = model_.weights.token_embd;
    for (int64_t t = 0; t < n; ++t) {
        kernels::dequantize_row(e.format, read_row(e, tokens[t], embedding_row_.data()), e.cols,
                                hidden_.data() + t * c_.n_embd);
    }
}

void ForwardPass::layer(int64_t index, int64_t n, int64_t pos0, ThreadPool& pool) {
    const LayerWeights& w = model_.weights.layers[static_cast<size_t>(index)];
    const int64_t embd = c_.n_embd, ff = c_.n_ff, kv_dim = c_.n_head_kv * c_.head_dim;
    float* h = hidden_.data();
    float* x = normed_.data();

    // Attention block. The first 256 KiB of the layer's cached keys and values (102 positions
    // of 2B-4T) are asked for now, to arrive while Q, K and V are computed: attention took 25-35
    // against 34-42 us per layer (tg128, 1 thread; 1 MiB was no better).
    cache_.prefetch_layer(index, pos0, kKvPrefetchBytes);
    per_token(n, pool, [&](int64_t t) {
        rms_norm(fk_, h + t * embd, w.attn_norm.data(), embd, c_.rms_eps, x + t * embd);
    });
    quantized_.quantize(x, n, embd, pool);  // shared by Q, K and V
    const LinearTarget qkv[] = {{&w.wq, q_.data()}, {&w.wk, k_.data()}, {&w.wv, v_.data()}};
    linear_forward_shared(qkv, x, quantized_, n, linear_scratch_, pool);
    // After each of one token's ternary jobs the workers are told the next (O, gate and up, down,
    // the next layer's Q, K and V), whose start they read while the caller works in between.
    const LinearTarget o[] = {{&w.wo, proj_.data()}};
    if (n == 1) prefetch_next_one_token_job(o, pool);
    per_token(n, pool, [&](int64_t t) {
        rope_.apply(c_.rope, q_.data() + t * embd, c_.n_head, c_.head_dim, pos0 + t);
        rope_.apply(c_.rope, k_.data() + t * kv_dim, c_.n_head_kv, c_.head_dim, pos0 + t);
        cache_.store(fk_, index, pos0 + t, k_.data() + t * kv_dim, v_.data() + t * kv_dim);
    });
    attention(fk_, cache_, index, c_, q_.data(), n, pos0, attn_.data(), attention_scratch_, pool);
    if (c_.sub_norms) {
        per_token(n, pool, [&](int64_t t) {
            rms_norm(fk_, attn_.data() + t * embd, w.attn_sub_norm.data(), embd, c_.rms_eps,
                     attn_.data() + t * embd);
        });
    }
    quantized_.quantize(attn_.data(), n, embd, pool);
    linear_forward(w.wo, attn_.data(), quantized_, n, proj_.data(), linear_scratch_, pool);
    const LinearTarget gate_up[] = {{&w.gate, gate_.data()}, {&w.up, up_.data()}};
    if (n == 1) prefetch_next_one_token_job(gate_up, pool);
    fk_.add(h, proj_.data(), n * embd);

    // Feed-forward block.
    per_token(n, pool, [&](int64_t t) {
        rms_norm(fk_, h + t * embd, w.ffn_norm.data(), embd, c_.rms_eps, x + t * embd);
    });
    quantized_.quantize(x, n, embd, pool);  // shared by gate and up
    linear_forward_shared(gate_up, x, quantized_, n, linear_scratch_, pool);
    const LinearTarget down[] = {{&w.down, proj_.data()}};
    if (n == 1) prefetch_next_one_token_job(down, pool);
    per_token(n, pool, [&](int64_t t) {
        float* g = gate_.data() + t * ff;
        gated_activation(fk_, c_.activation, g, up_.data() + t * ff, ff);
        if (c_.sub_norms) rms_norm(fk_, g, w.ffn_sub_norm.data(), ff, c_.rms_eps, g);
    });
    quantized_.quantize(gate_.data(), n, ff, pool);
    linear_forward(w.down, gate_.data(), quantized_, n, proj_.data(), linear_scratch_, pool);
    if (n == 1 && index + 1 < c_.n_layer) {
        const LayerWeights& next = model_.weights.layers[static_cast<size_t>(index + 1)];
        const LinearTarget next_qkv[] = {
            {&next.wq, q_.data()}, {&next.wk, k_.data()}, {&next.wv, v_.data()}};
        prefetch_next_one_token_job(next_qkv, pool);
    }
    fk_.add(h, proj_.data(), n * embd);
}

int64_t ForwardPass::run(const Token* tokens, int64_t n, int64_t pos0, int64_t n_logits,
                         float* logits, ThreadPool& pool, const LogitsNeeded* needed) {
    embed(tokens, n);
    for (int64_t i = 0; i < c_.n_layer; ++i) layer(i, n, pos0, pool);
    if (n_logits <= 0) return 0;
    const int64_t first = n - n_logits;
    float* x = normed_.data();
    per_token(n_logits, pool, [&](int64_t t) {
        rms_norm(fk_, hidden_.data() + (first + t) * c_.n_embd, model_.weights.output_norm.data(),
                 c_.n_embd, c_.rms_eps, x + t * c_.n_embd);
    });
    const LinearWeight& output = model_.weights.output;
    const OutputScreen& screen = model_.weights.screen;
    if (needed && needed->top > 0 && n_logits == 1 && screen.q8.rows > 0) {
        return screened_logits(output, screen, x, *needed, logits, quantized_, linear_scratch_,
                               screen_scratch_, pool);
    }
    if (output.quantize_input) quantized_.quantize(x, n_logits, c_.n_embd, pool);
    linear_forward(output, x, quantized_, n_logits, logits, linear_scratch_, pool);
    return 0;
}

}  // namespace tern
