// Attention over a filled KV cache: the same bits on every thread count (one token's work split by
// heads, or by keys and value columns past kSplitMinKeys), and close to a double-precision
// softmax attention written out here.
#include "graph/attention.h"
#include "graph/kv_cache.h"
#include "kernels/dispatch.h"
#include "kernels/fp16.h"
#include "util/thread_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

namespace tern {
namespace {

struct Shape {
    int64_t n_head, n_head_kv, head_dim;
};

ModelConfig config_of(const Shape& s) {
    ModelConfig c;
    c.n_layer = 2;
    c.n_head = s.n_head;
    c.n_head_kv = s.n_head_kv;
    c.head_dim = s.head_dim;
    c.n_embd = s.n_head * s.head_dim;
    return c;
}

// A cache of `positions` random keys and values in both layers, and what they round to.
struct FilledCache {
    KvCache cache;
    std::vector<float> k, v;  // [layer][pos][n_head_kv * head_dim]; for F16 as stored (rounded)
};

FilledCache fill(KvCacheType type, const ModelConfig& c, int64_t positions) {
    const kernels::FloatKernels& fk = *kernels::supported_kernel_sets().front()->floats;
    FilledCache f{KvCache(type, c.n_layer, positions, c.n_head_kv, c.head_dim), {}, {}};
    const int64_t width = c.n_head_kv * c.head_dim;
    std::mt19937 rng(9);
    std::normal_distribution<float> value(0.0f, 1.0f);
    std::vector<float> k(static_cast<size_t>(width)), v(k.size());
    for (int64_t l = 0; l < c.n_layer; ++l) {
        for (int64_t pos = 0; pos < positions; ++pos) {
            for (size_t i = 0; i < k.size(); ++i) k[i] = 2.0f * value(rng), v[i] = value(rng);
            f.cache.store(fk, l, pos, k.data(), v.data());
            if (type == KvCacheType::f16) {
                for (size_t i = 0; i < k.size(); ++i) {
                    k[i] = kernels::half_to_float(kernels::float_to_half(k[i]));
                    v[i] = kernels::half_to_float(kernels::float_to_half(v[i]));
                }
            }
            f.k.insert(f.k.end(), k.begin(), k.end());
            f.v.insert(f.v.end(), v.begin(), v.end());
        }
    }
    return f;
}

std::vector<float> run(const FilledCache& f, const ModelConfig& c, int64_t layer,
                       const std::vector<float>& q, int64_t n_tokens, int64_t pos0, int threads) {
    const kernels::FloatKernels& fk = *kernels::supported_kernel_sets().front()->floats;
    ThreadPool pool(threads, false);
    AttentionScratch scratch;
    scratch.reserve(threads, c.n_head, c.n_head / c.n_head_kv, f.cache.n_ctx());
    std::vector<float> out(q.size(), -1.0f);
    attention(fk, f.cache, layer, c, q.data(), n_tokens, pos0, out.data(), scratch, pool);
    return out;
}

TEST(Attention, EveryThreadCountGivesTheSameBits) {
    // 2B-4T's grouping (5 KV heads of 4, 128 wide), one that splits unevenly on 2 and 3 threads
    // with 96-wide heads (a single column part), and no sharing.
    for (const Shape& shape : {Shape{20, 5, 128}, Shape{6, 3, 96}, Shape{4, 4, 64}}) {
        const ModelConfig c = config_of(shape);
        for (KvCacheType type : {KvCacheType::f16, KvCacheType::q8_0, KvCacheType::f32}) {
            const FilledCache f = fill(type, c, 1300);
            std::mt19937 rng(3);
            std::normal_distribution<float> value(0.0f, 1.0f);
            // One token after 100 (below the split) and 1299 positions; four tokens after 900.
            for (auto [n_tokens, pos0] :
                 {std::pair<int64_t, int64_t>{1, 99}, {1, 1299}, {4, 900}}) {
                SCOPED_TRACE(testing::Message()
                             << "heads " << shape.n_head << "/" << shape.n_head_kv << " type "
                             << static_cast<int>(type) << " tokens " << n_tokens << " at " << pos0);
                std::vector<float> q(static_cast<size_t>(n_tokens * c.n_embd));
                for (float& x : q) x = value(rng);
                const std::vector<float> one = run(f, c, 1, q, n_tokens, pos0, 1);
                for (int threads : {2, 3}) {
                    const std::vector<float> many = run(f, c, 1, q, n_tokens, pos0, threads);
                    ASSERT_EQ(0, std::memcmp(one.data(), many.data(), one.size() * sizeof(float)))
                        << threads << " threads";
                }
            }
        }
    }
}

TEST(Attention, IsTheSoftmaxWeightedSumOfTheValues) {
    const Shape shape{20, 5, 128};
    const ModelConfig c = config_of(shape);
    const FilledCache f = fill(KvCacheType::f16, c, 1000);
    std::mt19937 rng(4);
    std::normal_distribution<float> value(0.0f, 1.0f);
    std::vector<float> q(static_cast<size_t>(c.n_embd));
    for (float& x : q) x = value(rng);
    const int64_t pos0 = 999, layer = 1, width = c.n_head_kv * c.head_dim;
    for (int threads : {1, 2}) {
        const std::vector<float> got = run(f, c, layer, q, 1, pos0, threads);
        for (int64_t h = 0; h < c.n_head; ++h) {
            const int64_t g = h / (c.n_head / c.n_head_kv);
            std::vector<double> s(static_cast<size_t>(pos0 + 1));
            double max_s = -INFINITY;
            for (int64_t j = 0; j <= pos0; ++j) {
                const float* key = f.k.data() + (layer * 1000 + j) * width + g * c.head_dim;
                double dot = 0;
                for (int64_t d = 0; d < c.head_dim; ++d)
                    dot += static_cast<double>(q[static_cast<size_t>(h * c.head_dim + d)]) * key[d];
                s[static_cast<size_t>(j)] = dot / std::sqrt(static_cast<double>(c.head_dim));
                max_s = std::max(max_s, s[static_cast<size_t>(j)]);
            }
            double total = 0;
            for (double& x : s) total += (x = std::exp(x - max_s));
            for (int64_t d = 0; d < c.head_dim; ++d) {
                double want = 0;
                for (int64_t j = 0; j <= pos0; ++j) {
                    want +=
                        s[static_cast<size_t>(j)] / total *
                        f.v[static_cast<size_t>((layer * 1000 + j) * width + g * c.head_dim + d)];
                }
                ASSERT_NEAR(got[static_cast<size_t>(h * c.head_dim + d)], want, 1e-4)
                    << "head " << h << " value " << d << ", " << threads << " threads";
            }
        }
    }
}

}  // namespace
}  // namespace tern
