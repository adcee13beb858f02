// Causal grouped-query attention: each task is one token's query heads that share a KV head (or
// part of them); the keys and values are visited in blocks, each block read from memory once for
// all the task's heads while it is in L1, not once per query head. One token at a long context
// on threads that whole groups would not share out evenly splits keys and value columns instead.
#include "graph/attention.h"

#include "util/thread_pool.h"

#include <algorithm>
#include <cmath>

namespace tern {

namespace {

// Cached rows per block: 128 rows of a 128-wide F16 head are 32 KiB of keys (or values), read
// from memory once and then from L1 by every head of the task. (Converting each block to floats
// once for all heads, instead of each head converting F16 in its dot products, was slower: 2B-4T
// generation at depth 1000, 1 thread, 16.0-16.3 against 17.8-17.9 tok/s.)
constexpr int64_t kKeysPerBlock = 128;

// Query heads per task for one token: the whole KV group, unless splitting it evens the tasks
// out across threads (2B-4T: 5 KV heads of 4 query heads on 2 threads run as 10 tasks of 2).
int64_t heads_per_task(int64_t n_head_kv, int64_t group, int threads) {
    int64_t heads = group;
    while (heads % 2 == 0 && (n_head_kv * (group / heads)) % threads != 0) heads /= 2;
    return heads;
}

// s[j] *= scale for j < n (n >= 1), and returns the largest of the results. Eight running
// maxima, not one: a single one is a chain of dependent compares, which took 72 % of the time
// outside the kernels (2B-4T at depth 4000: 248 us a layer for the scores' scaling, maximum,
// exponentials and division). The maximum of scores without NaN is exact in any order.
float scale_and_max(float* s, int64_t n, float scale) {
    constexpr int kLanes = 8;
    float lane_max[kLanes];
    std::fill(lane_max, lane_max + kLanes, -INFINITY);
    int64_t j = 0;
    for (; j + kLanes <= n; j += kLanes) {
        for (int l = 0; l < kLanes; ++l) {
            s[j + l] *= scale;
            lane_max[l] = s[j + l] > lane_max[l] ? s[j + l] : lane_max[l];
        }
    }
    for (int l = 0; j < n; ++j, ++l) {
        s[j] *= scale;
        lane_max[l] = s[j] > lane_max[l] ? s[j] : lane_max[l];
    }
    return *std::max_element(lane_max, lane_max + kLanes);
}

// s[j] = softmax_j(s[j] * scale), for j < n.
void softmax(const kernels::FloatKernels& fk, float* s, int64_t n, float scale) {
    const float max_score = scale_and_max(s, n, scale);
    const float total = fk.exp_shift_sum(s, n, max_score);
    for (int64_t j = 0; j < n; ++j) s[j] = s[j] / total;
}

// Fewest keys for one token to take the split path below, where its two more joins a layer
// (a few microseconds each) are small against the cache it reads (2B-4T: 20 KiB a key a layer).
constexpr int64_t kSplitMinKeys = 512;

// One token's attention with the work split across threads by keys and value columns, not by
// heads: every KV head's keys are scored in blocks, the blocks dealt out to the threads; each
// head's softmax then runs on one thread; and each KV head's values are summed in column halves
// (where the head size allows), dealt out again. Each key and value is read and converted by one
// thread only, for all the heads of its group, where tasks of whole groups would leave threads
// idle (2B-4T: 5 KV heads on 2 threads) and tasks of half groups would read every key twice. The
// scores, softmax and sums are computed exactly as by the tasks, so the results are the same.
void attention_one_token_split(const kernels::FloatKernels& fk, const KvCache& cache, int64_t layer,
                               const ModelConfig& c, const float* q, int64_t n_keys, float* out,
                               AttentionScratch& scratch, ThreadPool& pool) {
    const int64_t hd = c.head_dim, group = c.n_head / c.n_head_kv;
    const kernels::FloatWeightFormat format = cache.format();
    const int64_t row_bytes = cache.row_bytes();
    float* scores = scratch.token_scores.data();  // [n_head][n_keys]
    const int64_t blocks = (n_keys + kKeysPerBlock - 1) / kKeysPerBlock;
    pool.parallel_for(c.n_head_kv * blocks, 1, [&](int64_t begin, int64_t end) {
        for (int64_t unit = begin; unit < end; ++unit) {
            const int64_t kv_head = unit / blocks, j = unit % blocks * kKeysPerBlock;
            const int64_t rows = std::min(kKeysPerBlock, n_keys - j);
            if (unit + 1 < end) {
                const int64_t next = (unit + 1) % blocks * kKeysPerBlock;
                cache.prefetch_keys(layer, (unit + 1) / blocks, next,
                                    std::min(kKeysPerBlock, n_keys - next));
            }
            fk.gemv_heads(format, cache.keys(layer, kv_head) + j * row_bytes, row_bytes, rows, hd,
                          q + kv_head * group * hd, hd, group,
                          scores + kv_head * group * n_keys + j, n_keys);
        }
    });
    const float inv_sqrt = 1.0f / std::sqrt(static_cast<float>(hd));
    pool.parallel_for(c.n_head, 1, [&](int64_t begin, int64_t end) {
        for (int64_t h = begin; h < end; ++h) {
            softmax(fk, scores + h * n_keys, n_keys, inv_sqrt);
            std::fill(out + h * hd, out + (h + 1) * hd, 0.0f);
        }
    });
    // Column halves of whole 32-value blocks (Q8_0 caches store blocks of 32).
    const int64_t parts = hd % 64 == 0 ? 2 : 1, width = hd / parts;
    const int64_t part_bytes = kernels::float_row_bytes(format, width);
    pool.parallel_for(c.n_head_kv * parts, 1, [&](int64_t begin, int64_t end) {
        for (int64_t unit = begin; unit < end; ++unit) {
            const int64_t kv_head = unit / parts, part = unit % parts;
            const uint8_t* values = cache.values(layer, kv_head) + part * part_bytes;
            for (int64_t j = 0; j < n_keys; j += kKeysPerBlock) {
                const int64_t rows = std::min(kKeysPerBlock, n_keys - j);
                // The next block's lines of this part, a row at a time.
                for (int64_t r = j + kKeysPerBlock; r < std::min(n_keys, j + 2 * kKeysPerBlock);
                     ++r) {
                    for (int64_t at = 0; at < part_bytes; at += 64)
                        __builtin_prefetch(values + r * row_bytes + at, 0, 2);
                }
                fk.add_weighted_rows_heads(format, scores + kv_head * group * n_keys + j, n_keys,
                                           rows, values + j * row_bytes, row_bytes, width,
                                           out + kv_head * group * hd + part * width, hd, group);
            }
        }
    });
}

}  // namespace

void AttentionScratch::reserve(int threads, int64_t n_head, int64_t group, int64_t n_ctx) {
    scores.assign(static_cast<size_t>(threads),
                  std::vector<float>(static_cast<size_t>(group * n_ctx)));
    // Only the split path uses it, and only with more than one thread.
    token_scores.assign(threads > 1 ? static_cast<size_t>(n_head * n_ctx) : 0, 0.0f);
}

void attention(const kernels::FloatKernels& fk, const KvCache& cache, int64_t layer,
               const ModelConfig& c, const float* q, int64_t n_tokens, int64_t pos0, float* out,
               AttentionScratch& scratch, ThreadPool& pool) {
    const int64_t hd = c.head_dim;
    const int64_t group = c.n_head / c.n_head_kv;
    const float inv_sqrt = 1.0f / std::sqrt(static_cast<float>(hd));
    const kernels::FloatWeightFormat format = cache.format();
    const int64_t row_bytes = cache.row_bytes();
    const int64_t heads = n_tokens == 1 ? heads_per_task(c.n_head_kv, group, pool.size()) : group;
    const int64_t tasks_per_token = c.n_head / heads;
    // Task (t, i) is token t's query heads [i * heads, (i + 1) * heads), all of KV head
    // i * heads / group. scores holds one row of n_keys per head: [heads][n_keys].
    const auto run_tasks = [&](int thread, int64_t task_begin, int64_t task_end) {
        float* scores = scratch.scores[static_cast<size_t>(thread)].data();
        for (int64_t task = task_begin; task < task_end; ++task) {
            const int64_t t = task / tasks_per_token, h0 = task % tasks_per_token * heads;
            const int64_t n_keys = pos0 + t + 1;
            const int64_t kv_head = h0 / group;
            const uint8_t* keys = cache.keys(layer, kv_head);  // [n_keys][hd] rows
            const uint8_t* values = cache.values(layer, kv_head);
            // The cache was written tokens ago and the weights streamed since have evicted it:
            // ask for the first block of keys and of values at once, so their misses overlap
            // instead of waiting on the hardware prefetcher (and each next block while a block
            // is in use).
            const auto prefetch_block = [&](int64_t j) {
                if (j < n_keys)
                    cache.prefetch_keys(layer, kv_head, j, std::min(kKeysPerBlock, n_keys - j));
            };
            const auto prefetch_values = [&](int64_t j) {
                if (j < n_keys)
                    cache.prefetch_values(layer, kv_head, j, std::min(kKeysPerBlock, n_keys - j));
            };
            prefetch_block(0);
            prefetch_values(0);
            const auto head_q = [&](int64_t h) { return q + t * c.n_embd + (h0 + h) * hd; };
            const auto head_out = [&](int64_t h) { return out + t * c.n_embd + (h0 + h) * hd; };
            // scores[h][j] = (q_h . K[j]) / sqrt(hd): the keys are the rows of a [n_keys x hd]
            // matrix, dotted block by block with each head's query.
            for (int64_t j = 0; j < n_keys; j += kKeysPerBlock) {
                const int64_t rows = std::min(kKeysPerBlock, n_keys - j);
                prefetch_block(j + kKeysPerBlock);
                fk.gemv_heads(format, keys + j * row_bytes, row_bytes, rows, hd, head_q(0), hd,
                              heads, scores + j, n_keys);
            }
            for (int64_t h = 0; h < heads; ++h) {
                softmax(fk, scores + h * n_keys, n_keys, inv_sqrt);
                std::fill(head_out(h), head_out(h) + hd, 0.0f);
            }
            // out_h = sum_j p_h[j] V[j], the values visited in the same blocks.
            for (int64_t j = 0; j < n_keys; j += kKeysPerBlock) {
                const int64_t rows = std::min(kKeysPerBlock, n_keys - j);
                prefetch_values(j + kKeysPerBlock);
                fk.add_weighted_rows_heads(format, scores + j, n_keys, rows, values + j * row_bytes,
                                           row_bytes, hd, head_out(0), hd, heads);
            }
        }
    };
    const int64_t tasks = n_tokens * tasks_per_token;
    if (n_tokens == 1 && pool.size() > 1 && pos0 + 1 >= kSplitMinKeys &&
        (heads < group || tasks % pool.size() != 0)) {
        attention_one_token_split(fk, cache, layer, c, q, pos0 + 1, out, scratch, pool);
        return;
    }
    if (n_tokens > 1) {
        // A prompt's later tokens attend to more keys than its first: threads take tasks as they
        // finish instead of an even split of the token range.
        pool.parallel_for_dynamic(tasks, 1, run_tasks);
        return;
    }
    // One token: equal tasks, each thread a contiguous run of them.
    pool.run([&](int thread, int threads) {
        const auto [begin, end] = ThreadPool::chunk(tasks, 1, thread, threads);
        run_tasks(thread, begin, end);
    });
}

}  // namespace tern
