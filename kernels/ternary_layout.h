// tern's in-memory ternary weight layouts (ISA-independent) and packing into them.
//
// Weights are repacked once at load from whatever the file holds (I2_S, TQ2_0, TQ1_0) into one
// of these layouts; every kernel of a layout, on every ISA, reads the same bytes.
//
// ref: 2-bit codes t+1, row-major, element k in byte k/4 at bits 2*(k%4); rows padded to 128
//      elements with code 1. Read only by the scalar reference kernel.
//
// i2 (multiply-add kernels): rows padded to a multiple of 4 (padding rows are all-zero weights),
//      columns padded to a multiple of 128 with zero weights. Row r's 128-column blocks are
//      contiguous: the 32 bytes at (r * blocks + b) * 32 hold the codes t+1 of columns
//      b*128 + j + 32*q in byte j at bit shift 6 - 2q (q = 0..3), so one 32-byte load, three
//      shifts and four masks give four vectors of 32 consecutive codes. This is exactly the I2_S
//      file layout of a row-major tensor, so an I2_S tensor with 128-multiple rows and a
//      4-multiple row count is copied as is. Kernels take rows four at a time (a "tile").
// tl3 (lookup-table kernels): columns padded to a multiple of 24 with zero weights and cut into
//      groups of 3; a group's weights (w0, w1, w2) become v = 9 w0 + 3 w1 + w2 in [-13, 13],
//      stored as index |v| (4 bits) and sign (v < 0). Rows in tiles of 32. For tile t and octet o
//      (8 groups = 24 columns), 160 bytes at (t * octets + o) * 160: four 32-byte index vectors
//      (vector p, byte r: group 2p of row r in the low nibble, group 2p+1 in the high nibble),
//      then 32 sign bytes (byte r, bit g: sign of group g of row r). 1.67 bits per weight.
//      neg_count[row] = number of negative groups in the row (kernels look up T[|v|] and, for
//      negative groups, its one's complement ~T = -T - 1; adding neg_count restores the sum).
#pragma once

#include "kernels/weight_memory.h"

#include <cstdint>
#include <vector>

namespace tern::kernels {

enum class TernaryLayout { ref, i2, tl3 };

const char* ternary_layout_name(TernaryLayout layout);

constexpr int64_t kI2RowTile = 4;
constexpr int64_t kI2ColBlock = 128;
constexpr int64_t kI2BlockBytes = 32;
constexpr int64_t kTl3RowTile = 32;
constexpr int64_t kTl3GroupCols = 3;
constexpr int64_t kTl3OctetCols = 24;
constexpr int64_t kTl3OctetBytes = 160;

// A rows x cols ternary matrix packed in one layout.
struct PackedTernary {
    TernaryLayout layout = TernaryLayout::ref;
    int64_t rows = 0;
    int64_t cols = 0;
    int64_t row_tiles = 0;  // i2 / tl3: padded rows / tile height
    int64_t col_units = 0;  // ref and i2: 128-column blocks; tl3: octets of 24 columns
    AlignedBuffer data;
    std::vector<int32_t> neg_count;  // tl3 only: [row_tiles * 32]

    uint64_t bytes() const { return data.size + neg_count.size() * sizeof(int32_t); }
};

// The 32 bytes of i2 row `row`, 128-column block `b`.
inline const uint8_t* i2_block(const PackedTernary& m, int64_t row, int64_t b) {
    return m.data.get() + (row * m.col_units + b) * kI2BlockBytes;
}

// Allocates a packed matrix (contents undefined until packed): its bytes are taken from `arena`
// if given, otherwise a buffer of its own.
PackedTernary allocate_packed(TernaryLayout layout, int64_t rows, int64_t cols,
                              WeightArena* arena = nullptr);

// True if the I2_S data of a row-major rows x cols tensor is the i2 layout byte for byte (columns
// a multiple of 128, so no block runs across rows, and rows a multiple of 4, so no padding rows);
// allocate_packed(i2, rows, cols) then holds exactly rows * cols / 4 bytes to copy it into.
bool i2s_is_i2_layout(int64_t rows, int64_t cols);

// Packs rows [tile_begin * tile, tile_end * tile) of `m` (tile = the layout's row tile; 1 for
// ref). `trits` holds those rows' weights, row-major with `cols` per row; rows past m.rows are
// packed as zero weights and need not be present in `trits`. Different tile ranges may be
// packed concurrently.
void pack_row_tiles(PackedTernary& m, int64_t tile_begin, int64_t tile_end, const int8_t* trits);

// Rows per packing tile of a layout (1, 4 or 32).
int64_t layout_row_tile(TernaryLayout layout);

// Reads row `row` back out of any layout as trits (for tests and debugging).
void unpack_row(const PackedTernary& m, int64_t row, int8_t* trits);

}  // namespace tern::kernels
