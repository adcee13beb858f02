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
// ranges, which the ref and i2 kernels support. Otherwise, from the kernel benchmarks
// (bench/kernel_bench; figures in the README): on x86 the LUT (tl3) GEMM runs 1.2-1.3x the
// multiply-add GEMM (maddubs or AVX-VNNI) at every model shape, while the multiply-add GEMV is
// ahead by 5-25% at one thread and about level at two (tl3 reads 17% fewer bytes), so tl3 wins
// a whole prompt-plus-generation; on NEON with dotprod the sdot kernels (i2) are used (not
// measured on Arm hardware here), and tl3 without dotprod.
// TERN_KERNEL=lut|mad|ref overrides the rule (for benchmarking).
kernels::TernaryLayout choose_layout(const kernels::KernelSet& set, bool grouped_scales);

// "tl3_gemv_32x3__avx2 / tl3_gemm_32x3x4__avx2" for a layout under a set.
std::string kernel_names(const kernels::KernelSet& set, kernels::TernaryLayout layout);

// The GEMV (one token) or GEMM kernel for a layout.
const kernels::NamedKernel& kernel_for(const kernels::KernelSet& set, kernels::TernaryLayout layout,
                                       int64_t n_tokens);

}  // namespace tern
