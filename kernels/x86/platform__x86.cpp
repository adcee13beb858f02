// x86-64: CPU feature detection (cpuid + xgetbv) and the AVX2 kernel set.
#include "kernels/cpu_features.h"
#include "kernels/platform_kernels.h"
#include "kernels/scalar/ternary_gemm__scalar.h"
#include "kernels/x86/activation_quant__avx2.h"
#include "kernels/x86/float_kernels__avx2.h"
#include "kernels/x86/float_kernels__avx512.h"
#include "kernels/x86/i2_gemm__avx2.h"
#include "kernels/x86/i2_gemm__avx512.h"
#include "kernels/x86/i2_gemm__avxvnni.h"
#include "kernels/x86/i2_gemv__avx512.h"
#include "kernels/x86/tl3_gemm__avx2.h"

#include <cpuid.h>

#include <cstring>

namespace tern::kernels {

namespace {

CpuFeatures detect() {
    CpuFeatures f;
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
    const bool osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1;
    f.fma = (ecx >> 12) & 1;
    f.f16c = (ecx >> 29) & 1;
    bool ymm_state = false, zmm_state = false;
    if (osxsave && avx) {
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        ymm_state = (lo & 6) == 6;        // XMM and YMM state enabled by the OS
        zmm_state = (lo & 0xe6) == 0xe6;  // and opmask, ZMM0-15 upper halves, ZMM16-31
    }
    if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
        f.avx2 = ymm_state && ((ebx >> 5) & 1);
        f.avx512f = zmm_state && ((ebx >> 16) & 1);
        f.avx512vl = f.avx512f && ((ebx >> 31) & 1);
        f.avx512_vnni = f.avx512f && ((ecx >> 11) & 1);
    }
    if (__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) f.avx_vnni = ymm_state && ((eax >> 4) & 1);
    return f;
}

const KernelSet& avx2_set() {
    static const KernelSet set = [] {
        KernelSet s;
        s.isa = "avx2";
        s.quantize_row = quantize_row_i8__avx2;
        s.build_tl3_tables = build_tl3_tables__avx2;
        s.pack_tiles = pack_tiles__avx2;
        s.ref_gemm = {ref_gemm__scalar, "ref_gemm_1x1__scalar"};
        s.i2_gemv = {i2_gemv_4x128__avx2, "i2_gemv_4x128__avx2"};
        s.i2_gemm = {i2_gemm_1x128x8__avx2, "i2_gemm_1x128x8__avx2"};
        s.tl3_gemv = {tl3_gemv_32x3__avx2, "tl3_gemv_32x3__avx2", KernelInput::tl3_tables};
        s.tl3_gemm = {tl3_gemm_32x3x4__avx2, "tl3_gemm_32x3x4__avx2", KernelInput::tl3_tables};
        s.tl3_prompt = {tl3_gemm_decoded_32x4x4__avx2, "tl3_gemm_decoded_32x4x4__avx2",
                        KernelInput::token_quads};
        // From 8 tokens the decoded GEMM is the faster (library harness, 1 thread, Zen 3,
        // medians: 6 tokens 80/48/37 against the lookups' 93/54/42 GMAC/s on the 2B-4T kv,
        // gate_up and down shapes; 8 tokens 71/103/95 against 66/95/90).
        s.tl3_prompt_min_tokens = 8;
        s.floats = &avx2_float_kernels();
        return s;
    }();
    return set;
}

// AVX2 plus the VEX-encoded VNNI dot products (Alder Lake, Zen 5 and later) for the i2 kernels.
const KernelSet& avxvnni_set() {
    static const KernelSet set = [] {
        KernelSet s = avx2_set();
        s.isa = "avxvnni";
        s.i2_gemv = {i2_gemv_1x128__avxvnni, "i2_gemv_1x128__avxvnni"};
        s.i2_gemm = {i2_gemm_4x32x3__avxvnni, "i2_gemm_4x32x3__avxvnni"};
        s.prefer_mad = true;
        return s;
    }();
    return set;
}

// AVX-512 VNNI (Zen 4, Zen 5, Ice Lake, Sapphire Rapids and later): 512-bit GEMVs (i2 and
// F16/BF16) for one token, and for prompts the 512-bit VNNI GEMM, so CPUs with AVX-512 VNNI but
// without AVX-VNNI (Zen 4, Ice Lake, Tiger Lake) have a VNNI GEMM too. Built on the
// AVX2 set, not the AVX-VNNI one: nothing VEX-VNNI may reach a CPU that lacks it.
const KernelSet& avx512_set() {
    static const KernelSet set = [] {
        KernelSet s = avx2_set();
        s.isa = "avx512";
        s.i2_gemv = {i2_gemv_4x128__avx512, "i2_gemv_4x128__avx512"};
        s.i2_gemm = {i2_gemm_4x32x6__avx512, "i2_gemm_4x32x6__avx512"};
        s.prefer_mad = true;
        static const FloatKernels floats = [] {
            FloatKernels f = avx2_float_kernels();
            f.isa = "avx512";
            f.gemv = float_gemv__avx512;
            f.gemv_k_q8 = gemv_k_q8__avx512;
            f.gemv_heads = gemv_heads__avx512;
            f.add_weighted_rows_heads = add_weighted_rows_heads__avx512;
            return f;
        }();
        s.floats = &floats;
        return s;
    }();
    return set;
}

}  // namespace

const CpuFeatures& cpu_features() {
    static const CpuFeatures features = detect();
    return features;
}

std::vector<const KernelSet*> platform_kernel_sets() {
    return {&avx512_set(), &avxvnni_set(), &avx2_set()};
}

bool platform_supports(const KernelSet& set) {
    const CpuFeatures& f = cpu_features();
    if (std::strcmp(set.isa, "avx2") == 0) return f.avx2 && f.fma && f.f16c;
    if (std::strcmp(set.isa, "avxvnni") == 0) return f.avx2 && f.fma && f.f16c && f.avx_vnni;
    if (std::strcmp(set.isa, "avx512") == 0)
        return f.avx2 && f.fma && f.f16c && f.avx512vl && f.avx512_vnni;
    return false;
}

}  // namespace tern::kernels
