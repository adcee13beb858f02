// Eight 16-bit floats (F16 or BF16) to an AVX2 vector of floats, exactly.
#pragma once

#include "kernels/float_rows.h"

#include <immintrin.h>

#include <cstdint>

namespace tern::kernels {

// F16 by F16C, BF16 (the top half of a float) by a shift.
template <FloatWeightFormat format>
inline __m256 load8(const uint16_t* p) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    if constexpr (format == FloatWeightFormat::f16) {
        return _mm256_cvtph_ps(h);
    } else {
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
}

}  // namespace tern::kernels
