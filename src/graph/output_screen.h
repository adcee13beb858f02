// The screened output layer (--lm-head screen): a token's exact logits for only the rows that
// can be among the highest, found by bounding every row's logit with a Q8_0 copy.
//
// For row r with weights W_r (as decoded from the file) and its Q8_0 copy Q_r, and the token's
// normed hidden state x quantised per 32 values to x' (q * d), the screen computes
// s_r = Q_r . x' (canonical Q8_0 x int8 order) and the exact path z_r = W_r . x (the file
// layer's canonical float order). Then, with u = 2^-24,
//   |z_r - s_r| <= ||W_r - Q_r|| ||x||                 (weights' quantisation, Cauchy-Schwarz)
//                + ||Q_r|| ||x - x'||                  (activations' quantisation)
//                + g_k ||W_r|| ||x|| + g_s ||Q_r|| ||x'||  (float rounding of either sum)
// where g_n = n u / (1 - n u) bounds the rounding of a float sum of n-term products in any
// order: g_k for the file layer's dot (k products, at most k adds), g_s with s = k/32 + 8 for the
// screen's (exact int32 block sums; per block the two scales' product and the block's products,
// added into two accumulators joined by a short tree: at most k/64 + 6 roundings on any term),
// plus 2^-150 per float operation for underflow (times the block sum for the product of the two
// scales, which the sum multiplies). A row whose upper bound is below the `top`-th highest lower
// bound of the rows the caller does not penalise cannot be among the top highest, so only the
// others are computed exactly.
#pragma once

#include "graph/linear.h"
#include "model/weights.h"

#include <tern/session.h>

#include <cstdint>
#include <vector>

namespace tern {

class ThreadPool;

// Buffers reused from token to token.
struct ScreenScratch {
    std::vector<float> approx;        // [rows] screen logits s_r
    std::vector<double> half;         // [rows] half-widths of the logits' bounds
    std::vector<double> lower_heap;   // the `top` highest lower bounds (a min-heap)
    std::vector<int64_t> candidates;  // rows computed exactly
    std::vector<uint8_t> penalised;   // [rows] 1 for the caller's penalised tokens
    std::vector<uint8_t> row_copies;  // [threads][row_bytes] candidate rows read from the file
};

// Writes one token's logits (x: the normed final hidden state, output.cols() floats) for a
// caller that reads only what `needed` says (needed.top > 0): the exact value linear_forward
// would give for every row that can be among the needed.top highest once the penalised rows
// change, and for every penalised row; -infinity for the others. Falls back to computing every
// row (linear_forward) when the bounds leave more than an eighth of the rows, when x is not
// finite, or when fewer than needed.top rows are unpenalised. Returns the rows computed exactly
// from the file's layer (all of them after a fall-back).
// `qx` is only for that fallback.
int64_t screened_logits(const LinearWeight& output, const OutputScreen& screen, const float* x,
                        const LogitsNeeded& needed, float* logits, QuantizedActivations& qx,
                        LinearScratch& scratch, ScreenScratch& screen_scratch, ThreadPool& pool);

}  // namespace tern
