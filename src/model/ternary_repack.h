// Turning a ternary tensor in any file layout into tern's packed TernaryMatrix, once, at load.
#pragma once

#include "kernels/ternary_matmul.h"
#include "model/weights.h"

#include <optional>

namespace tern {

// Repacks an I2_S, TQ2_0 or TQ1_0 tensor of shape [cols, rows] (ne[0] = cols) into the layout
// `choose_layout` picks for `set`, decoding a tile of rows at a time on all of `pool`'s threads.
// I2_S blocks that run across rows (K not a multiple of 128) are handled here. TQ block scales
// collapse to one per-tensor scale when every non-zero block scale is equal (all-zero-scale
// blocks then contribute nothing); otherwise one scale per 256-column group is kept.
// I2_S tensors that already are the i2 layout are copied as they are, without decoding.
// The packed bytes are taken from `arena` if given. Throws Error(model) for invalid codes or
// non-finite scales.
TernaryMatrix repack_ternary(const TensorView& tensor, const kernels::KernelSet& set,
                             ThreadPool& pool, kernels::WeightArena* arena = nullptr);

// If every value of a float tensor (F32/F16/BF16) is 0 or +-s for one s > 0, returns it as a
// ternary matrix with per-tensor scale s; otherwise nullopt.
std::optional<TernaryMatrix> ternarize_float(const TensorView& tensor,
                                             const kernels::KernelSet& set, ThreadPool& pool);

}  // namespace tern
