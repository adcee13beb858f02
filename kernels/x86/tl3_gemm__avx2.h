// AVX2 lookup-table kernels over the tl3 layout (declarations).
#pragma once

#include "kernels/ternary_matmul.h"

namespace tern::kernels {

// 32 rows x 1 group of 3 columns per lookup step, one token at a time.
void tl3_gemv_32x3__avx2(const MatmulArgs& args);
// The same lookups for 4 tokens per step, each group's indices and signs decoded once.
void tl3_gemm_32x3x4__avx2(const MatmulArgs& args);
// Prompts: each 32-row tile decoded once into int8 codes, then multiplied into 4 tokens at a
// time with maddubs (reads the batch's token quads).
void tl3_gemm_decoded_32x4x4__avx2(const MatmulArgs& args);
// pack_row_tiles with the tl3 layout packed by AVX2 (byte-identical); other layouts go to the
// portable packer.
void pack_tiles__avx2(PackedTernary& m, int64_t tile_begin, int64_t tile_end, const int8_t* trits);
// Builds the tables with AVX2 (bit-identical to build_tl3_tables_scalar).
void build_tl3_tables__avx2(ActivationBatch& a, int64_t token_begin, int64_t token_end);

}  // namespace tern::kernels
