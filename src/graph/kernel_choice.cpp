// Choosing the kernel set once per process and a ternary layout per matrix.
#include "graph/kernel_choice.h"

#include "kernels/dispatch.h"
#include "util/strings.h"

#include <tern/error.h>

#include <cstdlib>
#include <cstring>

namespace tern {

namespace {

const kernels::KernelSet& select_kernels() {
    const char* requested = std::getenv("TERN_ISA");
    if (requested == nullptr || *requested == '\0')
        return *kernels::supported_kernel_sets().front();
    for (const kernels::KernelSet* set : kernels::supported_kernel_sets()) {
        if (std::strcmp(set->isa, requested) == 0) return *set;
    }
    for (const kernels::KernelSet* set : kernels::compiled_kernel_sets()) {
        if (std::strcmp(set->isa, requested) == 0) {
            throw Error(ErrorCode::unsupported,
                        cat("TERN_ISA=", requested, " is not supported by this CPU"));
        }
    }
    std::string known;
    for (const kernels::KernelSet* set : kernels::compiled_kernel_sets())
        known += cat(known.empty() ? "" : ", ", set->isa);
    throw Error(ErrorCode::invalid_argument,
                cat("TERN_ISA=", requested, " is not a kernel set of this build (", known, ")"));
}

bool has(const kernels::NamedKernel& k) {
    return k.fn != nullptr;
}

}  // namespace

const kernels::KernelSet& active_kernels() {
    static const kernels::KernelSet& set = select_kernels();
    return set;
}

kernels::TernaryLayout choose_layout(const kernels::KernelSet& set, bool grouped_scales) {
    using kernels::TernaryLayout;
    const bool mad = has(set.i2_gemv) && has(set.i2_gemm);
    const bool lut = has(set.tl3_gemv) && has(set.tl3_gemm);
    if (const char* forced = std::getenv("TERN_KERNEL"); forced != nullptr && *forced != '\0') {
        const std::string f = forced;
        if (f == "ref") return TernaryLayout::ref;
        if (f == "mad" && mad) return TernaryLayout::i2;
        if (f == "lut" && lut && !grouped_scales) return TernaryLayout::tl3;
        if (f != "mad" && f != "lut") {
            throw Error(ErrorCode::invalid_argument,
                        cat("TERN_KERNEL=", f, " is not lut, mad or ref"));
        }
    }
    if (grouped_scales) return mad ? TernaryLayout::i2 : TernaryLayout::ref;
    if (std::strcmp(set.isa, "scalar") == 0) return TernaryLayout::ref;
    if (mad && set.prefer_mad) return TernaryLayout::i2;
    if (lut) return TernaryLayout::tl3;
    return mad ? TernaryLayout::i2 : TernaryLayout::ref;
}

const kernels::NamedKernel& kernel_for(const kernels::KernelSet& set, kernels::TernaryLayout layout,
                                       int64_t n_tokens) {
    switch (layout) {
        case kernels::TernaryLayout::ref:
            return set.ref_gemm;
        case kernels::TernaryLayout::i2:
            return n_tokens == 1 ? set.i2_gemv : set.i2_gemm;
        case kernels::TernaryLayout::tl3:
            if (n_tokens == 1) return set.tl3_gemv;
            if (set.tl3_prompt.fn != nullptr && n_tokens >= set.tl3_prompt_min_tokens)
                return set.tl3_prompt;
            return set.tl3_gemm;
    }
    return set.ref_gemm;
}

std::string kernel_names(const kernels::KernelSet& set, kernels::TernaryLayout layout) {
    // One token, a few tokens, a long prompt.
    std::string names;
    for (int64_t n_tokens : {int64_t{1}, int64_t{2}, int64_t{1} << 20}) {
        const std::string name = kernel_for(set, layout, n_tokens).name;
        if (names.find(name) == std::string::npos) names += (names.empty() ? "" : " / ") + name;
    }
    return names;
}

}  // namespace tern
