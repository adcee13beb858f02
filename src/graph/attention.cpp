// Scalar causal grouped-query attention, split over (token, head) pairs across threads.
#include "graph/attention.h"

#include "util/thread_pool.h"

#include <cmath>

namespace tern {

void AttentionScratch::reserve(int threads, int64_t n_ctx, int64_t head_dim) {
    scores.assign(static_cast<size_t>(threads), std::vector<float>(static_cast<size_t>(n_ctx)));
    row.assign(static_cast<size_t>(threads), std::vector<float>(static_cast<size_t>(head_dim)));
}

void attention(const KvCache& cache, int64_t layer, const ModelConfig& c, const float* q,
               int64_t n_tokens, int64_t pos0, float* out, AttentionScratch& scratch,
               ThreadPool& pool) {
    const int64_t hd = c.head_dim;
    const int64_t group = c.n_head / c.n_head_kv;
    const float inv_sqrt = 1.0f / std::sqrt(static_cast<float>(hd));
    const int64_t tasks = n_tokens * c.n_head;
    pool.run([&](int thread, int threads) {
        float* scores = scratch.scores[static_cast<size_t>(thread)].data();
        float* row = scratch.row[static_cast<size_t>(thread)].data();
        for (int64_t task = tasks * thread / threads; task < tasks * (thread + 1) / threads; ++task) {
            const int64_t t = task / c.n_head, h = task % c.n_head;
            const int64_t kv_offset = (h / group) * hd;
            const float* qh = q + t * c.n_embd + h * hd;
            const int64_t n_keys = pos0 + t + 1;
            float max_score = -INFINITY;
            for (int64_t j = 0; j < n_keys; ++j) {
                cache.load_k(layer, j, kv_offset, hd, row);
                float dot = 0.0f;
                for (int64_t d = 0; d < hd; ++d) dot += qh[d] * row[d];
                scores[j] = dot * inv_sqrt;
                max_score = std::max(max_score, scores[j]);
            }
            float total = 0.0f;
            for (int64_t j = 0; j < n_keys; ++j) {
                scores[j] = std::exp(scores[j] - max_score);
                total += scores[j];
            }
            float* oh = out + t * c.n_embd + h * hd;
            for (int64_t d = 0; d < hd; ++d) oh[d] = 0.0f;
            for (int64_t j = 0; j < n_keys; ++j) {
                cache.load_v(layer, j, kv_offset, hd, row);
                const float p = scores[j] / total;
                for (int64_t d = 0; d < hd; ++d) oh[d] += p * row[d];
            }
        }
    });
}

}  // namespace tern
