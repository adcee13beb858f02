// The key/value cache: per layer, per position, the rotated keys and the values of every KV head.
#pragma once

#include "kernels/float_kernels.h"
#include "model/weights.h"

#include <tern/session.h>

#include <cstdint>

namespace tern {

class KvCache {
public:
    // Layout of K and V alike: [n_layer][n_head_kv][n_ctx] rows of head_dim values of `type` (f32,
    // f16, or Q8_0 blocks of 32 in 34 bytes): each KV head's keys (and values) of a layer are one
    // contiguous [n_ctx x head_dim] matrix, so attention reads them as one sequential stream
    // (a row of every head per position, [n_ctx][n_head_kv * head_dim], read 256 of every 1,280
    // bytes for 2B-4T and was latency-bound: 4-5 GB/s). head_dim must be a multiple of 32 for
    // q8_0.
    KvCache(KvCacheType type, int64_t n_layer, int64_t n_ctx, int64_t n_head_kv, int64_t head_dim);

    // Stores one position's keys and values (n_head_kv * head_dim floats each, head after head),
    // rounding to the cache type.
    void store(const kernels::FloatKernels& fk, int64_t layer, int64_t pos, const float* k,
               const float* v);
    // The first (position 0) key / value row of KV head `head` of a layer; position p's row is
    // row_bytes() * p further.
    const uint8_t* keys(int64_t layer, int64_t head) const {
        return k_.get() + head_offset(layer, head);
    }
    const uint8_t* values(int64_t layer, int64_t head) const {
        return v_.get() + head_offset(layer, head);
    }
    // Asks for the keys and values of positions [first, first + count) of KV head `head` of a
    // layer to be brought into cache (L2), all lines at once.
    void prefetch(int64_t layer, int64_t head, int64_t first, int64_t count) const;
    // The same for the keys alone, or the values alone.
    void prefetch_keys(int64_t layer, int64_t head, int64_t first, int64_t count) const;
    void prefetch_values(int64_t layer, int64_t head, int64_t first, int64_t count) const;
    // The same for positions [0, positions) of every head of a layer, at most `max_bytes` of
    // them (the first positions of every head).
    void prefetch_layer(int64_t layer, int64_t positions, int64_t max_bytes) const;
    // Bytes from one position's row of a head to the next, and the rows' element format.
    int64_t row_bytes() const { return row_bytes_; }
    kernels::FloatWeightFormat format() const { return format_; }

    int64_t n_ctx() const { return n_ctx_; }
    uint64_t bytes() const { return 2 * k_.size; }
    KvCacheType type() const { return type_; }

private:
    int64_t head_offset(int64_t layer, int64_t head) const {
        return (layer * n_head_kv_ + head) * n_ctx_ * row_bytes_;
    }
    KvCacheType type_;
    kernels::FloatWeightFormat format_;  // the rows' element format, from type_
    int64_t n_ctx_, n_head_kv_, head_dim_, row_bytes_;
    kernels::AlignedBuffer k_, v_;
};

}  // namespace tern
