// Key/value cache storage in f32, f16 or Q8_0.
#include "graph/kv_cache.h"

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

KvCache::KvCache(KvCacheType type, int64_t n_layer, int64_t n_ctx, int64_t kv_dim)
    : type_(type),
      format_(format_of(type)),
      n_ctx_(n_ctx),
      kv_dim_(kv_dim),
      row_bytes_(kernels::float_row_bytes(format_, kv_dim)) {
    const auto bytes = static_cast<size_t>(n_layer * n_ctx * row_bytes_);
    // Not cleared: a position is always written before attention reads it, and untouched pages of
    // a large context then cost no memory.
    k_ = kernels::AlignedBuffer::allocate(bytes);
    v_ = kernels::AlignedBuffer::allocate(bytes);
}

void KvCache::store(const kernels::FloatKernels& fk, int64_t layer, int64_t pos, const float* k,
                    const float* v) {
    uint8_t* kd = k_.get() + row_offset(layer, pos);
    uint8_t* vd = v_.get() + row_offset(layer, pos);
    if (type_ == KvCacheType::f32) {
        std::memcpy(kd, k, static_cast<size_t>(kv_dim_ * 4));
        std::memcpy(vd, v, static_cast<size_t>(kv_dim_ * 4));
        return;
    }
    if (type_ == KvCacheType::q8_0) {
        kernels::quantize_q8_0(k, kv_dim_, kd);
        kernels::quantize_q8_0(v, kv_dim_, vd);
        return;
    }
    fk.to_f16(k, reinterpret_cast<uint16_t*>(kd), kv_dim_);
    fk.to_f16(v, reinterpret_cast<uint16_t*>(vd), kv_dim_);
}

int64_t KvCache::value_offset(int64_t first) const {
    return kernels::float_row_bytes(format_, first);
}

}  // namespace tern
