// BitLinear and float linear layers, split by output rows across threads.
#include "graph/linear.h"

#include "kernels/activation_quant.h"
#include "kernels/float_matmul.h"
#include "kernels/ternary_ref.h"
#include "util/thread_pool.h"

namespace tern {

void QuantizedActivations::quantize(const float* x, int64_t n, int64_t cols, ThreadPool& pool) {
    n_tokens = n;
    k = cols;
    q.resize(static_cast<size_t>(n * cols));
    scale.resize(static_cast<size_t>(n));
    sum.resize(static_cast<size_t>(n));
    has_dequant = false;
    pool.parallel_for(n, 1, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) {
            const auto info = kernels::quantize_row_i8_scalar(x + t * cols, cols, q.data() + t * cols);
            scale[static_cast<size_t>(t)] = info.scale;
            sum[static_cast<size_t>(t)] = info.sum;
        }
    });
}

const float* QuantizedActivations::dequantized() {
    if (!has_dequant) {
        dequant.resize(q.size());
        for (int64_t t = 0; t < n_tokens; ++t) {
            const float s = scale[static_cast<size_t>(t)];
            for (int64_t c = 0; c < k; ++c) {
                const auto i = static_cast<size_t>(t * k + c);
                dequant[i] = static_cast<float>(q[i]) / s;
            }
        }
        has_dequant = true;
    }
    return dequant.data();
}

namespace {

// Rows per thread chunk: keeps chunks cache-friendly and the split independent of thread count
// in what each output element computes.
constexpr int64_t kRowGrain = 16;

void ternary_forward(const TernaryMatrix& m, const QuantizedActivations& qx, int64_t n_tokens,
                     float* out, LinearScratch& scratch, ThreadPool& pool) {
    const int64_t rows = m.rows;
    const int64_t groups = m.cols / m.group_size;
    scratch.acc.resize(static_cast<size_t>(n_tokens * rows));
    int32_t* acc = scratch.acc.data();
    pool.parallel_for(rows, kRowGrain, [&](int64_t begin, int64_t end) {
        const uint8_t* codes = m.codes.data.get() + begin * m.row_bytes;
        if (groups == 1) {
            kernels::ternary_gemm_ref(codes, m.row_bytes, end - begin, m.cols, qx.q.data(), m.cols,
                                      n_tokens, acc + begin, rows);
            const float w_scale = m.scales[0];
            for (int64_t t = 0; t < n_tokens; ++t) {
                const float a_scale = qx.scale[static_cast<size_t>(t)];
                for (int64_t r = begin; r < end; ++r) {
                    out[t * rows + r] = static_cast<float>(acc[t * rows + r]) / a_scale * w_scale;
                }
            }
            return;
        }
        // Grouped scales: integer sums per group, each scaled by its group's weight scale.
        for (int64_t t = 0; t < n_tokens; ++t) {
            for (int64_t r = begin; r < end; ++r) out[t * rows + r] = 0.0f;
        }
        for (int64_t g = 0; g < groups; ++g) {
            const int64_t first = g * m.group_size;
            kernels::ternary_gemm_ref(codes + first / 4, m.row_bytes, end - begin, m.group_size,
                                      qx.q.data() + first, m.cols, n_tokens, acc + begin, rows);
            for (int64_t t = 0; t < n_tokens; ++t) {
                for (int64_t r = begin; r < end; ++r) {
                    out[t * rows + r] += static_cast<float>(acc[t * rows + r]) *
                                         m.scales[static_cast<size_t>(r * groups + g)];
                }
            }
        }
        for (int64_t t = 0; t < n_tokens; ++t) {
            const float a_scale = qx.scale[static_cast<size_t>(t)];
            for (int64_t r = begin; r < end; ++r) out[t * rows + r] /= a_scale;
        }
    });
}

void dense_forward(const FloatMatrix& m, const float* x, int64_t n_tokens, float* out,
                   ThreadPool& pool) {
    pool.parallel_for(m.rows, kRowGrain, [&](int64_t begin, int64_t end) {
        kernels::float_gemm_ref(m.format, m.data + begin * m.row_bytes, m.row_bytes, end - begin,
                                m.cols, x, m.cols, n_tokens, out + begin, m.rows);
    });
}

}  // namespace

void linear_forward(const LinearWeight& w, const float* x, QuantizedActivations& qx,
                    int64_t n_tokens, float* out, LinearScratch& scratch, ThreadPool& pool) {
    if (w.ternary) {
        ternary_forward(w.ternary_matrix, qx, n_tokens, out, scratch, pool);
    } else {
        dense_forward(w.dense, w.quantize_input ? qx.dequantized() : x, n_tokens, out, pool);
    }
    if (w.output_scale != 1.0f) {
        const int64_t total = n_tokens * w.rows();
        for (int64_t i = 0; i < total; ++i) out[i] *= w.output_scale;
    }
}

}  // namespace tern

