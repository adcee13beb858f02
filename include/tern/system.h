// Facts about the machine tern runs on: cores, CPU name, kernel set, memory read bandwidth.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace tern {

int physical_cores();
std::string cpu_name();         // from /proc/cpuinfo ("AMD EPYC (family 25, model 1)", ...)
std::string kernel_set_name();  // the kernel set this process uses ("avx2", "neon", "scalar", ...)

// Best read bandwidth in GB/s (1e9 bytes/s) over `repetitions` reads of a `bytes`-sized buffer
// with `threads` threads: the roof a memory-bound decode step can reach. The best, not the
// median: on a shared machine neighbours only ever lower a sample, and a roof taken from a
// depressed sample would report more than 100 % of it.
double measure_read_bandwidth(int threads, size_t bytes = size_t{512} << 20, int repetitions = 5);

// The same measurement, repeatable: the buffer and threads are kept between measurements, so a
// probe next to every benchmark run costs only its reads.
class ReadBandwidthProbe {
public:
    explicit ReadBandwidthProbe(int threads, size_t bytes = size_t{512} << 20);
    ~ReadBandwidthProbe();
    ReadBandwidthProbe(const ReadBandwidthProbe&) = delete;
    ReadBandwidthProbe& operator=(const ReadBandwidthProbe&) = delete;
    // Best GB/s over `repetitions` reads of the buffer with each of three read loops (two plain
    // loops and the kernel set's F16 GEMV).
    double measure(int repetitions = 5);

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace tern
