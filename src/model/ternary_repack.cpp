// Repacking ternary file layouts (I2_S, TQ2_0, TQ1_0, exactly-ternary floats) at load time.
#include "model/ternary_repack.h"

#include "graph/kernel_choice.h"
#include "kernels/float_rows.h"
#include "kernels/fp16.h"
#include "kernels/ternary_formats.h"
#include "util/strings.h"
#include "util/thread_pool.h"

#include <tern/error.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <optional>

namespace tern {

namespace {

// Decodes rows [first, first + count) of a tensor into trits (count x cols); returns false if a
// code is invalid.
using RowDecoder = std::function<bool(int64_t first, int64_t count, int8_t* trits)>;

// Packs all rows through `decode`, a tile of rows per task, in parallel. Throws `invalid` if the
// decoder reported an invalid code.
TernaryMatrix pack(const TensorView& tensor, const kernels::KernelSet& set, ThreadPool& pool,
                   kernels::WeightArena* arena, bool grouped_scales, const RowDecoder& decode,
                   const std::function<void()>& invalid) {
    TernaryMatrix m;
    const int64_t cols = tensor.ne[0];
    const int64_t rows = tensor.numel() / std::max<int64_t>(1, cols);
    m.packed = kernels::allocate_packed(choose_layout(set, grouped_scales), rows, cols, arena);
    m.group_size = cols;
    const int64_t tile = kernels::layout_row_tile(m.packed.layout);
    std::atomic<bool> valid{true};
    const int64_t tiles_per_task = std::max<int64_t>(1, 64 / tile);
    pool.parallel_for(m.packed.row_tiles, tiles_per_task, [&](int64_t begin, int64_t end) {
        std::vector<int8_t> trits(static_cast<size_t>(tiles_per_task * tile * cols));
        for (int64_t t0 = begin; t0 < end; t0 += tiles_per_task) {
            const int64_t t1 = std::min(end, t0 + tiles_per_task);
            const int64_t first = t0 * tile, count = std::min(rows, t1 * tile) - first;
            // An invalid code leaves trits outside {-1, 0, 1}, which the packers must never see.
            if (count > 0 && !decode(first, count, trits.data())) {
                valid = false;
                return;
            }
            std::fill(trits.begin() + std::max<int64_t>(0, count) * cols, trits.end(), int8_t{0});
            set.pack_tiles(m.packed, t0, t1, trits.data());
        }
    });
    if (!valid) invalid();
    return m;
}

[[noreturn]] void invalid_code(const TensorView& tensor) {
    throw Error(ErrorCode::model,
                cat("tensor ", single_quoted(tensor.name), " (", tensor_type_name(tensor.type),
                    ") contains the invalid 2-bit code 3"));
}

void check_scale(const TensorView& tensor, float scale) {
    if (!std::isfinite(scale)) {
        throw Error(ErrorCode::model, cat("tensor ", single_quoted(tensor.name),
                                          " has a non-finite scale (", scale, ")"));
    }
}

// With the i2 layout, an I2_S tensor whose shape allows it (kernels::i2s_is_i2_layout) is moved
// in block by block (each row tile's blocks interleaved), split across threads, and scanned for
// the invalid code 3 as it is copied. The copy is what makes it fast: the same bytes streamed
// from the mapped file's page-cache pages ran 2B-4T generation at 9.7-12.0 tok/s against
// 15.1-15.7 from this 2 MiB-page copy (1 thread, alternating runs), and the copy adds about 0.1 s
// to the load.
std::optional<TernaryMatrix> copy_i2s(const TensorView& tensor, const kernels::KernelSet& set,
                                      ThreadPool& pool, kernels::WeightArena* arena) {
    const int64_t cols = tensor.ne[0];
    const int64_t rows = tensor.numel() / std::max<int64_t>(1, cols);
    if (choose_layout(set, false) != kernels::TernaryLayout::i2 ||
        !kernels::i2s_is_i2_layout(rows, cols)) {
        return std::nullopt;
    }
    TernaryMatrix m;
    m.packed = kernels::allocate_packed(kernels::TernaryLayout::i2, rows, cols, arena);
    m.group_size = cols;
    // Tiles per task: about 1 MiB of codes.
    const int64_t grain =
        std::max<int64_t>(1, (int64_t{1} << 20) / kernels::i2_tile_bytes(m.packed));
    std::atomic<bool> valid{true};
    pool.parallel_for(rows / kernels::kI2RowTile, grain, [&](int64_t begin, int64_t end) {
        if (!kernels::copy_i2s_tiles(m.packed, begin, end, tensor.data.data())) valid = false;
    });
    if (!valid) invalid_code(tensor);
    return m;
}

TernaryMatrix repack_i2s(const TensorView& tensor, const kernels::KernelSet& set, ThreadPool& pool,
                         kernels::WeightArena* arena) {
    const float scale = kernels::i2s_scale(tensor.data.data(), tensor.numel());
    check_scale(tensor, scale);
    if (auto copied = copy_i2s(tensor, set, pool, arena)) {
        copied->scales = {scale};
        return std::move(*copied);
    }
    const int64_t cols = tensor.ne[0];
    TernaryMatrix m = pack(
        tensor, set, pool, arena, false,
        [&](int64_t first, int64_t count, int8_t* trits) {
            return kernels::i2s_decode(tensor.data.data(), first * cols, count * cols, trits);
        },
        [&] { invalid_code(tensor); });
    m.scales = {scale};
    return m;
}

TernaryMatrix repack_tq(const TensorView& tensor, const kernels::KernelSet& set, ThreadPool& pool,
                        kernels::WeightArena* arena) {
    const bool tq2 = tensor.type == TensorType::tq2_0;
    const int64_t block_bytes = tq2 ? kernels::kTq2BlockBytes : kernels::kTq1BlockBytes;
    const int64_t cols = tensor.ne[0];
    const int64_t blocks_per_row = cols / kernels::kTqBlock;
    const int64_t n_blocks = tensor.numel() / kernels::kTqBlock;

    // Block scales decide between a per-tensor and a per-block scale.
    std::vector<float> block_scale(static_cast<size_t>(n_blocks));
    for (int64_t b = 0; b < n_blocks; ++b) {
        uint16_t half;
        std::memcpy(&half, tensor.data.data() + b * block_bytes + block_bytes - 2, 2);
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
    TernaryMatrix m = pack(
        tensor, set, pool, arena, !uniform,
        [&](int64_t first, int64_t count, int8_t* trits) {
            bool ok = true;
            for (int64_t b = first * blocks_per_row; b < (first + count) * blocks_per_row; ++b) {
                const uint8_t* block = tensor.data.data() + b * block_bytes;
                int8_t* out = trits + (b - first * blocks_per_row) * kernels::kTqBlock;
                float d;
                if (tq2) {
                    ok = kernels::tq2_0_decode_block(block, out, &d) && ok;
                } else {
                    kernels::tq1_0_decode_block(block, out, &d);
                }
                // With one per-tensor scale, zero-scale blocks must contribute nothing.
                if (uniform && d == 0.0f) std::fill(out, out + kernels::kTqBlock, int8_t{0});
            }
            return ok;
        },
        [&] { invalid_code(tensor); });
    if (uniform) {
        m.scales = {common};
    } else {
        m.group_size = kernels::kTqBlock;
        m.scales = std::move(block_scale);
    }
    return m;
}

}  // namespace

TernaryMatrix repack_ternary(const TensorView& tensor, const kernels::KernelSet& set,
                             ThreadPool& pool, kernels::WeightArena* arena) {
    switch (tensor.type) {
        case TensorType::i2_s:
            return repack_i2s(tensor, set, pool, arena);
        case TensorType::tq1_0:
        case TensorType::tq2_0:
            return repack_tq(tensor, set, pool, arena);
        default:
            break;
    }
    throw Error(ErrorCode::model, cat("tensor ", single_quoted(tensor.name), " of type ",
                                      tensor_type_name(tensor.type), " is not ternary"));
}

std::optional<TernaryMatrix> ternarize_float(const TensorView& tensor,
                                             const kernels::KernelSet& set, ThreadPool& pool) {
    kernels::FloatWeightFormat format;
    switch (tensor.type) {
        case TensorType::f32:
            format = kernels::FloatWeightFormat::f32;
            break;
        case TensorType::f16:
            format = kernels::FloatWeightFormat::f16;
            break;
        case TensorType::bf16:
            format = kernels::FloatWeightFormat::bf16;
            break;
        default:
            return std::nullopt;
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
    bool ternary = true;
    // Not from an arena: a float tensor often turns out not to be ternary (latent weights), and
    // the partly packed bytes would stay taken.
    TernaryMatrix m = pack(
        tensor, set, pool, nullptr, false,
        [&](int64_t first, int64_t count, int8_t* trits) {
            std::vector<float> values(static_cast<size_t>(cols));
            for (int64_t r = 0; r < count; ++r) {
                kernels::dequantize_row(format, tensor.data.data() + (first + r) * row_bytes, cols,
                                        values.data());
                for (int64_t c = 0; c < cols; ++c) {
                    const float v = values[static_cast<size_t>(c)];
                    if (v != 0.0f && v != scale && v != -scale) return false;
                    trits[r * cols + c] = static_cast<int8_t>(v > 0 ? 1 : v < 0 ? -1 : 0);
                }
            }
            return true;
        },
        [&] { ternary = false; });
    if (!ternary) return std::nullopt;
    m.scales = {scale};
    return m;
}

}  // namespace tern
