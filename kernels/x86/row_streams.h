// The float GEMVs' row order: a call's rows read as several far-apart streams at once (x86).
#pragma once

#include <cstdint>

namespace tern::kernels {

// How many far-apart weight streams the float GEMVs read at once: the rows are cut into this
// many equal contiguous parts, and each step works on the next row of every part (the rest one
// by one at the end). One core's hardware prefetchers keep more lines in flight for several
// streams than for one: 2B-4T's F16 output layer (0.66 GB, 1 thread, Zen 3, interleaved in one
// process) read 21.6-23.9 GB/s as 4 streams, 19.0-22.6 as 2, against 14.7-18.1 row after row,
// and faster than a plain single-stream read loop. Adjacent rows dotted together (one stream
// with shared activation loads) were 10-20 % slower than row after row.
constexpr int kFloatStreams = 4;

// Rows [0, m_rows) as kFloatStreams streams: row_group(first, stride) handles rows first,
// first + stride, ... (kFloatStreams of them), row_one(row) a single row. Every row is handled
// exactly once, so a GEMV computing each row the same way either way gives the same results.
template <typename RowGroup, typename RowOne>
inline void far_streams(int64_t m_rows, const RowGroup& row_group, const RowOne& row_one) {
    const int64_t part = m_rows / kFloatStreams;
    for (int64_t r = 0; r < part; ++r) row_group(r, part);
    for (int64_t r = part * kFloatStreams; r < m_rows; ++r) row_one(r);
}

}  // namespace tern::kernels
