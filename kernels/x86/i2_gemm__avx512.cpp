// AVX-512 VNNI + VL i2 GEMM: the 256-bit VNNI GEMM with VPDPBUSD in its EVEX encoding.
// Compiled with -mavx512f -mavx512vl -mavx512vnni; chosen only when the CPU has all three.
#include "kernels/x86/i2_gemm__avx512.h"
#include "kernels/x86/i2_gemm_vnni256.h"

namespace tern::kernels {

namespace {

// acc += VPDPBUSD(codes as u8, 32 int8 activations); inline assembly for GCC, which otherwise
// copies the accumulator around every call (see the AVX-VNNI kernels). Without a {vex} prefix
// the assembler emits the EVEX form.
struct EvexDot {
    static inline __m256i dpbusd(__m256i acc, __m256i codes, __m256i activations) {
#if defined(__GNUC__) && !defined(__clang__)
        asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(codes), "vm"(activations));
        return acc;
#else
        return _mm256_dpbusd_epi32(acc, codes, activations);
#endif
    }
};

}  // namespace

void i2_gemm_4x32x3__avx512vl(const MatmulArgs& args) {
    vnni256::i2_gemm_4x32x3<EvexDot>(args);
}

}  // namespace tern::kernels
