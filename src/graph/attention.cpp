// Causal grouped-query attention: (token, KV head) tasks across threads, each sharing its cached
// keys and values among the query heads of the group.
#include "graph/attention.h"

#include "util/thread_pool.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace tern {

void AttentionScratch::reserve(int threads, int64_t n_ctx, int64_t group) {
    scores.assign(static_cast<size_t>(threads), std::vector<float>(static_cast<size_t>(n_ctx * group)));
}

void attention(const kernels::FloatKernels& fk, const KvCache& cache, int64_t layer, const ModelConfig& c,
               const float* q, int64_t n_tokens, int64_t pos0, float* out, AttentionScratch& scratch,
               ThreadPool& pool) {
    const int64_t hd = c.head_dim;
    const int64_t group = c.n_head / c.n_head_kv;
    const float inv_sqrt = 1.0f / std::sqrt(static_cast<float>(hd));
    const KvCacheType type = cache.type();
    // One cached key or value of head_dim values, as floats, dotted with / added to a row.
    auto dot = [&](const float* query, const uint8_t* key) {
        switch (type) {
            case KvCacheType::f16: return fk.dot_f16(query, reinterpret_cast<const uint16_t*>(key), hd);
            case KvCacheType::q8_0: return fk.dot_q8_0(query, key, hd);
            case KvCacheType::f32: break;
        }
        return fk.dot_f32(query, reinterpret_cast<const float*>(key), hd);
    };
    auto axpy = [&](float* y, float a, const uint8_t* value) {
        switch (type) {
            case KvCacheType::f16: fk.axpy_f16(y, a, reinterpret_cast<const uint16_t*>(value), hd); return;
            case KvCacheType::q8_0: fk.axpy_q8_0(y, a, value, hd); return;
            case KvCacheType::f32: break;
        }
        fk.axpy_f32(y, a, reinterpret_cast<const float*>(value), hd);
    };
    const int64_t tasks = n_tokens * c.n_head_kv;
    pool.run([&](int thread, int threads) {
        float* scores = scratch.scores[static_cast<size_t>(thread)].data();
        for (int64_t task = tasks * thread / threads; task < tasks * (thread + 1) / threads; ++task) {
            const int64_t t = task / c.n_head_kv, g = task % c.n_head_kv;
            const int64_t n_keys = pos0 + t + 1;
            const float* qg = q + t * c.n_embd + g * group * hd;  // the group's heads are adjacent
            const int64_t offset = cache.value_offset(g * hd);
            for (int64_t j = 0; j < n_keys; ++j) {
                const uint8_t* key = cache.k_row(layer, j) + offset;
                for (int64_t h = 0; h < group; ++h) {
                    const float* qh = qg + h * hd;
                    scores[h * n_keys + j] = dot(qh, key) * inv_sqrt;
                }
            }
            float* og = out + t * c.n_embd + g * group * hd;
            std::fill(og, og + group * hd, 0.0f);
            for (int64_t h = 0; h < group; ++h) {
                float* sh = scores + h * n_keys;
                const float max_score = *std::max_element(sh, sh + n_keys);
                const float total = fk.exp_shift_sum(sh, n_keys, max_score);
                for (int64_t j = 0; j < n_keys; ++j) sh[j] = sh[j] / total;
            }
            for (int64_t j = 0; j < n_keys; ++j) {
                const uint8_t* value = cache.v_row(layer, j) + offset;
                for (int64_t h = 0; h < group; ++h) {
                    axpy(og + h * hd, scores[h * n_keys + j], value);
                }
            }
        }
    });
}

}  // namespace tern
