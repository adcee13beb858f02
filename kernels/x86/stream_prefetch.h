// Software prefetch for weight streams read once per token (the GEMVs), x86.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace tern::kernels {

// Prefetches the line `ahead_bytes` past `at` with `locality` (__builtin_prefetch's: 3 is
// `prefetcht0`, 2 `prefetcht1`), unless that is at or past `end`: a thread's share of a small
// matrix is a few hundred KiB, and lines beyond it are another thread's or nobody's (prefetching
// past it cost 0.7B generation ~7 % with 2 threads).
template <int64_t ahead_bytes, int locality>
[[gnu::always_inline]] inline void prefetch_ahead(const void* at, const void* end) {
    const char* ahead = static_cast<const char*>(at) + ahead_bytes;
    if (ahead < static_cast<const char*>(end)) __builtin_prefetch(ahead, 0, locality);
}

// How far ahead the AVX-VNNI i2 GEMV prefetches its weight stream, into L2 (`prefetcht1`).
// Against the earlier non-temporal prefetch 4-8 KiB ahead, which holds an L1 miss buffer until
// its line arrives, it streamed 2-10 % faster with 1 thread and 7-14 % with 2 (interleaved sweeps
// of hint and distance in one process, 2B-4T shapes, on the AVX-VNNI machine of an earlier
// session).
constexpr int64_t kStreamPrefetchBytes = 16384;

[[gnu::always_inline]] inline void prefetch_stream(const void* at, const void* end) {
    prefetch_ahead<kStreamPrefetchBytes, 2>(at, end);  // prefetcht1
}

// How far ahead the AVX2 F16, BF16 and Q8_0 GEMVs prefetch their rows, into L1 (`prefetcht0`),
// one line per line read. Zen 3, 2B-4T output layer (0.66 GB, 1 / 2 threads, medians of 11
// interleaved runs in one process, 2026-11-30): 1 KiB read 18.9 / 29.0 GB/s, no prefetch
// 17.7 / 28.8, `prefetcht1` 16 KiB ahead (used until then) 14.3 / 24.6; 768 B matched 1 KiB and
// 1.5-2 KiB lost 5-20 %. A plain read loop read 22.2 / 31.3.
constexpr int64_t kNearPrefetchBytes = 1024;

[[gnu::always_inline]] inline void prefetch_near(const void* at, const void* end) {
    prefetch_ahead<kNearPrefetchBytes, 3>(at, end);  // prefetcht0
}

// prefetch_near for each line of the `bytes` at `at` (a k-quant block).
[[gnu::always_inline]] inline void prefetch_near_lines(const void* at, int64_t bytes,
                                                       const void* end) {
    for (int64_t line = 0; line < bytes; line += 64)
        prefetch_near(static_cast<const char*>(at) + line, end);
}

// prefetch_stream with an earlier start for each 4 KiB page: every line kLineAheadBytes ahead,
// and the first line of each page kPageAheadBytes ahead, which starts the hardware prefetchers
// (they work per page) on it early.
// Every helper here is always inlined: GCC otherwise may put a prefetch in a function of its own
// (split off, or not inlined at -O2), find that the function has no side effects and delete the
// call, prefetches and all. tests/kernels/check_prefetch.sh counts them in the objects.
constexpr int64_t kLineAheadBytes = 8192, kPageAheadBytes = 32768;

[[gnu::always_inline]] inline void prefetch_stream_paged(const void* at, const void* end) {
    prefetch_ahead<kLineAheadBytes, 2>(at, end);
    if ((reinterpret_cast<uintptr_t>(at) & 4095) < 64) prefetch_ahead<kPageAheadBytes, 2>(at, end);
}

// The start of a stream read with prefetch_stream_paged: its first kLineAheadBytes line by line
// and the first line of each page up to kPageAheadBytes, asked for at once, so a GEMV does not
// wait for its first lines one miss at a time while the stream's prefetches ramp up.
[[gnu::always_inline]] inline void prefetch_stream_start(const void* begin, const void* end) {
    const char* p = static_cast<const char*>(begin);
    const char* e = static_cast<const char*>(end);
    for (int64_t at = 0; at < kLineAheadBytes && p + at < e; at += 64)
        _mm_prefetch(p + at, _MM_HINT_T1);
    for (int64_t at = kLineAheadBytes; at < kPageAheadBytes && p + at < e; at += 4096)
        _mm_prefetch(p + at, _MM_HINT_T1);
}

}  // namespace tern::kernels
