// Repacking ternary file layouts (I2_S, TQ2_0, TQ1_0, exactly-ternary floats) at load time.
#include "model/ternary_repack.h"

#include "kernels/float_matmul.h"
#include "kernels/fp16.h"
#include "kernels/ternary_formats.h"
#include "kernels/ternary_ref.h"
#include "util/strings.h"
#include "util/thread_pool.h"

#include <tern/error.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace tern {

AlignedBytes AlignedBytes::allocate(size_t size) {
    AlignedBytes bytes;
    const size_t rounded = (size + 63) / 64 * 64;
    void* memory = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
    if (memory == nullptr) throw std::bad_alloc();
    bytes.data = std::unique_ptr<uint8_t, void (*)(void*)>(static_cast<uint8_t*>(memory), std::free);
    bytes.size = size;
    return bytes;
}

namespace {

TernaryMatrix empty_matrix(const TensorView& tensor) {
    TernaryMatrix m;
    m.cols = tensor.ne[0];
    m.rows = tensor.numel() / std::max<int64_t>(1, tensor.ne[0]);
    m.row_bytes = kernels::ternary_ref_row_bytes(m.cols);
    m.codes = AlignedBytes::allocate(static_cast<size_t>(m.rows * m.row_bytes));
    m.group_size = m.cols;
    return m;
}

[[noreturn]] void invalid_code(const TensorView& tensor) {
    throw Error(ErrorCode::model, cat("tensor ", single_quoted(tensor.name), " (", tensor_type_name(tensor.type),
                                      ") contains the invalid 2-bit code 3"));
}

void check_scale(const TensorView& tensor, float scale) {
    if (!std::isfinite(scale)) {
        throw Error(ErrorCode::model,
                    cat("tensor ", single_quoted(tensor.name), " has a non-finite scale (", scale, ")"));
    }
}

TernaryMatrix repack_i2s(const TensorView& tensor, ThreadPool& pool) {
    TernaryMatrix m = empty_matrix(tensor);
    const float scale = kernels::i2s_scale(tensor.data.data(), tensor.numel());
    check_scale(tensor, scale);
    m.scales = {scale};
    std::atomic<bool> valid{true};
    pool.parallel_for(m.rows, 16, [&](int64_t begin, int64_t end) {
        std::vector<int8_t> trits(static_cast<size_t>(m.cols));
        for (int64_t r = begin; r < end; ++r) {
            if (!kernels::i2s_decode(tensor.data.data(), r * m.cols, m.cols, trits.data())) valid = false;
            kernels::ternary_ref_pack_row(trits.data(), m.cols, m.codes.data.get() + r * m.row_bytes);
        }
    });
    if (!valid) invalid_code(tensor);
    return m;
}

TernaryMatrix repack_tq(const TensorView& tensor, ThreadPool& pool) {
    const bool tq2 = tensor.type == TensorType::tq2_0;
    const int64_t block_bytes = tq2 ? kernels::kTq2BlockBytes : kernels::kTq1BlockBytes;
    TernaryMatrix m = empty_matrix(tensor);
    const int64_t blocks_per_row = m.cols / kernels::kTqBlock;
    const int64_t n_blocks = m.rows * blocks_per_row;

    // First pass: block scales, to decide between a per-tensor and a per-block scale.
    std::vector<float> block_scale(static_cast<size_t>(n_blocks));
    const int64_t d_offset = block_bytes - 2;
    for (int64_t b = 0; b < n_blocks; ++b) {
        uint16_t half;
        std::memcpy(&half, tensor.data.data() + b * block_bytes + d_offset, 2);
        block_scale[static_cast<size_t>(b)] = kernels::half_to_float(half);
        check_scale(tensor, block_scale[static_cast<size_t>(b)]);
    }
    float common = 0.0f;
    bool uniform = true;
    for (float d : block_scale) {
        if (d == 0.0f) continue;
        if (common == 0.0f) common = d;
        uniform = uniform && d == common;
    }
    if (uniform) {
        m.scales = {common};
    } else {
        m.group_size = kernels::kTqBlock;
        m.scales = block_scale;
    }

    std::atomic<bool> valid{true};
    pool.parallel_for(m.rows, 16, [&](int64_t begin, int64_t end) {
        std::vector<int8_t> trits(static_cast<size_t>(m.cols));
        for (int64_t r = begin; r < end; ++r) {
            for (int64_t b = 0; b < blocks_per_row; ++b) {
                const uint8_t* block = tensor.data.data() + (r * blocks_per_row + b) * block_bytes;
                int8_t* out = trits.data() + b * kernels::kTqBlock;
                float d;
                if (tq2) {
                    if (!kernels::tq2_0_decode_block(block, out, &d)) valid = false;
                } else {
                    kernels::tq1_0_decode_block(block, out, &d);
                }
                if (uniform && d == 0.0f) std::fill(out, out + kernels::kTqBlock, int8_t{0});
            }
            kernels::ternary_ref_pack_row(trits.data(), m.cols, m.codes.data.get() + r * m.row_bytes);
        }
    });
    if (!valid) invalid_code(tensor);
    return m;
}

}  // namespace

TernaryMatrix repack_ternary(const TensorView& tensor, ThreadPool& pool) {
    switch (tensor.type) {
        case TensorType::i2_s: return repack_i2s(tensor, pool);
        case TensorType::tq1_0:
        case TensorType::tq2_0: return repack_tq(tensor, pool);
        default: break;
    }
    throw Error(ErrorCode::model, cat("tensor ", single_quoted(tensor.name), " of type ",
                                      tensor_type_name(tensor.type), " is not ternary"));
}

std::optional<TernaryMatrix> ternarize_float(const TensorView& tensor, ThreadPool& pool) {
    kernels::FloatWeightFormat format;
    switch (tensor.type) {
        case TensorType::f32: format = kernels::FloatWeightFormat::f32; break;
        case TensorType::f16: format = kernels::FloatWeightFormat::f16; break;
        case TensorType::bf16: format = kernels::FloatWeightFormat::bf16; break;
        default: return std::nullopt;
    }
    const int64_t cols = tensor.ne[0];
    const int64_t rows = tensor.numel() / std::max<int64_t>(1, cols);
    const int64_t row_bytes = kernels::float_row_bytes(format, cols);
    // The scale is the magnitude of the first non-zero value; every other value must match it.
    float scale = 0.0f;
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows && scale == 0.0f; ++r) {
        kernels::dequantize_row(format, tensor.data.data() + r * row_bytes, cols, row.data());
        for (float v : row) {
            if (v != 0.0f) {
                scale = std::fabs(v);
                break;
            }
        }
    }
    if (scale == 0.0f || !std::isfinite(scale)) return std::nullopt;

    TernaryMatrix m = empty_matrix(tensor);
    m.scales = {scale};
    std::atomic<bool> ternary{true};
    pool.parallel_for(rows, 16, [&](int64_t begin, int64_t end) {
        std::vector<float> values(static_cast<size_t>(cols));
        std::vector<int8_t> trits(static_cast<size_t>(cols));
        for (int64_t r = begin; r < end && ternary; ++r) {
            kernels::dequantize_row(format, tensor.data.data() + r * row_bytes, cols, values.data());
            for (int64_t c = 0; c < cols; ++c) {
                const float v = values[static_cast<size_t>(c)];
                if (v == 0.0f) {
                    trits[static_cast<size_t>(c)] = 0;
                } else if (v == scale || v == -scale) {
                    trits[static_cast<size_t>(c)] = v > 0 ? 1 : -1;
                } else {
                    ternary = false;
                    break;
                }
            }
            kernels::ternary_ref_pack_row(trits.data(), cols, m.codes.data.get() + r * m.row_bytes);
        }
    });
    if (!ternary) return std::nullopt;
    return m;
}

}  // namespace tern
