// BitLinear and float linear layers, split by output row tiles across threads.
#include "graph/linear.h"

#include "graph/kernel_choice.h"
#include "kernels/float_kernels.h"
#include "kernels/float_rows.h"
#include "util/thread_pool.h"

#include <algorithm>

namespace tern {

void QuantizedActivations::quantize(const float* x, int64_t n_tokens, int64_t k, ThreadPool& pool) {
    kernels::resize_batch(batch_, n_tokens, k);
    has_dequant_ = false;
    const kernels::KernelSet& set = active_kernels();
    pool.parallel_for(n_tokens, 1, [&](int64_t begin, int64_t end) {
        kernels::quantize_tokens(set, x, k, batch_, begin, end);
    });
}

void QuantizedActivations::prepare(const kernels::NamedKernel& kernel, ThreadPool& pool) {
    kernels::prepare_input(active_kernels(), kernel, batch_,
                           [&](int64_t n, const auto& body) { pool.parallel_for(n, 1, body); });
}

const float* QuantizedActivations::dequantized() {
    if (!has_dequant_) {
        const int64_t n = batch_.n_tokens, k = batch_.k;
        dequant_.resize(static_cast<size_t>(n * k));
        for (int64_t t = 0; t < n; ++t) {
            const int8_t* q = batch_.token_q(t);
            const float s = batch_.token_scale(t);
            for (int64_t c = 0; c < k; ++c)
                dequant_[static_cast<size_t>(t * k + c)] = static_cast<float>(q[c]) / s;
        }
        has_dequant_ = true;
    }
    return dequant_.data();
}

namespace {

// Output rows [row_begin, row_end) of tokens [t0, t1): integer sums from the kernel, then
// acc * w_scale / a_scale (per-tensor scale) or sum over groups of acc_g * scale_g / a_scale.
void ternary_block(const TernaryMatrix& m, const kernels::NamedKernel& kernel,
                   const kernels::ActivationBatch& a, int64_t tile_begin, int64_t tile_end,
                   int64_t t0, int64_t t1, int32_t* acc, float* out) {
    const kernels::PackedTernary& w = m.packed;
    const int64_t rows = w.rows;
    const int64_t row_begin = tile_begin * kernels::layout_row_tile(w.layout);
    const int64_t row_end = std::min(rows, tile_end * kernels::layout_row_tile(w.layout));
    const int64_t groups = w.cols / m.group_size;
    if (groups == 1) {
        kernel.fn({&w, tile_begin, tile_end, 0, w.col_units, &a, t0, t1, acc, rows});
        const float w_scale = m.scales[0];
        for (int64_t t = t0; t < t1; ++t) {
            const float a_scale = a.token_scale(t);
            for (int64_t r = row_begin; r < row_end; ++r) {
                out[t * rows + r] = static_cast<float>(acc[t * rows + r]) / a_scale * w_scale;
            }
        }
        return;
    }
    const int64_t units_per_group = m.group_size / kernels::kI2ColBlock;
    for (int64_t t = t0; t < t1; ++t)
        std::fill(out + t * rows + row_begin, out + t * rows + row_end, 0.0f);
    for (int64_t g = 0; g < groups; ++g) {
        kernel.fn({&w, tile_begin, tile_end, g * units_per_group, (g + 1) * units_per_group, &a, t0,
                   t1, acc, rows});
        for (int64_t t = t0; t < t1; ++t) {
            for (int64_t r = row_begin; r < row_end; ++r) {
                out[t * rows + r] += static_cast<float>(acc[t * rows + r]) *
                                     m.scales[static_cast<size_t>(r * groups + g)];
            }
        }
    }
    for (int64_t t = t0; t < t1; ++t) {
        const float a_scale = a.token_scale(t);
        for (int64_t r = row_begin; r < row_end; ++r) out[t * rows + r] /= a_scale;
    }
}

// The most linears one shared job takes (Q, K, V is the most a layer has).
constexpr size_t kMaxSharedTargets = 4;

// True if one token through `targets` runs as one job (ternary_one_token): at most
// kMaxSharedTargets ternary matrices, all of one layout.
bool one_ternary_job(std::span<const LinearTarget> targets) {
    const auto fusable = [&](const LinearTarget& target) {
        return target.w->ternary &&
               target.w->ternary_matrix.packed.layout == targets[0].w->ternary_matrix.packed.layout;
    };
    return !targets.empty() && targets.size() <= kMaxSharedTargets &&
           std::all_of(targets.begin(), targets.end(), fusable);
}

// How much of the start of its next share a worker reads while it waits
// (prefetch_next_one_token_job): within every L2 this runs on (512 KiB and up). The gaps between
// one token's jobs hold ~50 KiB on the Intel VM of bench/HISTORY.md; 512 KiB and 1 MiB caps
// were no faster.
constexpr int64_t kIdlePrefetchBytes = int64_t{128} << 10;

// Row tiles per thread-sized unit of work: 64 rows.
int64_t tile_grain(kernels::TernaryLayout layout) {
    return std::max<int64_t>(1, 64 / kernels::layout_row_tile(layout));
}

// One token through ternary matrices of one layout that read the same activations: the threads
// split the matrices' row tiles taken together, so each reads one memory stream through all of
// them, split up front in proportion to the threads' recent speeds (a thread that runs out takes
// over the back of a slower one's range: parallel_for_balanced), with no join in between. Target
// i owns tiles [first_tile[i], first_tile[i + 1]) and its integer sums start at acc + first_row[i].
void ternary_one_token(std::span<const LinearTarget> targets, QuantizedActivations& qx,
                       LinearScratch& scratch, ThreadPool& pool) {
    const kernels::TernaryLayout layout = targets[0].w->ternary_matrix.packed.layout;
    const kernels::NamedKernel& kernel = kernel_for(active_kernels(), layout, 1);
    qx.prepare(kernel, pool);
    const kernels::ActivationBatch& a = qx.batch();
    int64_t first_tile[kMaxSharedTargets + 1] = {0}, first_row[kMaxSharedTargets + 1] = {0};
    for (size_t i = 0; i < targets.size(); ++i) {
        first_tile[i + 1] = first_tile[i] + targets[i].w->ternary_matrix.packed.row_tiles;
        first_row[i + 1] = first_row[i] + targets[i].w->ternary_matrix.packed.rows;
    }
    scratch.acc.resize(static_cast<size_t>(first_row[targets.size()]));
    int32_t* acc = scratch.acc.data();
    pool.parallel_for_balanced(
        first_tile[targets.size()], tile_grain(layout), [&](int64_t begin, int64_t end) {
            for (size_t i = 0; i < targets.size(); ++i) {
                const int64_t lo = std::max(begin, first_tile[i]),
                              hi = std::min(end, first_tile[i + 1]);
                if (lo < hi) {
                    ternary_block(targets[i].w->ternary_matrix, kernel, a, lo - first_tile[i],
                                  hi - first_tile[i], 0, 1, acc + first_row[i], targets[i].out);
                }
            }
        });
}

void ternary_forward(const LinearWeight& lw, QuantizedActivations& qx, int64_t n_tokens, float* out,
                     LinearScratch& scratch, ThreadPool& pool) {
    if (n_tokens == 1) {
        const LinearTarget one[] = {{&lw, out}};
        ternary_one_token(one, qx, scratch, pool);
        return;
    }
    const TernaryMatrix& m = lw.ternary_matrix;
    const kernels::PackedTernary& w = m.packed;
    const kernels::NamedKernel& kernel = kernel_for(active_kernels(), w.layout, n_tokens);
    qx.prepare(kernel, pool);
    const kernels::ActivationBatch& a = qx.batch();
    scratch.acc.resize(static_cast<size_t>(n_tokens * w.rows));
    int32_t* acc = scratch.acc.data();
    // Split rows across threads; when a matrix has too few row tiles to keep every thread busy
    // and there are many tokens, split the tokens instead (each output is computed the same way
    // either way, so results never depend on the thread count).
    const int64_t grain = tile_grain(w.layout);
    if (n_tokens >= 8 && w.row_tiles < 4 * grain * pool.size()) {
        // Multiples of 4 tokens: a kernel reading token quads computes whole blocks of 4.
        pool.parallel_for_dynamic(n_tokens, 8, [&](int, int64_t t0, int64_t t1) {
            ternary_block(m, kernel, a, 0, w.row_tiles, t0, t1, acc, out);
        });
        return;
    }
    // A prompt's matmul is compute-bound work in big units: threads take chunks as they finish
    // (one slowed by a neighbour takes fewer).
    pool.parallel_for_dynamic(w.row_tiles, grain, [&](int, int64_t b, int64_t e) {
        ternary_block(m, kernel, a, b, e, 0, n_tokens, acc, out);
    });
}

constexpr int64_t kFloatRowGrain = 64;
constexpr int64_t kFloatChunkBytes = int64_t{4} << 20;

// out[t][r] for a float matrix's rows split across threads: `rows_gemv(first, count, t, dst)`
// computes rows [first, first + count) for token t. Each block of rows is dotted with every token
// while it is in cache; a prompt's outputs are [n_tokens][rows], so a block's results go through
// a stack buffer.
template <typename RowsGemv>
void float_rows_forward(const FloatMatrix& m, int64_t n_tokens, float* out, ThreadPool& pool,
                        const RowsGemv& rows_gemv) {
    if (n_tokens == 1) {
        // Threads take 4 MiB of rows at a time as they finish, so one slowed by a neighbour on
        // its core takes fewer (the output layer is half of a 2B-4T token's bytes). Against an
        // even split up front, alternated 2B-4T tg128 runs with 2 threads read 84/95/83/95 % of
        // the probed bandwidth against 87/80/83/80 %; 1 and 2 MiB chunks (each restarts the
        // weight prefetch) and 8 and 16 MiB were no better than 4.
        // Chunks of whole grains, at most 4 MiB and at most a quarter of a thread's even share.
        const int64_t grains = (m.rows + kFloatRowGrain - 1) / kFloatRowGrain;
        const int64_t chunk_grains =
            std::max<int64_t>(1, std::min(kFloatChunkBytes / m.row_bytes / kFloatRowGrain,
                                          grains / (4 * int64_t{pool.size()})));
        const int64_t chunk_rows = chunk_grains * kFloatRowGrain;
        pool.parallel_for_dynamic(m.rows, chunk_rows, [&](int, int64_t begin, int64_t end) {
            rows_gemv(begin, end - begin, 0, out + begin);
        });
        return;
    }
    pool.parallel_for(m.rows, kFloatRowGrain, [&](int64_t begin, int64_t end) {
        float block_out[kFloatRowGrain];
        for (int64_t b = begin; b < end; b += kFloatRowGrain) {
            const int64_t rows = std::min(kFloatRowGrain, end - b);
            for (int64_t t = 0; t < n_tokens; ++t) {
                rows_gemv(b, rows, t, block_out);
                std::copy(block_out, block_out + rows, out + t * m.rows + b);
            }
        }
    });
}

void dense_forward(const FloatMatrix& m, const float* x, int64_t n_tokens, float* out,
                   ThreadPool& pool) {
    const kernels::FloatKernels& fk = *active_kernels().floats;
    float_rows_forward(m, n_tokens, out, pool,
                       [&](int64_t first, int64_t count, int64_t t, float* dst) {
                           fk.gemv(m.format, m.data + first * m.row_bytes, m.row_bytes, count,
                                   m.cols, x + t * m.cols, dst);
                       });
}

// out *= the layer's optional output scale, for n_tokens rows of outputs.
void scale_outputs(const LinearWeight& w, int64_t n_tokens, float* out) {
    if (w.output_scale == 1.0f) return;
    const int64_t total = n_tokens * w.rows();
    for (int64_t i = 0; i < total; ++i) out[i] *= w.output_scale;
}

}  // namespace

void int8_activation_forward(const FloatMatrix& m, const float* x, int64_t n_tokens, float* out,
                             LinearScratch& scratch, ThreadPool& pool) {
    const kernels::FloatKernels& fk = *active_kernels().floats;
    const int64_t k = m.cols;
    const bool k_quant = m.format != kernels::FloatWeightFormat::q8_0;
    // One activation scale per weight block: 32 values for Q8_0, 256 for the k-quants.
    const int64_t scales = k / kernels::float_format_block(m.format), sums = k / 16;
    scratch.q8.resize(static_cast<size_t>(n_tokens * k));
    scratch.q8_scales.resize(static_cast<size_t>(n_tokens * scales));
    scratch.q8_sums.resize(static_cast<size_t>(k_quant ? n_tokens * sums : 0));
    for (int64_t t = 0; t < n_tokens; ++t) {
        int8_t* q = scratch.q8.data() + t * k;
        float* d = scratch.q8_scales.data() + t * scales;
        if (k_quant) {
            kernels::quantize_q8_k_activations(x + t * k, k, q, d,
                                               scratch.q8_sums.data() + t * sums);
        } else {
            kernels::quantize_q8_activations(x + t * k, k, q, d);
        }
    }
    float_rows_forward(
        m, n_tokens, out, pool, [&](int64_t first, int64_t count, int64_t t, float* dst) {
            const uint8_t* rows = m.data + first * m.row_bytes;
            const int8_t* q = scratch.q8.data() + t * k;
            const float* d = scratch.q8_scales.data() + t * scales;
            if (k_quant) {
                const kernels::Q8KActivations a{q, d, scratch.q8_sums.data() + t * sums};
                fk.gemv_k_q8(m.format, rows, m.row_bytes, count, k, a, dst);
            } else {
                fk.gemv_q8_0_q8(rows, m.row_bytes, count, k, q, d, dst);
            }
        });
}

void linear_forward(const LinearWeight& w, const float* x, QuantizedActivations& qx,
                    int64_t n_tokens, float* out, LinearScratch& scratch, ThreadPool& pool) {
    if (w.ternary) {
        ternary_forward(w, qx, n_tokens, out, scratch, pool);
    } else if (w.int8_activations) {
        int8_activation_forward(w.dense, x, n_tokens, out, scratch, pool);
    } else {
        dense_forward(w.dense, w.quantize_input ? qx.dequantized() : x, n_tokens, out, pool);
    }
    scale_outputs(w, n_tokens, out);
}

void linear_forward_shared(std::span<const LinearTarget> targets, const float* x,
                           QuantizedActivations& qx, int64_t n_tokens, LinearScratch& scratch,
                           ThreadPool& pool) {
    if (n_tokens != 1 || !one_ternary_job(targets)) {
        for (const LinearTarget& target : targets)
            linear_forward(*target.w, x, qx, n_tokens, target.out, scratch, pool);
        return;
    }
    ternary_one_token(targets, qx, scratch, pool);
    for (const LinearTarget& target : targets) scale_outputs(*target.w, 1, target.out);
}

void prefetch_next_one_token_job(std::span<const LinearTarget> targets, ThreadPool& pool) {
    if (pool.size() == 1 || !one_ternary_job(targets)) return;
    // The targets' row tiles taken together, as ternary_one_token splits them; every layout
    // stores a matrix's tiles one after another, each the same number of bytes.
    int64_t tiles = 0;
    for (const LinearTarget& target : targets) tiles += target.w->ternary_matrix.packed.row_tiles;
    const int64_t grain = tile_grain(targets[0].w->ternary_matrix.packed.layout);
    for (int thread = 1; thread < pool.size(); ++thread) {
        const auto [begin, end] = pool.balanced_range(tiles, grain, thread);
        int64_t first = 0;  // the first tile of the target holding `begin`
        for (const LinearTarget& target : targets) {
            const kernels::PackedTernary& m = target.w->ternary_matrix.packed;
            if (begin < first + m.row_tiles) {
                const int64_t tile_bytes = static_cast<int64_t>(m.data.size) / m.row_tiles;
                const uint8_t* from = m.data.get() + (begin - first) * tile_bytes;
                const int64_t bytes = (std::min(end, first + m.row_tiles) - begin) * tile_bytes;
                pool.prefetch_while_idle(thread, from, from + std::min(bytes, kIdlePrefetchBytes));
                break;
            }
            first += m.row_tiles;
        }
    }
}

}  // namespace tern
