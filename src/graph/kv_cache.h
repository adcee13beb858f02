// The key/value cache: per layer, per position, the rotated keys and the values of every KV head.
#pragma once

#include "model/weights.h"

#include <tern/session.h>

#include <cstdint>

namespace tern {

class KvCache {
public:
    // Layout of K and V alike: [n_layer][n_ctx][kv_dim] elements of `type` (f32 or f16), where
    // kv_dim = n_head_kv * head_dim and head h occupies [h * head_dim, (h + 1) * head_dim).
    KvCache(KvCacheType type, int64_t n_layer, int64_t n_ctx, int64_t kv_dim);

    // Stores one position's keys and values (kv_dim floats each), rounding to the cache type.
    void store(int64_t layer, int64_t pos, const float* k, const float* v);
    // Reads kv_dim... elements [offset, offset + n) of one position's key / value as floats.
    void load_k(int64_t layer, int64_t pos, int64_t offset, int64_t n, float* out) const;
    void load_v(int64_t layer, int64_t pos, int64_t offset, int64_t n, float* out) const;

    int64_t n_ctx() const { return n_ctx_; }
    uint64_t bytes() const { return 2 * k_.size; }
    KvCacheType type() const { return type_; }

private:
    void load(const kernels::AlignedBuffer& from, int64_t layer, int64_t pos, int64_t offset, int64_t n,
              float* out) const;
    KvCacheType type_;
    int64_t n_ctx_, kv_dim_, element_bytes_;
    kernels::AlignedBuffer k_, v_;
};

}  // namespace tern
