// Packing trits into the ref, i2 and tl3 layouts, and reading them back.
#include "kernels/ternary_layout.h"

#include "kernels/ternary_ref.h"

#include <cstring>
#include <new>

namespace tern::kernels {

const char* ternary_layout_name(TernaryLayout layout) {
    switch (layout) {
        case TernaryLayout::ref: return "ref";
        case TernaryLayout::i2: return "i2";
        case TernaryLayout::tl3: return "tl3";
    }
    return "?";
}

AlignedBuffer AlignedBuffer::allocate(size_t size) {
    AlignedBuffer buffer;
    const size_t rounded = (size + 63) / 64 * 64;
    void* memory = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
    if (memory == nullptr) throw std::bad_alloc();
    buffer.data.reset(static_cast<uint8_t*>(memory));
    buffer.size = size;
    return buffer;
}

int64_t layout_row_tile(TernaryLayout layout) {
    switch (layout) {
        case TernaryLayout::ref: return 1;
        case TernaryLayout::i2: return kI2RowTile;
        case TernaryLayout::tl3: return kTl3RowTile;
    }
    return 1;
}

namespace {

int64_t round_up(int64_t value, int64_t multiple) { return (value + multiple - 1) / multiple * multiple; }

// Balanced-ternary group value v = 9 w0 + 3 w1 + w2 of three trits.
int group_value(const int8_t* w) { return 9 * w[0] + 3 * w[1] + w[2]; }

// Weight c of row r, or 0 past the row's end or past the matrix's rows.
int8_t trit_at(const PackedTernary& m, const int8_t* trits, int64_t first_row, int64_t r, int64_t c) {
    if (r >= m.rows || c >= m.cols) return 0;
    return trits[(r - first_row) * m.cols + c];
}

void pack_i2_tile(PackedTernary& m, int64_t tile, const int8_t* trits) {
    const int64_t first_row = tile * kI2RowTile;
    for (int64_t b = 0; b < m.col_units; ++b) {
        for (int64_t r = 0; r < kI2RowTile; ++r) {
            uint8_t* out = m.data.get() + ((tile * m.col_units + b) * kI2RowTile + r) * kI2BlockBytes;
            for (int64_t j = 0; j < 32; ++j) {
                uint8_t byte = 0;
                for (int q = 0; q < 4; ++q) {
                    const int8_t t = trit_at(m, trits, first_row, first_row + r, b * kI2ColBlock + j + 32 * q);
                    byte |= static_cast<uint8_t>((t + 1) << (6 - 2 * q));
                }
                out[j] = byte;
            }
        }
    }
}

void pack_tl3_tile(PackedTernary& m, int64_t tile, const int8_t* trits) {
    const int64_t first_row = tile * kTl3RowTile;
    for (int64_t r = 0; r < kTl3RowTile; ++r) m.neg_count[static_cast<size_t>(first_row + r)] = 0;
    for (int64_t o = 0; o < m.col_units; ++o) {
        uint8_t* out = m.data.get() + (tile * m.col_units + o) * kTl3OctetBytes;
        std::memset(out, 0, kTl3OctetBytes);
        for (int64_t r = 0; r < kTl3RowTile; ++r) {
            for (int g = 0; g < 8; ++g) {
                int8_t w[3];
                for (int j = 0; j < 3; ++j) w[j] = trit_at(m, trits, first_row, first_row + r, o * kTl3OctetCols + 3 * g + j);
                const int v = group_value(w);
                const int index = v < 0 ? -v : v;
                out[(g / 2) * 32 + r] |= static_cast<uint8_t>(index << (4 * (g % 2)));
                if (v < 0) {
                    out[128 + r] |= static_cast<uint8_t>(1 << g);
                    ++m.neg_count[static_cast<size_t>(first_row + r)];
                }
            }
        }
    }
}

}  // namespace

PackedTernary allocate_packed(TernaryLayout layout, int64_t rows, int64_t cols) {
    PackedTernary m;
    m.layout = layout;
    m.rows = rows;
    m.cols = cols;
    switch (layout) {
        case TernaryLayout::ref:
            m.row_tiles = rows;
            m.col_units = round_up(cols, kI2ColBlock) / kI2ColBlock;
            m.data = AlignedBuffer::allocate(static_cast<size_t>(rows * ternary_ref_row_bytes(cols)));
            break;
        case TernaryLayout::i2:
            m.row_tiles = round_up(rows, kI2RowTile) / kI2RowTile;
            m.col_units = round_up(cols, kI2ColBlock) / kI2ColBlock;
            m.data = AlignedBuffer::allocate(
                static_cast<size_t>(m.row_tiles * m.col_units * kI2RowTile * kI2BlockBytes));
            break;
        case TernaryLayout::tl3:
            m.row_tiles = round_up(rows, kTl3RowTile) / kTl3RowTile;
            m.col_units = round_up(cols, kTl3OctetCols) / kTl3OctetCols;
            m.data = AlignedBuffer::allocate(static_cast<size_t>(m.row_tiles * m.col_units * kTl3OctetBytes));
            m.neg_count.assign(static_cast<size_t>(m.row_tiles * kTl3RowTile), 0);
            break;
    }
    return m;
}

void pack_row_tiles(PackedTernary& m, int64_t tile_begin, int64_t tile_end, const int8_t* trits) {
    for (int64_t tile = tile_begin; tile < tile_end; ++tile) {
        const int8_t* tile_trits = trits + (tile - tile_begin) * layout_row_tile(m.layout) * m.cols;
        switch (m.layout) {
            case TernaryLayout::ref:
                if (tile < m.rows) {
                    ternary_ref_pack_row(tile_trits, m.cols, m.data.get() + tile * ternary_ref_row_bytes(m.cols));
                }
                break;
            case TernaryLayout::i2: pack_i2_tile(m, tile, tile_trits); break;
            case TernaryLayout::tl3: pack_tl3_tile(m, tile, tile_trits); break;
        }
    }
}

void unpack_row(const PackedTernary& m, int64_t row, int8_t* trits) {
    switch (m.layout) {
        case TernaryLayout::ref: {
            const uint8_t* bytes = m.data.get() + row * ternary_ref_row_bytes(m.cols);
            for (int64_t c = 0; c < m.cols; ++c) trits[c] = static_cast<int8_t>(((bytes[c / 4] >> (2 * (c % 4))) & 3) - 1);
            return;
        }
        case TernaryLayout::i2: {
            const int64_t tile = row / kI2RowTile, r = row % kI2RowTile;
            for (int64_t c = 0; c < m.cols; ++c) {
                const int64_t b = c / kI2ColBlock, within = c % kI2ColBlock;
                const uint8_t byte =
                    m.data.get()[((tile * m.col_units + b) * kI2RowTile + r) * kI2BlockBytes + within % 32];
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
                for (int j = 0; j < 3 && c + j < m.cols; ++j) trits[c + j] = static_cast<int8_t>(digits[j]);
            }
            return;
        }
    }
}

}  // namespace tern::kernels
