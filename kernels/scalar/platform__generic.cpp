// Architectures without SIMD kernels: only the scalar set.
#include "kernels/cpu_features.h"
#include "kernels/platform_kernels.h"

namespace tern::kernels {

const CpuFeatures& cpu_features() {
    static const CpuFeatures features;
    return features;
}

std::vector<const KernelSet*> platform_kernel_sets() {
    return {};
}
bool platform_supports(const KernelSet&) {
    return false;
}

}  // namespace tern::kernels
