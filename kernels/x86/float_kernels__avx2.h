// AVX2 float kernels (declaration).
#pragma once

#include "kernels/float_kernels.h"

namespace tern::kernels {

const FloatKernels& avx2_float_kernels();

}  // namespace tern::kernels
