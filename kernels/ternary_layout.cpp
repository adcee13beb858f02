// Packing trits into the ref, i2 and tl3 layouts, and reading them back.
#include "kernels/ternary_layout.h"

#include "kernels/ternary_ref.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace tern::kernels {

const char* ternary_layout_name(TernaryLayout layout) {
    switch (layout) {
        case TernaryLayout::ref:
            return "ref";
        case TernaryLayout::i2:
            return "i2";
        case TernaryLayout::tl3:
            return "tl3";
    }
    return "?";
}

int64_t layout_row_tile(TernaryLayout layout) {
    switch (layout) {
        case TernaryLayout::ref:
            return 1;
        case TernaryLayout::i2:
            return kI2RowTile;
        case TernaryLayout::tl3:
            return kTl3RowTile;
    }
    return 1;
}

namespace {

int64_t round_up(int64_t value, int64_t multiple) {
    return (value + multiple - 1) / multiple * multiple;
}

// Weight c of row r, or 0 past the row's end or past the matrix's rows.
int8_t trit_at(const PackedTernary& m, const int8_t* trits, int64_t first_row, int64_t r,
               int64_t c) {
    if (r >= m.rows || c >= m.cols) return 0;
    return trits[(r - first_row) * m.cols + c];
}

void pack_i2_tile(PackedTernary& m, int64_t tile, const int8_t* trits) {
    const int64_t first_row = tile * kI2RowTile;
    for (int64_t row = first_row; row < first_row + kI2RowTile; ++row) {
        for (int64_t b = 0; b < m.col_units; ++b) {
            uint8_t* out = m.data.get() + i2_block_offset(m, row, b);
            for (int64_t j = 0; j < 32; ++j) {
                uint8_t byte = 0;
                for (int q = 0; q < 4; ++q) {
                    const int8_t t =
                        trit_at(m, trits, first_row, row, b * kI2ColBlock + j + 32 * q);
                    byte |= static_cast<uint8_t>((t + 1) << (6 - 2 * q));
                }
                out[j] = byte;
            }
        }
    }
}

// (t0 + 1) * 9 + (t1 + 1) * 3 + (t2 + 1) -> index |9 t0 + 3 t1 + t2| in the low nibble, sign in
// bit 4.
struct GroupCodes {
    uint8_t code[27];
    constexpr GroupCodes() : code() {
        for (int i = 0; i < 27; ++i) {
            const int v = 9 * (i / 9 - 1) + 3 * (i / 3 % 3 - 1) + (i % 3 - 1);
            code[i] = static_cast<uint8_t>((v < 0 ? -v : v) | (v < 0 ? 16 : 0));
        }
    }
};
constexpr GroupCodes kGroupCodes;

void pack_tl3_tile(PackedTernary& m, int64_t tile, const int8_t* trits) {
    const int64_t first_row = tile * kTl3RowTile;
    const int64_t full_octets = m.cols / kTl3OctetCols;  // octets with no padding columns
    const int64_t live_rows = std::min<int64_t>(kTl3RowTile, m.rows - first_row);
    int32_t* negatives = m.neg_count.data() + first_row;
    std::fill(negatives, negatives + kTl3RowTile, 0);
    int8_t tail[kTl3OctetCols];
    // Octet by octet so that each 160-byte octet is written contiguously.
    for (int64_t o = 0; o < m.col_units; ++o) {
        uint8_t* out = m.data.get() + (tile * m.col_units + o) * kTl3OctetBytes;
        for (int64_t r = 0; r < kTl3RowTile; ++r) {
            const int8_t* g3;
            if (r < live_rows && o < full_octets) {
                g3 = trits + r * m.cols + o * kTl3OctetCols;
            } else {  // padding rows or columns are zero weights
                std::fill(tail, tail + kTl3OctetCols, int8_t{0});
                for (int64_t c = o * kTl3OctetCols; r < live_rows && c < m.cols; ++c) {
                    tail[c - o * kTl3OctetCols] = trits[r * m.cols + c];
                }
                g3 = tail;
            }
            uint8_t signs = 0;
            for (int p = 0; p < 4; ++p) {
                const int8_t* a = g3 + 6 * p;
                const uint8_t lo = kGroupCodes.code[a[0] * 9 + a[1] * 3 + a[2] + 13];
                const uint8_t hi = kGroupCodes.code[a[3] * 9 + a[4] * 3 + a[5] + 13];
                out[p * 32 + r] = static_cast<uint8_t>((lo & 15) | ((hi & 15) << 4));
                signs |= static_cast<uint8_t>(((lo >> 4) << (2 * p)) | ((hi >> 4) << (2 * p + 1)));
            }
            out[128 + r] = signs;
            for (uint8_t bits = signs; bits != 0; bits &= static_cast<uint8_t>(bits - 1))
                ++negatives[r];
        }
    }
}

}  // namespace

PackedTernary allocate_packed(TernaryLayout layout, int64_t rows, int64_t cols,
                              WeightArena* arena) {
    const auto bytes = [arena](int64_t size) {
        return arena ? arena->take(static_cast<size_t>(size))
                     : AlignedBuffer::allocate(static_cast<size_t>(size));
    };
    PackedTernary m;
    m.layout = layout;
    m.rows = rows;
    m.cols = cols;
    switch (layout) {
        case TernaryLayout::ref:
            m.row_tiles = rows;
            m.col_units = round_up(cols, kI2ColBlock) / kI2ColBlock;
            m.data = bytes(rows * ternary_ref_row_bytes(cols));
            break;
        case TernaryLayout::i2:
            m.row_tiles = round_up(rows, kI2RowTile) / kI2RowTile;
            m.col_units = round_up(cols, kI2ColBlock) / kI2ColBlock;
            m.data = bytes(m.row_tiles * m.col_units * kI2RowTile * kI2BlockBytes);
            break;
        case TernaryLayout::tl3:
            m.row_tiles = round_up(rows, kTl3RowTile) / kTl3RowTile;
            m.col_units = round_up(cols, kTl3OctetCols) / kTl3OctetCols;
            m.data = bytes(m.row_tiles * m.col_units * kTl3OctetBytes);
            m.neg_count.assign(static_cast<size_t>(m.row_tiles * kTl3RowTile), 0);
            break;
    }
    return m;
}

bool i2s_is_i2_layout(int64_t rows, int64_t cols) {
    return cols % kI2ColBlock == 0 && rows % kI2RowTile == 0;
}

bool copy_i2s_tiles(PackedTernary& m, int64_t tile_begin, int64_t tile_end, const uint8_t* i2s) {
    // A code is 3 when both of its bits are set: OR over x & (x >> 1) at the low bit of each pair
    // of bits, 8 bytes at a time as they are copied (the blocks are 32 bytes).
    uint64_t both = 0;
    const int64_t row_bytes = m.col_units * kI2BlockBytes;
    for (int64_t tile = tile_begin; tile < tile_end; ++tile) {
        for (int64_t b = 0; b < m.col_units; ++b) {
            for (int64_t row = tile * kI2RowTile; row < (tile + 1) * kI2RowTile; ++row) {
                const uint8_t* from = i2s + row * row_bytes + b * kI2BlockBytes;
                uint8_t* to = m.data.get() + i2_block_offset(m, row, b);
                for (int64_t i = 0; i < kI2BlockBytes; i += 8) {
                    uint64_t x;
                    std::memcpy(&x, from + i, 8);
                    std::memcpy(to + i, &x, 8);
                    both |= x & (x >> 1);
                }
            }
        }
    }
    return (both & 0x5555555555555555ull) == 0;
}

void pack_row_tiles(PackedTernary& m, int64_t tile_begin, int64_t tile_end, const int8_t* trits) {
    for (int64_t tile = tile_begin; tile < tile_end; ++tile) {
        const int8_t* tile_trits = trits + (tile - tile_begin) * layout_row_tile(m.layout) * m.cols;
        switch (m.layout) {
            case TernaryLayout::ref:
                if (tile < m.rows) {
                    ternary_ref_pack_row(tile_trits, m.cols,
                                         m.data.get() + tile * ternary_ref_row_bytes(m.cols));
                }
                break;
            case TernaryLayout::i2:
                pack_i2_tile(m, tile, tile_trits);
                break;
            case TernaryLayout::tl3:
                pack_tl3_tile(m, tile, tile_trits);
                break;
        }
    }
}

void unpack_row(const PackedTernary& m, int64_t row, int8_t* trits) {
    switch (m.layout) {
        case TernaryLayout::ref: {
            const uint8_t* bytes = m.data.get() + row * ternary_ref_row_bytes(m.cols);
            for (int64_t c = 0; c < m.cols; ++c)
                trits[c] = static_cast<int8_t>(((bytes[c / 4] >> (2 * (c % 4))) & 3) - 1);
            return;
        }
        case TernaryLayout::i2: {
            for (int64_t c = 0; c < m.cols; ++c) {
                const int64_t b = c / kI2ColBlock, within = c % kI2ColBlock;
                const uint8_t byte = i2_block(m, row, b)[within % 32];
                trits[c] = static_cast<int8_t>(((byte >> (6 - 2 * (within / 32))) & 3) - 1);
            }
            return;
        }
        case TernaryLayout::tl3: {
            const int64_t tile = row / kTl3RowTile, r = row % kTl3RowTile;
            for (int64_t c = 0; c < m.cols; c += 3) {
                const int64_t o = c / kTl3OctetCols;
                const int g = static_cast<int>((c % kTl3OctetCols) / 3);
                const uint8_t* octet = m.data.get() + (tile * m.col_units + o) * kTl3OctetBytes;
                int v = (octet[(g / 2) * 32 + r] >> (4 * (g % 2))) & 0xF;
                if ((octet[128 + r] >> g) & 1) v = -v;
                // Balanced-ternary digits of v, most significant first.
                int digits[3];
                for (int j = 2; j >= 0; --j) {
                    int d = ((v % 3) + 3) % 3;
                    if (d == 2) d = -1;
                    digits[j] = d;
                    v = (v - d) / 3;
                }
                for (int j = 0; j < 3 && c + j < m.cols; ++j)
                    trits[c + j] = static_cast<int8_t>(digits[j]);
            }
            return;
        }
    }
}

}  // namespace tern::kernels
