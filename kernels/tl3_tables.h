// The tl3 lookup tables: for each group of 3 activations, the 14 possible ternary partial sums.
#pragma once

#include "kernels/ternary_matmul.h"

namespace tern::kernels {

// Balanced-ternary digits (w0, w1, w2) of each table index i = 9 w0 + 3 w1 + w2, i < 14.
extern const int8_t kTl3Digits[14][3];

// Writes one group's 32 table bytes: low bytes of int16 T[0..15], then high bytes.
void tl3_group_table(int a0, int a1, int a2, uint8_t* out);

void build_tl3_tables_scalar(ActivationBatch& a, int64_t token_begin, int64_t token_end);

}  // namespace tern::kernels
