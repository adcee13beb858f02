// Activation batches: sizing, per-token quantisation with block sums, table storage.
#include "kernels/ternary_matmul.h"

#include <cstring>

namespace tern::kernels {

void resize_batch(ActivationBatch& a, int64_t n_tokens, int64_t k) {
    a.n_tokens = n_tokens;
    a.k = k;
    a.stride = (k + 127) / 128 * 128;
    a.q.grow(static_cast<size_t>(n_tokens * a.stride + a.q_offset));
    a.scale.grow(static_cast<size_t>(n_tokens) * sizeof(float));
    a.sum.grow(static_cast<size_t>(n_tokens) * sizeof(int32_t));
    a.block_sum.grow(static_cast<size_t>(n_tokens * (a.stride / 128)) * sizeof(int32_t));
    a.has_tables = false;
    a.has_token_quads = false;
}

void finish_token(ActivationBatch& a, int64_t t) {
    auto* q = const_cast<int8_t*>(a.token_q(t));
    std::memset(q + a.k, 0, static_cast<size_t>(a.stride - a.k));
    const int64_t blocks = a.stride / 128;
    auto* block_sums = reinterpret_cast<int32_t*>(a.block_sum.get()) + t * blocks;
    int32_t total = 0;
    for (int64_t b = 0; b < blocks; ++b) {
        int32_t s = 0;
        for (int64_t c = 0; c < 128; ++c) s += q[b * 128 + c];
        block_sums[b] = s;
        total += s;
    }
    reinterpret_cast<int32_t*>(a.sum.get())[t] = total;
}

void quantize_tokens(const KernelSet& set, const float* x, int64_t x_stride, ActivationBatch& a,
                     int64_t token_begin, int64_t token_end) {
    for (int64_t t = token_begin; t < token_end; ++t) {
        auto* q = const_cast<int8_t*>(a.token_q(t));
        const QuantizedRowInfo info = set.quantize_row(x + t * x_stride, a.k, q);
        reinterpret_cast<float*>(a.scale.get())[t] = info.scale;
        finish_token(a, t);
    }
}

void size_tables(ActivationBatch& a) {
    a.table_groups = (a.k + kTl3OctetCols - 1) / kTl3OctetCols * 8;
    a.tables.grow(static_cast<size_t>(a.n_tokens * a.table_groups * 32));
}

void size_token_quads(ActivationBatch& a) {
    a.token_quads.grow(static_cast<size_t>(a.quad_blocks() * a.stride * 4));
}

void build_token_quads(ActivationBatch& a, int64_t block_begin, int64_t block_end) {
    const int64_t quads = a.stride / 4;
    for (int64_t b = block_begin; b < block_end; ++b) {
        auto* block = const_cast<int8_t*>(a.quad_block(b));
        for (int64_t i = 0; i < 4; ++i) {
            const int64_t t = 4 * b + i;
            const int8_t* q = t < a.n_tokens ? a.token_q(t) : nullptr;  // past the batch: zeros
            for (int64_t j = 0; j < quads; ++j) {
                if (q != nullptr)
                    std::memcpy(block + 16 * j + 4 * i, q + 4 * j, 4);
                else
                    std::memset(block + 16 * j + 4 * i, 0, 4);
            }
        }
    }
}

void prepare_input(const KernelSet& set, const NamedKernel& kernel, ActivationBatch& a) {
    prepare_input(set, kernel, a, [](int64_t n, const auto& body) { body(0, n); });
}

}  // namespace tern::kernels
