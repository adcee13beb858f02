// tern's in-memory ternary weight layouts (ISA-independent) and packing into them.
//
// Weights are repacked once at load from whatever the file holds (I2_S, TQ2_0, TQ1_0) into one
// of these layouts; every kernel of a layout, on every ISA, reads the same bytes.
//
// ref: 2-bit codes t+1, row-major, element k in byte k/4 at bits 2*(k%4); rows padded to 128
//      elements with code 1. Read only by the scalar reference kernel.
//
// i2 (multiply-add kernels): rows padded to a multiple of 4 (padding rows are all-zero weights),
//      columns padded to a multiple of 128 with zero weights. A row's 128-column block is 32
//      bytes holding the codes t+1 of columns b*128 + j + 32*q in byte j at bit shift 6 - 2q
//      (q = 0..3), so one 32-byte load, three shifts and four masks give four vectors of 32
//      consecutive codes (the I2_S block encoding). Rows are stored in tiles of four, their
//      blocks interleaved: tile t = rows 4t..4t+3 occupies blocks * 128 bytes from
//      t * blocks * 128, with row 4t+r's block b at + b * 128 + r * 32. A GEMV thus reads a
//      tile's four rows as one sequential stream and loads each slice of activations once for
//      all four (the AVX-512 GEMV ran 1.4-1.7x faster from cache than with row pairs, where it
//      had run out of loads, and as fast from DRAM; two pairs read as two streams lost 8 % end
//      to end). An I2_S tensor with 128-multiple columns and a 4-multiple row count is moved in
//      block by block.
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

// Bytes from an i2 row's block b to its block b + 1 (the tile's four blocks b lie in between).
constexpr int64_t kI2BlockStride = kI2RowTile * kI2BlockBytes;

// Bytes of one i2 row tile (and from one tile to the next).
inline int64_t i2_tile_bytes(const PackedTernary& m) {
    return m.col_units * kI2BlockStride;
}

// Offset of i2 row `row`'s block `b` in the matrix's bytes: a kernel stepping through a tile's
// rows at one block finds row r of the tile r * kI2BlockBytes after row 0.
inline int64_t i2_block_offset(const PackedTernary& m, int64_t row, int64_t b) {
    return (row / kI2RowTile) * i2_tile_bytes(m) + b * kI2BlockStride +
           (row % kI2RowTile) * kI2BlockBytes;
}

// The 32 bytes of i2 row `row`, 128-column block `b`.
inline const uint8_t* i2_block(const PackedTernary& m, int64_t row, int64_t b) {
    return m.data.get() + i2_block_offset(m, row, b);
}

// Allocates a packed matrix (contents undefined until packed): its bytes are taken from `arena`
// if given, otherwise a buffer of its own.
PackedTernary allocate_packed(TernaryLayout layout, int64_t rows, int64_t cols,
                              WeightArena* arena = nullptr);

// True if the I2_S data of a row-major rows x cols tensor can be moved into the i2 layout block
// by block (columns a multiple of 128, so no block runs across rows, and rows a multiple of 4, so
// no padding rows): allocate_packed(i2, rows, cols) then holds exactly rows * cols / 4 bytes.
bool i2s_is_i2_layout(int64_t rows, int64_t cols);

// Copies the I2_S codes of row tiles [tile_begin, tile_end) of such a tensor (`i2s`: the
// tensor's data, rows of m.col_units 32-byte blocks) into `m`, interleaving each tile's blocks;
// false if any code is the invalid 3. Different tile ranges may be copied concurrently.
bool copy_i2s_tiles(PackedTernary& m, int64_t tile_begin, int64_t tile_end, const uint8_t* i2s);

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
