// The screened output layer: bound every row's logit with the Q8_0 copy, compute exactly only the
// rows that can be among the highest (the bound is derived in output_screen.h).
#include "graph/output_screen.h"

#include "graph/kernel_choice.h"
#include "kernels/float_kernels.h"
#include "util/thread_pool.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace tern {

namespace {

constexpr double kUnitRoundoff = 0x1p-24;
// Exact rows computed on one thread below this many (about a microsecond each for 2B-4T).
constexpr int64_t kSerialCandidates = 256;

// ||x||, ||x'|| and ||x - x'|| of the token, x' = q * d per 32 values, in double (relative
// error ~k 2^-53, covered by the slack applied to the bound).
struct ActivationNorms {
    double x = 0, quantised = 0, error = 0;
};

ActivationNorms activation_norms(const float* x, int64_t k, const int8_t* q, const float* d) {
    double xx = 0, qq = 0, ee = 0;
    for (int64_t c = 0; c < k; ++c) {
        const double v = x[c];
        const double v_q = static_cast<double>(q[c]) * static_cast<double>(d[c / 32]);
        xx += v * v;
        qq += v_q * v_q;
        ee += (v - v_q) * (v - v_q);
    }
    return {std::sqrt(xx), std::sqrt(qq), std::sqrt(ee)};
}

// screened_logits without the release of the file's pages.
int64_t screen_and_compute(const LinearWeight& output, const OutputScreen& screen, const float* x,
                           const LogitsNeeded& needed, float* logits, QuantizedActivations& qx,
                           LinearScratch& scratch, ScreenScratch& ss, ThreadPool& pool) {
    const FloatMatrix& exact = output.dense;
    const int64_t rows = exact.rows, k = exact.cols;
    const auto compute_all = [&] {
        linear_forward(output, x, qx, 1, logits, scratch, pool);
        return rows;
    };

    ss.penalised.assign(static_cast<size_t>(rows), 0);
    int64_t n_penalised = 0;
    for (Token t : needed.penalised) {
        if (t >= 0 && t < rows && !ss.penalised[static_cast<size_t>(t)]) {
            ss.penalised[static_cast<size_t>(t)] = 1;
            ++n_penalised;
        }
    }
    if (needed.top <= 0 || needed.top > rows - n_penalised) return compute_all();

    // The screen's logits; int8_activation_forward leaves x' in scratch.q8 / q8_scales.
    ss.approx.resize(static_cast<size_t>(rows));
    int8_activation_forward(screen.q8, x, 1, ss.approx.data(), scratch, pool);
    const ActivationNorms norms =
        activation_norms(x, k, scratch.q8.data(), scratch.q8_scales.data());
    if (!std::isfinite(norms.x) || !std::isfinite(norms.quantised)) return compute_all();

    // Bound(r) = error_norm[r] * x_weight + norm[r] * x_other (output_screen.h), then the
    // output scale: fl(z * s) lies within |s| (|s_r| + bound) u of z * s.
    const auto rounding = [](double n) { return n * kUnitRoundoff / (1.0 - n * kUnitRoundoff); };
    if (static_cast<double>(k) * kUnitRoundoff > 0.01) return compute_all();  // k > 167,772
    const double dot_rounding = rounding(static_cast<double>(k));
    const double screen_rounding = rounding(static_cast<double>(k / 32 + 8));
    const double slack = 1.0 + 1e-9;
    const double x_weight = norms.x * slack;
    const double x_other =
        (norms.error + dot_rounding * norms.x + screen_rounding * norms.quantised) * slack;
    const double scale = output.output_scale, abs_scale = std::fabs(scale);
    // Each float operation of either sum (and of the scale) can also lose up to 2^-150 to
    // underflow, whatever the magnitudes: fewer than 3k + 16 of them (2k for the file layer's
    // dot, k/4 products and about as many adds for the screen's), and the screen's product of
    // the two scales loses it times its block's |sum| <= 32 * 127 * 127.
    const double underflow =
        static_cast<double>(3 * k + 16 + 127 * 127 * k) * 0x1p-150 * (1.0 + abs_scale);
    // centre = s_r * scale (exact for scale 1), half = (bound * a + |s_r| * b) * slack +
    // underflow, where a = |scale| (1 + 2u) and b = 2u |scale| (1 and 0 for scale 1).
    const bool scaled = scale != 1.0;
    const double a = scaled ? abs_scale * (1.0 + 2 * kUnitRoundoff) : 1.0;
    const double b = scaled ? abs_scale * 2 * kUnitRoundoff : 0.0;
    const float* approx = ss.approx.data();
    const float* error_norm = screen.error_norm.data();
    const float* norm = screen.norm.data();
    const auto half_width = [&](int64_t r) {
        const double bound =
            static_cast<double>(error_norm[r]) * x_weight + static_cast<double>(norm[r]) * x_other;
        return (bound * a + std::fabs(static_cast<double>(approx[r])) * b) * slack + underflow;
    };
    ss.half.resize(static_cast<size_t>(rows));
    double* half = ss.half.data();
    for (int64_t r = 0; r < rows; ++r) half[r] = half_width(r);
    const auto lower = [&](int64_t r) { return static_cast<double>(approx[r]) * scale - half[r]; };

    // The `top` highest lower bounds of the unpenalised rows (a min-heap: its front is the
    // threshold). A row whose bounds are not numbers is always computed.
    const auto top = static_cast<size_t>(needed.top);
    std::vector<double>& heap = ss.lower_heap;
    heap.clear();
    const auto greater = std::greater<double>();
    for (int64_t r = 0; r < rows; ++r) {
        const double low = lower(r);
        if (ss.penalised[static_cast<size_t>(r)] || !(low == low)) continue;
        if (heap.size() < top) {
            heap.push_back(low);
            std::push_heap(heap.begin(), heap.end(), greater);
        } else if (low > heap.front()) {
            std::pop_heap(heap.begin(), heap.end(), greater);
            heap.back() = low;
            std::push_heap(heap.begin(), heap.end(), greater);
        }
    }
    if (heap.size() < top || !std::isfinite(heap.front())) return compute_all();
    const double threshold = heap.front();

    ss.candidates.clear();
    for (int64_t r = 0; r < rows; ++r) {
        const double upper = static_cast<double>(approx[r]) * scale + half[r];
        if (!(upper < threshold) || ss.penalised[static_cast<size_t>(r)])
            ss.candidates.push_back(r);
    }
    const auto n_candidates = static_cast<int64_t>(ss.candidates.size());
    if (n_candidates > rows / 8) return compute_all();

    std::fill(logits, logits + rows, -std::numeric_limits<float>::infinity());
    const kernels::FloatKernels& fk = *active_kernels().floats;
    // Each thread copies its candidate rows out of the file into its slot of row_copies
    // (read_row), 64-byte aligned.
    const auto slot_bytes = static_cast<size_t>((exact.row_bytes + 63) / 64 * 64);
    ss.row_copies.resize(static_cast<size_t>(pool.size()) * slot_bytes + 64);
    const auto aligned = (reinterpret_cast<uintptr_t>(ss.row_copies.data()) + 63) / 64 * 64;
    const auto compute = [&](int thread, int64_t begin, int64_t end) {
        uint8_t* copy =
            reinterpret_cast<uint8_t*>(aligned) + static_cast<size_t>(thread) * slot_bytes;
        for (int64_t i = begin; i < end; ++i) {
            const int64_t r = ss.candidates[static_cast<size_t>(i)];
            float value;
            fk.gemv(exact.format, read_row(exact, r, copy), exact.row_bytes, 1, k, x, &value);
            logits[r] = output.output_scale == 1.0f ? value : value * output.output_scale;
        }
    };
    if (n_candidates < kSerialCandidates) {
        compute(0, 0, n_candidates);
    } else {
        pool.parallel_for_dynamic(n_candidates, 16, compute);
    }
    return n_candidates;
}

}  // namespace

int64_t screened_logits(const LinearWeight& output, const OutputScreen& screen, const float* x,
                        const LogitsNeeded& needed, float* logits, QuantizedActivations& qx,
                        LinearScratch& scratch, ScreenScratch& ss, ThreadPool& pool) {
    const int64_t computed =
        screen_and_compute(output, screen, x, needed, logits, qx, scratch, ss, pool);
    // Every row was read in place from the file's mapping: drop its pages again.
    if (computed == output.dense.rows && screen.release_pages) screen.release_pages();
    return computed;
}

}  // namespace tern
