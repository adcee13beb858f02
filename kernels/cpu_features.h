// What the running CPU can execute, detected once.
#pragma once

namespace tern::kernels {

struct CpuFeatures {
    bool avx2 = false;  // with the OS saving YMM state
    bool fma = false;
    bool f16c = false;
    bool avx_vnni = false;
    bool avx512f = false;      // with the OS saving ZMM state
    bool avx512vl = false;     // AVX-512 instructions on 128/256-bit vectors
    bool avx512_vnni = false;  // VPDPBUSD in EVEX form (512-bit, and 256-bit with VL)
    bool neon = false;
    bool dotprod = false;  // Armv8.2 SDOT/UDOT
};

const CpuFeatures& cpu_features();

}  // namespace tern::kernels
