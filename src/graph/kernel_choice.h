// Which kernel set runs (chosen once per process from the CPU, or TERN_ISA) and which ternary
// layout each weight matrix is packed in.
#pragma once

#include "kernels/ternary_matmul.h"

#include <cstdint>
#include <string>

namespace tern {

// The kernel set for this process: TERN_ISA=scalar|avx2|neon if set (Error if unknown or not
// supported by this CPU or build), otherwise the best set the CPU supports.
const kernels::KernelSet& active_kernels();

// The layout a rows x cols ternary matrix is packed in. Per-group weight scales need column
// ranges, which the ref and i2 kernels support. Otherwise the set decides (KernelSet::prefer_mad,
// from bench/kernel_bench, figures in the README): with AVX-VNNI the multiply-add GEMM runs
// 1.25-1.55x the LUT GEMM at every shape and its GEMV 1.07-1.19x the LUT GEMV with one thread
// (0.9-1.2x with two) although i2 reads 20% more bytes, and I2_S files are then copied without
// decoding; with plain AVX2 the maddubs GEMM is 0.65-0.85x the LUT GEMM, so tl3 wins a whole
// prompt-plus-generation; on NEON the sdot kernels (i2) are used where the CPU has dotprod (not
// measured on Arm hardware here), tl3 otherwise.
// TERN_KERNEL=lut|mad|ref overrides the rule (for benchmarking).
kernels::TernaryLayout choose_layout(const kernels::KernelSet& set, bool grouped_scales);

// "tl3_gemv_32x3__avx2 / tl3_gemm_32x3x4__avx2" for a layout under a set.
std::string kernel_names(const kernels::KernelSet& set, kernels::TernaryLayout layout);

// The GEMV (one token) or GEMM kernel for a layout.
const kernels::NamedKernel& kernel_for(const kernels::KernelSet& set, kernels::TernaryLayout layout,
                                       int64_t n_tokens);

}  // namespace tern
