// Machine facts and the memory read-bandwidth probe.
#include "graph/kernel_choice.h"
#include "kernels/weight_memory.h"
#include "util/cpuinfo.h"
#include "util/thread_pool.h"

#include <tern/system.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <vector>

namespace tern {

int physical_cores() {
    return physical_core_count();
}

std::string cpu_name() {
    std::ifstream cpuinfo("/proc/cpuinfo");
    return cpu_name_from_cpuinfo(cpuinfo);
}

std::string kernel_set_name() {
    return active_kernels().isa;
}

namespace {

// How far ahead the probe starts the hardware prefetchers on each 4 KiB page (the weight GEMVs
// also prefetch every line, kernels/x86/stream_prefetch.h: page starts alone lost there when
// neighbours kept memory busy; a plain read loop gains from them either way).
constexpr uintptr_t kKickAheadBytes = 16384;
constexpr uintptr_t kKickPageBytes = 4096;

// Sums 64-bit words, 8 independent chains so the loads, not the adds, set the pace. On x86-64 an
// AVX2 clone is chosen at load time when the CPU has it: with 16-byte loads the probe read 31 GB/s
// where 32-byte loads read 35 (1 thread, same run), and a roof set by narrow loads would flatter
// the kernels measured against it. For the same reason the first line of each 4 KiB page is
// prefetched 16 KiB before the sums reach it: the hardware prefetchers then start on the page
// early, and the loop read 13-30 % faster than without (1 and 2 threads, interleaved in one
// process, 2026-11-30).
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx2", "default")))
#endif
uint64_t
read_sum(const uint64_t* p, size_t n) {
    constexpr size_t kPageWords = kKickPageBytes / 8, kAheadWords = kKickAheadBytes / 8;
    uint64_t s[8] = {};
    for (size_t page = 0; page < n; page += kPageWords) {  // the buffer is page-aligned
        if (page + kAheadWords < n) __builtin_prefetch(p + page + kAheadWords, 0, 2);
        const size_t stop = std::min(n, page + kPageWords);
        for (size_t i = page; i + 8 <= stop; i += 8) {
            for (int j = 0; j < 8; ++j) s[j] += p[i + j];
        }
    }
    return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
}

}  // namespace

// The buffer lies on transparent huge pages like the weights it stands for (4 KiB pages read
// about 10 % slower here: a TLB miss per page, and prefetchers restart at page boundaries).
struct ReadBandwidthProbe::State {
    ThreadPool pool;
    size_t words;
    kernels::AlignedBuffer buffer;
    State(int threads, size_t bytes)
        : pool(std::max(1, threads)),
          words(std::max<size_t>(bytes / 8, 8)),
          buffer(kernels::AlignedBuffer::allocate(words * 8)) {}
    uint64_t* data() const { return reinterpret_cast<uint64_t*>(buffer.get()); }
};

ReadBandwidthProbe::ReadBandwidthProbe(int threads, size_t bytes)
    : state_(std::make_unique<State>(threads, bytes)) {
    uint64_t* buffer = state_->data();
    state_->pool.parallel_for(static_cast<int64_t>(state_->words), 4096, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) buffer[static_cast<size_t>(i)] = static_cast<uint64_t>(i);
    });
}

ReadBandwidthProbe::~ReadBandwidthProbe() = default;

double ReadBandwidthProbe::measure(int repetitions) {
    const uint64_t* buffer = state_->data();
    std::vector<double> rates;
    std::atomic<uint64_t> sink{0};
    for (int rep = 0; rep < std::max(1, repetitions); ++rep) {
        const auto start = std::chrono::steady_clock::now();
        state_->pool.parallel_for(static_cast<int64_t>(state_->words), 4096,
                                  [&](int64_t b, int64_t e) {
                                      sink += read_sum(buffer + b, static_cast<size_t>(e - b));
                                  });
        const double s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        rates.push_back(static_cast<double>(state_->words * 8) / s / 1e9);
    }
    if (sink.load() == 42) rates.push_back(0);  // keeps the sums observable (never the maximum)
    return *std::max_element(rates.begin(), rates.end());
}

double measure_read_bandwidth(int threads, size_t bytes, int repetitions) {
    return ReadBandwidthProbe(threads, bytes).measure(repetitions);
}

}  // namespace tern
