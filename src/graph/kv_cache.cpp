// Key/value cache storage in f32 or f16.
#include "graph/kv_cache.h"

#include "kernels/fp16.h"

#include <cstring>

namespace tern {

KvCache::KvCache(KvCacheType type, int64_t n_layer, int64_t n_ctx, int64_t kv_dim)
    : type_(type), n_ctx_(n_ctx), kv_dim_(kv_dim), element_bytes_(type == KvCacheType::f16 ? 2 : 4) {
    const auto bytes = static_cast<size_t>(n_layer * n_ctx * kv_dim * element_bytes_);
    k_ = kernels::AlignedBuffer::allocate(bytes);
    v_ = kernels::AlignedBuffer::allocate(bytes);
    std::memset(k_.get(), 0, bytes);
    std::memset(v_.get(), 0, bytes);
}

void KvCache::store(int64_t layer, int64_t pos, const float* k, const float* v) {
    const int64_t at = (layer * n_ctx_ + pos) * kv_dim_;
    if (type_ == KvCacheType::f32) {
        std::memcpy(k_.get() + at * 4, k, static_cast<size_t>(kv_dim_ * 4));
        std::memcpy(v_.get() + at * 4, v, static_cast<size_t>(kv_dim_ * 4));
        return;
    }
    auto* kh = reinterpret_cast<uint16_t*>(k_.get()) + at;
    auto* vh = reinterpret_cast<uint16_t*>(v_.get()) + at;
    for (int64_t i = 0; i < kv_dim_; ++i) {
        kh[i] = kernels::float_to_half(k[i]);
        vh[i] = kernels::float_to_half(v[i]);
    }
}

void KvCache::load(const kernels::AlignedBuffer& from, int64_t layer, int64_t pos, int64_t offset, int64_t n,
                   float* out) const {
    const int64_t at = (layer * n_ctx_ + pos) * kv_dim_ + offset;
    if (type_ == KvCacheType::f32) {
        std::memcpy(out, from.get() + at * 4, static_cast<size_t>(n * 4));
        return;
    }
    const auto* h = reinterpret_cast<const uint16_t*>(from.get()) + at;
    for (int64_t i = 0; i < n; ++i) out[i] = kernels::half_to_float(h[i]);
}

void KvCache::load_k(int64_t layer, int64_t pos, int64_t offset, int64_t n, float* out) const {
    load(k_, layer, pos, offset, n, out);
}

void KvCache::load_v(int64_t layer, int64_t pos, int64_t offset, int64_t n, float* out) const {
    load(v_, layer, pos, offset, n, out);
}

}  // namespace tern
