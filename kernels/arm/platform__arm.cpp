// AArch64: CPU features from the auxiliary vector, and the NEON kernel sets (with and without
// the dotprod extension).
#include "kernels/arm/neon_kernels.h"
#include "kernels/cpu_features.h"
#include "kernels/platform_kernels.h"
#include "kernels/scalar/ternary_gemm__scalar.h"

#include <sys/auxv.h>

#include <cstring>

#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif

namespace tern::kernels {

namespace {

KernelSet neon_set(bool dotprod) {
    KernelSet s;
    s.isa = "neon";
    s.quantize_row = quantize_row_i8__neon;
    s.build_tl3_tables = build_tl3_tables__neon;
    s.ref_gemm = {ref_gemm__scalar, "ref_gemm_1x1__scalar"};
    if (dotprod) {
        s.i2_gemv = {i2_gemv_4x128__neondot, "i2_gemv_4x128__neondot"};
        s.i2_gemm = {i2_gemm_1x128x4__neondot, "i2_gemm_1x128x4__neondot"};
        s.prefer_mad = true;
    } else {
        s.i2_gemv = {i2_gemv_4x128__neon, "i2_gemv_4x128__neon"};
        s.i2_gemm = {i2_gemm_1x128x4__neon, "i2_gemm_1x128x4__neon"};
    }
    s.tl3_gemv = {tl3_gemv_32x3__neon, "tl3_gemv_32x3__neon", KernelInput::tl3_tables};
    s.tl3_gemm = {tl3_gemm_32x3x4__neon, "tl3_gemm_32x3x4__neon", KernelInput::tl3_tables};
    s.floats = &neon_float_kernels();
    return s;
}

const KernelSet& neon_dotprod_set() {
    static const KernelSet set = neon_set(true);
    return set;
}

const KernelSet& neon_plain_set() {
    static const KernelSet set = neon_set(false);
    return set;
}

}  // namespace

const CpuFeatures& cpu_features() {
    static const CpuFeatures features = [] {
        CpuFeatures f;
        const unsigned long hwcap = getauxval(AT_HWCAP);
        f.neon = true;  // Advanced SIMD is mandatory on AArch64
        f.dotprod = (hwcap & HWCAP_ASIMDDP) != 0;
        return f;
    }();
    return features;
}

std::vector<const KernelSet*> platform_kernel_sets() {
    return {&neon_dotprod_set(), &neon_plain_set()};
}

bool platform_supports(const KernelSet& set) {
    if (&set == &neon_dotprod_set()) return cpu_features().dotprod;
    return &set == &neon_plain_set();
}

}  // namespace tern::kernels
