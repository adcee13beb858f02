// Implemented once per target architecture (x86/, arm/ or generic): the SIMD kernel sets this
// build has, and whether the running CPU can execute one.
#pragma once

#include "kernels/ternary_matmul.h"

#include <vector>

namespace tern::kernels {

std::vector<const KernelSet*> platform_kernel_sets();
bool platform_supports(const KernelSet& set);

}  // namespace tern::kernels
