// The scalar reference ternary matmul and its plain weight layout: the ground truth every
// optimised kernel is tested against.
#pragma once

#include <cstdint>

namespace tern::kernels {

// Reference layout: row-major, each row ternary_ref_row_bytes(K) bytes. Element k of a row is the
// 2-bit code t + 1 (t in {-1, 0, +1}) in byte k / 4 at bits 2 * (k % 4). Padding codes are 1
// (weight 0), so a row may be read in whole 128-element steps.
int64_t ternary_ref_row_bytes(int64_t k);

// Packs `k` trits (int8 in {-1, 0, +1}) into one reference row of ternary_ref_row_bytes(k) bytes.
void ternary_ref_pack_row(const int8_t* trits, int64_t k, uint8_t* row);

// Integer ternary GEMM over a column range:
//   out[n * out_stride + m] = sum_{c < k} t(m, c) * act[n * act_stride + c]
// for rows m in [0, m_rows) and tokens n in [0, n_tokens). `codes` points at the first row (and
// may be offset by a multiple of 4 columns, i.e. `first_column / 4` bytes); rows are `row_bytes`
// apart. The sums are exact (|sum| <= 128 * k fits int32 for any k < 2^24).
void ternary_gemm_ref(const uint8_t* codes, int64_t row_bytes, int64_t m_rows, int64_t k,
                      const int8_t* act, int64_t act_stride, int64_t n_tokens, int32_t* out,
                      int64_t out_stride);

}  // namespace tern::kernels
