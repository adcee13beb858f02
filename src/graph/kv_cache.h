// The key/value cache: per layer, per position, the rotated keys and the values of every KV head.
#pragma once

#include "kernels/float_kernels.h"
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
    void store(const kernels::FloatKernels& fk, int64_t layer, int64_t pos, const float* k, const float* v);
    // The first element of one position's key / value row (f32 or f16 per type()).
    const uint8_t* k_row(int64_t layer, int64_t pos) const { return k_.get() + row_offset(layer, pos); }
    const uint8_t* v_row(int64_t layer, int64_t pos) const { return v_.get() + row_offset(layer, pos); }
    int64_t element_bytes() const { return element_bytes_; }

    int64_t n_ctx() const { return n_ctx_; }
    uint64_t bytes() const { return 2 * k_.size; }
    KvCacheType type() const { return type_; }

private:
    int64_t row_offset(int64_t layer, int64_t pos) const { return ((layer * n_ctx_ + pos) * kv_dim_) * element_bytes_; }
    KvCacheType type_;
    int64_t n_ctx_, kv_dim_, element_bytes_;
    kernels::AlignedBuffer k_, v_;
};

}  // namespace tern
