// The key/value cache: per layer, per position, the rotated keys and the values of every KV head.
#pragma once

#include "kernels/float_kernels.h"
#include "model/weights.h"

#include <tern/session.h>

#include <cstdint>

namespace tern {

class KvCache {
public:
    // Layout of K and V alike: [n_layer][n_ctx] rows of kv_dim = n_head_kv * head_dim values of
    // `type` (f32, f16, or Q8_0 blocks of 32 in 34 bytes); head h occupies values
    // [h * head_dim, (h + 1) * head_dim) of a row.
    KvCache(KvCacheType type, int64_t n_layer, int64_t n_ctx, int64_t kv_dim);

    // Stores one position's keys and values (kv_dim floats each), rounding to the cache type.
    void store(const kernels::FloatKernels& fk, int64_t layer, int64_t pos, const float* k,
               const float* v);
    // One position's key / value row, and where value `first` of a row starts (a multiple of 32
    // for q8_0).
    const uint8_t* k_row(int64_t layer, int64_t pos) const {
        return k_.get() + row_offset(layer, pos);
    }
    const uint8_t* v_row(int64_t layer, int64_t pos) const {
        return v_.get() + row_offset(layer, pos);
    }
    int64_t value_offset(int64_t first) const;
    // Bytes from one position's row to the next, and the rows' element format.
    int64_t row_bytes() const { return row_bytes_; }
    kernels::FloatWeightFormat format() const { return format_; }

    int64_t n_ctx() const { return n_ctx_; }
    uint64_t bytes() const { return 2 * k_.size; }
    KvCacheType type() const { return type_; }

private:
    int64_t row_offset(int64_t layer, int64_t pos) const {
        return (layer * n_ctx_ + pos) * row_bytes_;
    }
    KvCacheType type_;
    kernels::FloatWeightFormat format_;  // the rows' element format, from type_
    int64_t n_ctx_, kv_dim_, row_bytes_;
    kernels::AlignedBuffer k_, v_;
};

}  // namespace tern
