// Key/value cache storage in f32, f16 or Q8_0.
#include "graph/kv_cache.h"

#include <algorithm>
#include <cstring>

namespace tern {

namespace {

kernels::FloatWeightFormat format_of(KvCacheType type) {
    switch (type) {
        case KvCacheType::f16:
            return kernels::FloatWeightFormat::f16;
        case KvCacheType::q8_0:
            return kernels::FloatWeightFormat::q8_0;
        case KvCacheType::f32:
            break;
    }
    return kernels::FloatWeightFormat::f32;
}

}  // namespace

KvCache::KvCache(KvCacheType type, int64_t n_layer, int64_t n_ctx, int64_t n_head_kv,
                 int64_t head_dim)
    : type_(type),
      format_(format_of(type)),
      n_ctx_(n_ctx),
      n_head_kv_(n_head_kv),
      head_dim_(head_dim),
      row_bytes_(kernels::float_row_bytes(format_, head_dim)) {
    const auto bytes = static_cast<size_t>(n_layer * n_head_kv * n_ctx * row_bytes_);
    // Not cleared: a position is always written before attention reads it, and untouched pages of
    // a large context then cost no memory.
    k_ = kernels::AlignedBuffer::allocate(bytes);
    v_ = kernels::AlignedBuffer::allocate(bytes);
}

void KvCache::store(const kernels::FloatKernels& fk, int64_t layer, int64_t pos, const float* k,
                    const float* v) {
    for (int64_t h = 0; h < n_head_kv_; ++h) {
        uint8_t* kd = k_.get() + head_offset(layer, h) + pos * row_bytes_;
        uint8_t* vd = v_.get() + head_offset(layer, h) + pos * row_bytes_;
        const float* ks = k + h * head_dim_;
        const float* vs = v + h * head_dim_;
        switch (type_) {
            case KvCacheType::f32:
                std::memcpy(kd, ks, static_cast<size_t>(head_dim_ * 4));
                std::memcpy(vd, vs, static_cast<size_t>(head_dim_ * 4));
                break;
            case KvCacheType::q8_0:
                kernels::quantize_q8_0(ks, head_dim_, kd);
                kernels::quantize_q8_0(vs, head_dim_, vd);
                break;
            case KvCacheType::f16:
                fk.to_f16(ks, reinterpret_cast<uint16_t*>(kd), head_dim_);
                fk.to_f16(vs, reinterpret_cast<uint16_t*>(vd), head_dim_);
                break;
        }
    }
}

namespace {

void prefetch_lines(const uint8_t* p, int64_t bytes) {
    for (int64_t at = 0; at < bytes; at += 64) __builtin_prefetch(p + at, 0, 2);
}

}  // namespace

void KvCache::prefetch_keys(int64_t layer, int64_t head, int64_t first, int64_t count) const {
    prefetch_lines(keys(layer, head) + first * row_bytes_, count * row_bytes_);
}

void KvCache::prefetch_values(int64_t layer, int64_t head, int64_t first, int64_t count) const {
    prefetch_lines(values(layer, head) + first * row_bytes_, count * row_bytes_);
}

void KvCache::prefetch(int64_t layer, int64_t head, int64_t first, int64_t count) const {
    prefetch_keys(layer, head, first, count);
    prefetch_values(layer, head, first, count);
}

void KvCache::prefetch_layer(int64_t layer, int64_t positions, int64_t max_bytes) const {
    const int64_t per_head = std::min(positions, max_bytes / (2 * n_head_kv_ * row_bytes_));
    for (int64_t h = 0; h < n_head_kv_; ++h) prefetch(layer, h, 0, per_head);
}

}  // namespace tern
