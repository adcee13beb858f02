// Software prefetch for weight streams read once per token (the GEMVs), x86.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace tern::kernels {

// How far ahead a GEMV starts the hardware prefetcher on its weight stream, into L2
// (`prefetcht1`).
constexpr int64_t kStreamPrefetchBytes = 16384;

// The hardware stream prefetchers track 4 KiB pages (physical addresses), so a stream read
// from DRAM stalls for a moment at every page it enters until they have learnt it again.
// Touching the first lines of each page well ahead of the reads lets them start on the page
// early; the rest of the page is theirs to fetch.
constexpr uintptr_t kPrefetcherPageBytes = 4096;
// A caller steps through its stream at most this many bytes per call, so every page's first
// window is seen by at least one call.
constexpr uintptr_t kStreamStepBytes = 128;

// Called once per step of at most kStreamStepBytes along a weight stream: when the address
// kStreamPrefetchBytes ahead of `at` lies in the first kStreamStepBytes of a 4 KiB page,
// prefetches it, unless that is at or past `end` (a thread's share of a small matrix is a few
// hundred KiB, and lines beyond it are another thread's or nobody's). Against a prefetch of
// every line (which also holds the loop up at every line), alternated 2B-4T tg128 runs with
// per-phase timers: the F16 output layer took 2-15 % less time in 7 of 7 pairs with 1 thread
// (19.9-22.5 against 23.2-23.9 ms) and 12-13 % less with 2, the i2 matmuls the same or a little
// less, 2-thread generation +6-8 % (3 of 3 pairs).
inline void prefetch_stream(const void* at, const void* end) {
    const char* ahead = static_cast<const char*>(at) + kStreamPrefetchBytes;
    if ((reinterpret_cast<uintptr_t>(ahead) & (kPrefetcherPageBytes - 1)) < kStreamStepBytes &&
        ahead < static_cast<const char*>(end)) {
        _mm_prefetch(ahead, _MM_HINT_T1);
    }
}

}  // namespace tern::kernels
