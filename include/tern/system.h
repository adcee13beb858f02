// Facts about the machine tern runs on: cores, CPU name, kernel set, memory read bandwidth.
#pragma once

#include <cstddef>
#include <string>

namespace tern {

int physical_cores();
std::string cpu_name();           // from /proc/cpuinfo ("AMD EPYC", ...), or "unknown"
std::string kernel_set_name();    // the kernel set this process uses ("avx2", "neon", "scalar", ...)

// Best read bandwidth in GB/s (1e9 bytes/s) over `repetitions` reads of a `bytes`-sized buffer
// with `threads` threads: the roof a memory-bound decode step can reach. The best, not the
// median: on a shared machine neighbours only ever lower a sample, and a roof taken from a
// depressed sample would report more than 100 % of it.
double measure_read_bandwidth(int threads, size_t bytes = size_t{512} << 20, int repetitions = 5);

}  // namespace tern
