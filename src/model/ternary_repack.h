// Turning a ternary tensor in any file layout into tern's in-memory TernaryMatrix, once, at load.
#pragma once

#include "model/weights.h"

#include <optional>

namespace tern {

// Repacks an I2_S, TQ2_0 or TQ1_0 tensor of shape [cols, rows] (ne[0] = cols) row by row: I2_S
// blocks may run across rows (K not a multiple of 128), which is handled here. TQ block scales
// collapse to one per-tensor scale when every non-zero block scale is equal (all-zero-scale blocks
// then contribute nothing); otherwise one scale per 256-column group is kept.
// Throws Error(model) for invalid codes or non-finite scales.
TernaryMatrix repack_ternary(const TensorView& tensor, ThreadPool& pool);

// If every value of a float tensor (F32/F16/BF16) is 0 or +-s for one s > 0, returns it as a
// ternary matrix with per-tensor scale s; otherwise nullopt.
std::optional<TernaryMatrix> ternarize_float(const TensorView& tensor, ThreadPool& pool);

}  // namespace tern
