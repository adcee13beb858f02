// Kernel sets per instruction set, and which of them this CPU can run.
#pragma once

#include "kernels/ternary_matmul.h"

#include <vector>

namespace tern::kernels {

// The scalar set: always available, ref layout plus scalar i2 / tl3 emulations.
const KernelSet& scalar_kernels();

// Every set this build contains that the running CPU supports, best first (the scalar set last).
std::vector<const KernelSet*> supported_kernel_sets();

// All sets compiled into this build for this architecture, supported by the CPU or not.
std::vector<const KernelSet*> compiled_kernel_sets();

}  // namespace tern::kernels
