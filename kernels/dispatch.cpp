// The scalar kernel set and the list of sets the running CPU supports.
#include "kernels/dispatch.h"

#include "kernels/platform_kernels.h"
#include "kernels/scalar/ternary_gemm__scalar.h"
#include "kernels/tl3_tables.h"

namespace tern::kernels {

const KernelSet& scalar_kernels() {
    static const KernelSet set = [] {
        KernelSet s;
        s.isa = "scalar";
        s.quantize_row = quantize_row_i8_scalar;
        s.build_tl3_tables = build_tl3_tables_scalar;
        s.ref_gemm = {ref_gemm__scalar, "ref_gemm_1x1__scalar"};
        s.i2_gemv = {i2_gemm__scalar, "i2_gemm_1x1__scalar"};
        s.i2_gemm = s.i2_gemv;
        s.tl3_gemv = {tl3_gemm__scalar, "tl3_gemm_1x3__scalar", KernelInput::tl3_tables};
        s.tl3_gemm = s.tl3_gemv;
        s.floats = &scalar_float_kernels();
        return s;
    }();
    return set;
}

std::vector<const KernelSet*> compiled_kernel_sets() {
    std::vector<const KernelSet*> sets = platform_kernel_sets();
    sets.push_back(&scalar_kernels());
    return sets;
}

std::vector<const KernelSet*> supported_kernel_sets() {
    std::vector<const KernelSet*> sets;
    for (const KernelSet* set : platform_kernel_sets()) {
        if (platform_supports(*set)) sets.push_back(set);
    }
    sets.push_back(&scalar_kernels());
    return sets;
}

}  // namespace tern::kernels
