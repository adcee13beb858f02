// Machine facts and the memory read-bandwidth probe.
#include "graph/kernel_choice.h"
#include "kernels/float_kernels.h"
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

// How far ahead the kicked read loop prefetches the first line of each 4 KiB page.
constexpr size_t kKickAheadBytes = 16384, kKickPageBytes = 4096;

// Sums 64-bit words in 16 independent chains (128 bytes, two cache lines, per step), so the
// loads, not the adds, set the pace. On x86-64 an AVX2 clone is chosen at load time when the CPU
// has it: wider loads read faster, and a roof set by narrow loads would flatter the kernels
// measured against it. With `kick`, the first line of each 4 KiB page is prefetched 16 KiB
// ahead, which starts the hardware prefetchers on the page early.
// Which loop reads faster differs between machines, so the probe runs both and keeps the faster:
// a session's VM read 13-25 % faster with the kick (2026-11-30, morning); on the Zen 3 VM of the
// evening this loop read 18.2 / 34.0 GB/s without it and 14.1 / 27.0 with it (1 / 2 threads,
// medians of 11 interleaved reads of 512 MiB), and the kicked 8-chain loop used until then read
// 16.2 / 27.6 where a plain one read 22.4 / 31.6 (another run, 0.66 GB).
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx2", "default")))
#endif
uint64_t
read_sum(const uint64_t* p, size_t n, bool kick) {
    constexpr size_t kChains = 16, kPageWords = kKickPageBytes / 8,
                     kAheadWords = kKickAheadBytes / 8;
    uint64_t s[kChains] = {};
    size_t i = 0;
    for (; i + kChains <= n; i += kChains) {
        if (kick && i % kPageWords == 0 && i + kAheadWords < n)
            __builtin_prefetch(p + i + kAheadWords, 0, 2);
        for (size_t j = 0; j < kChains; ++j) s[j] += p[i + j];
    }
    for (; i < n; ++i) s[0] += p[i];
    uint64_t total = 0;
    for (uint64_t v : s) total += v;
    return total;
}

// The third read: the buffer as rows of kProbeRowCols F16 values, through the kernel set's F16
// GEMV (the output layer's kernel). With its four far-apart row streams it read the 2B-4T output
// layer faster than either loop above (Zen 3 VM, 1 thread: 22.1 GB/s inside the model against a
// 19.3 GB/s probe), so a roof without it understated what the machine can read.
constexpr int64_t kProbeRowCols = 2560, kProbeRowBytes = kProbeRowCols * 2;

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
    const auto* bytes = reinterpret_cast<const uint8_t*>(buffer);
    const kernels::FloatKernels& fk = *active_kernels().floats;
    const int64_t rows = static_cast<int64_t>(state_->words * 8) / kProbeRowBytes;
    const std::vector<float> x(kProbeRowCols, 1.0f);
    std::vector<float> out(static_cast<size_t>(rows));
    std::vector<double> rates;
    std::atomic<uint64_t> sink{0};
    const auto timed = [&](size_t read_bytes, const auto& read) {
        const auto start = std::chrono::steady_clock::now();
        read();
        const double s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        rates.push_back(static_cast<double>(read_bytes) / s / 1e9);
    };
    for (int rep = 0; rep < std::max(1, repetitions); ++rep) {
        for (const bool kick : {false, true}) {
            timed(state_->words * 8, [&] {
                state_->pool.parallel_for(
                    static_cast<int64_t>(state_->words), 4096, [&](int64_t b, int64_t e) {
                        sink += read_sum(buffer + b, static_cast<size_t>(e - b), kick);
                    });
            });
        }
        if (rows > 0) {
            timed(static_cast<size_t>(rows * kProbeRowBytes), [&] {
                state_->pool.parallel_for(rows, 64, [&](int64_t b, int64_t e) {
                    fk.gemv(kernels::FloatWeightFormat::f16, bytes + b * kProbeRowBytes,
                            kProbeRowBytes, e - b, kProbeRowCols, x.data(), out.data() + b);
                });
            });
        }
    }
    if (sink.load() == 42 || (rows > 0 && out[0] == 42.0f))
        rates.push_back(0);  // keeps the sums observable (never the maximum)
    return *std::max_element(rates.begin(), rates.end());
}

double measure_read_bandwidth(int threads, size_t bytes, int repetitions) {
    return ReadBandwidthProbe(threads, bytes).measure(repetitions);
}

}  // namespace tern
