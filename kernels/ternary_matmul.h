// The ternary matmul kernel interface: quantised activation batches, kernel arguments and the
// per-ISA kernel set chosen once at startup.
#pragma once

#include "kernels/activation_quant.h"
#include "kernels/float_kernels.h"
#include "kernels/ternary_layout.h"

#include <algorithm>
#include <cstdint>

namespace tern::kernels {

// A batch of int8 activations for one linear input, with what each kernel family needs.
// Buffers only grow, so a batch reused every layer allocates nothing after warm-up.
struct ActivationBatch {
    int64_t n_tokens = 0;
    int64_t k = 0;            // valid columns
    int64_t stride = 0;       // columns per token in q: k rounded up to 128, zero padded
    AlignedBuffer q;          // [n_tokens][stride] int8, starting q_offset bytes in
    int64_t q_offset = 0;     // 0 normally; tests set it to check unaligned activation loads
    AlignedBuffer scale;      // [n_tokens] float: 127 / absmax
    AlignedBuffer sum;        // [n_tokens] int32: sum of q
    AlignedBuffer block_sum;  // [n_tokens][stride / 128] int32: sums of q per 128 columns
    // tl3 lookup tables, built on demand: [n_tokens][groups][32 bytes] where groups = k rounded
    // up to 24, divided by 3 (columns past `stride` count as zero activations). A group's 32 bytes
    // are the low bytes then the high bytes of the 16 int16 entries T[i] = w0 a0 + w1 a1 + w2 a2
    // over the balanced-ternary digits (w0, w1, w2) of i = 9 w0 + 3 w1 + w2 (i < 14; T[14] = T[15]
    // = 0) for the group's activations (a0, a1, a2).
    AlignedBuffer tables;
    int64_t table_groups = 0;
    bool has_tables = false;
    // The activations four tokens at a time for the decoded tl3 GEMM, built on demand:
    // [ceil(n_tokens / 4) blocks][stride / 4 quads][4 tokens][4 bytes], quad j of a block's token
    // i = q[4 block + i][4 j .. 4 j + 3]; tokens past n_tokens are zeros. A block's quads are one
    // sequential stream, so the kernel reads 4 tokens with one load per column quad.
    AlignedBuffer token_quads;
    bool has_token_quads = false;

    const int8_t* token_q(int64_t t) const {
        return reinterpret_cast<const int8_t*>(q.get()) + q_offset + t * stride;
    }
    float token_scale(int64_t t) const { return reinterpret_cast<const float*>(scale.get())[t]; }
    int32_t token_sum(int64_t t) const { return reinterpret_cast<const int32_t*>(sum.get())[t]; }
    const int32_t* token_block_sums(int64_t t) const {
        return reinterpret_cast<const int32_t*>(block_sum.get()) + t * (stride / 128);
    }
    const uint8_t* token_tables(int64_t t) const { return tables.get() + t * table_groups * 32; }
    int64_t quad_blocks() const { return (n_tokens + 3) / 4; }
    const int8_t* quad_block(int64_t block) const {
        return reinterpret_cast<const int8_t*>(token_quads.get()) + block * stride * 4;
    }
};

// Arguments of one ternary matmul call: output rows of tiles [tile_begin, tile_end) of `w`
// (rows past w->rows are not written), column units [unit_begin, unit_end) (i2: 128-column
// blocks; tl3 and ref: the whole row only), tokens [token_begin, token_end):
//   out[t * out_stride + row] = sum over the columns of trit(row, c) * q(t, c)   (exact int32)
struct MatmulArgs {
    const PackedTernary* w;
    int64_t tile_begin, tile_end;
    int64_t unit_begin, unit_end;
    const ActivationBatch* a;
    int64_t token_begin, token_end;
    int32_t* out;
    int64_t out_stride;
};

// Sum of token t's activations over the call's column blocks: what multiplying by the i2 codes
// (w + 1, in 0..2) adds beyond the true dot product. The GEMMs ask once per tile and token, so
// the whole-row case, the usual one, reads the precomputed sum.
inline int32_t i2_code_offset(const MatmulArgs& args, int64_t t) {
    if (args.unit_begin == 0 && args.unit_end == args.w->col_units) return args.a->token_sum(t);
    const int32_t* block_sums = args.a->token_block_sums(t);
    int32_t offset = 0;
    for (int64_t b = args.unit_begin; b < args.unit_end; ++b) offset += block_sums[b];
    return offset;
}

// The i2 rows a one-token call covers (its tiles clipped to the matrix; empty when begin >= end)
// and where its weight stream ends: the call's row tiles are contiguous, so its rows are one
// stream (with a column range, one with gaps), prefetched no further than the last tile's last
// block.
struct I2GemvRows {
    int64_t begin, end;
    const uint8_t* stream_end;
};

inline I2GemvRows i2_gemv_rows(const MatmulArgs& args) {
    const PackedTernary& w = *args.w;
    const int64_t begin = args.tile_begin * kI2RowTile;
    const int64_t end = std::min(w.rows, args.tile_end * kI2RowTile);
    return {begin, end, begin < end ? i2_block(w, end - 1, args.unit_end) : nullptr};
}

using MatmulFn = void (*)(const MatmulArgs& args);
using QuantizeRowFn = QuantizedRowInfo (*)(const float* x, int64_t n, int8_t* q);
// Builds tl3 tables for tokens [token_begin, token_end) of a batch (tables already sized).
using BuildTablesFn = void (*)(ActivationBatch& a, int64_t token_begin, int64_t token_end);

// Packs row tiles [tile_begin, tile_end) into a matrix's layout, byte-identical to pack_row_tiles.
using PackTilesFn = void (*)(PackedTernary& m, int64_t tile_begin, int64_t tile_end,
                             const int8_t* trits);

// What a kernel reads of an activation batch beyond q, its sums and its scales.
enum class KernelInput : uint8_t { q, tl3_tables, token_quads };

// A kernel with the name it is reported by (format_op_tile__isa).
struct NamedKernel {
    MatmulFn fn = nullptr;
    const char* name = "none";
    KernelInput input = KernelInput::q;
};

// Everything one instruction set offers. Kernels a set lacks have fn == nullptr.
struct KernelSet {
    const char* isa = "scalar";
    QuantizeRowFn quantize_row = nullptr;
    BuildTablesFn build_tl3_tables = nullptr;
    NamedKernel ref_gemm;            // ref layout, any token count
    NamedKernel i2_gemv, i2_gemm;    // i2 layout: one token / many tokens
    NamedKernel tl3_gemv, tl3_gemm;  // tl3 layout: one token / many tokens
    // tl3 layout from tl3_prompt_min_tokens tokens up, where one exists (prompts).
    NamedKernel tl3_prompt;
    int64_t tl3_prompt_min_tokens = 0;
    const FloatKernels* floats = nullptr;     // the graph's float operations, canonical order
    PackTilesFn pack_tiles = pack_row_tiles;  // the portable packer, or one faster for some layouts
    // Its multiply-add (i2) kernels beat its LUT (tl3) ones (kernel_bench).
    bool prefer_mad = false;
};

// Sizes `a` for n_tokens x k (zeroing the padding columns) and forgets any tables.
void resize_batch(ActivationBatch& a, int64_t n_tokens, int64_t k);

// Quantises tokens [token_begin, token_end) of x (rows `x_stride` floats apart) into `a` with
// `set`'s quantiser and fills their sums and block sums. Token ranges may run concurrently.
void quantize_tokens(const KernelSet& set, const float* x, int64_t x_stride, ActivationBatch& a,
                     int64_t token_begin, int64_t token_end);

// After q of token t was written (first k columns): zeroes the padding and computes the
// token's sum and block sums.
void finish_token(ActivationBatch& a, int64_t t);

// Sizes the table buffer of `a` (call once before building tables for any token range).
void size_tables(ActivationBatch& a);

// Sizes token_quads of `a` (call once), then fills blocks [block_begin, block_end) of it.
void size_token_quads(ActivationBatch& a);
void build_token_quads(ActivationBatch& a, int64_t block_begin, int64_t block_end);

// Builds what `kernel` reads beyond q (tables or token quads) for the whole batch, once after
// each resize_batch. `parallel_for(n, body)` calls body(begin, end) over chunks of [0, n), on
// any threads (the tables are built per token, the quads per block of 4 tokens).
template <typename ParallelFor>
void prepare_input(const KernelSet& set, const NamedKernel& kernel, ActivationBatch& a,
                   const ParallelFor& parallel_for) {
    if (kernel.input == KernelInput::tl3_tables && !a.has_tables) {
        size_tables(a);
        parallel_for(a.n_tokens,
                     [&](int64_t begin, int64_t end) { set.build_tl3_tables(a, begin, end); });
        a.has_tables = true;
    } else if (kernel.input == KernelInput::token_quads && !a.has_token_quads) {
        size_token_quads(a);
        parallel_for(a.quad_blocks(),
                     [&](int64_t begin, int64_t end) { build_token_quads(a, begin, end); });
        a.has_token_quads = true;
    }
}

// prepare_input on the calling thread.
void prepare_input(const KernelSet& set, const NamedKernel& kernel, ActivationBatch& a);

}  // namespace tern::kernels
