// Fork-join thread pool: workers spin briefly for the next job, then sleep on a condition variable.
#include "util/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

#if defined(__x86_64__)
#include <immintrin.h>
#define TERN_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define TERN_CPU_RELAX() asm volatile("yield")
#else
#define TERN_CPU_RELAX() ((void)0)
#endif

namespace tern {

namespace {

// How far parallel_for_balanced moves the shares towards the last run's speeds.
constexpr double kBalanceStep = 0.2;

// A balanced range's word: [front, back) in grains.
uint64_t pack_range(int64_t front, int64_t back) {
    return static_cast<uint64_t>(front) | (static_cast<uint64_t>(back) << 32);
}
int64_t range_front(uint64_t word) {
    return static_cast<int64_t>(word & 0xffffffffu);
}
int64_t range_back(uint64_t word) {
    return static_cast<int64_t>(word >> 32);
}

// Takes a piece of `range` (false if it is empty): from the front, a quarter of what is left
// (at least one grain), for its owner; from the back, half, for a thread that has run out.
bool take_piece(std::atomic<uint64_t>& range, bool from_back, int64_t& begin, int64_t& end) {
    uint64_t word = range.load(std::memory_order_acquire);
    for (;;) {
        const int64_t front = range_front(word), back = range_back(word);
        if (front >= back) return false;
        const int64_t left = back - front;
        const uint64_t rest = from_back ? pack_range(front, back - (left + 1) / 2)
                                        : pack_range(front + std::max<int64_t>(1, left / 4), back);
        if (range.compare_exchange_weak(word, rest, std::memory_order_acq_rel,
                                        std::memory_order_acquire)) {
            begin = from_back ? range_back(rest) : front;
            end = from_back ? back : range_front(rest);
            return true;
        }
    }
}

// The grain parallel_for_balanced splits [0, n) by: `grain` (at least 1), doubled while the
// ranges' 32-bit grain counts could not hold n (any split is fine for so large an n).
int64_t balanced_grain(int64_t n, int64_t grain) {
    grain = std::max<int64_t>(1, grain);
    while ((n + grain - 1) / grain >= (int64_t{1} << 31)) grain *= 2;
    return grain;
}

}  // namespace

ThreadPool::ThreadPool(int n_threads, bool fall_back_when_preempted)
    : n_threads_(std::clamp(n_threads, 1, kMaxThreads)),
      share_(static_cast<size_t>(n_threads_), 1.0 / n_threads_),
      seconds_(static_cast<size_t>(n_threads_)),
      bounds_(static_cast<size_t>(n_threads_) + 1),
      ran_(static_cast<size_t>(n_threads_)),
      ranges_(std::make_unique<Range[]>(static_cast<size_t>(n_threads_))),
      idle_reads_(std::make_unique<IdleReads[]>(static_cast<size_t>(n_threads_))),
      guarded_(fall_back_when_preempted) {
    workers_.reserve(static_cast<size_t>(n_threads_ - 1));
    for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_.store(true, std::memory_order_relaxed);
        generation_.fetch_add(uint64_t{1} << kThreadBits, std::memory_order_release);
    }
    wake_.notify_all();
    for (auto& thread : workers_) thread.join();
}

int ThreadPool::threads_for_call() {
    if (n_threads_ == 1) return 1;
    ++calls_;
    if (!guarded_) return n_threads_;
    const int threads = guard_.threads(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_).count());
    if (threads < n_threads_) ++reduced_calls_;
    return threads;
}

void ThreadPool::run(FunctionRef<void(int, int)> job) {
    const int threads = threads_for_call();
    if (threads == 1) {
        job(0, 1);
        return;
    }
    run_on(threads, job);
}

void ThreadPool::run_on(int threads, FunctionRef<void(int, int)> job) {
    const auto start = std::chrono::steady_clock::now();
    // job_ and pending_ are published by the release store of generation_ (workers read them
    // after an acquire load that sees it); the mutex only orders it with sleeping workers.
    // Workers numbered `threads` and up skip this job and never read job_.
    job_ = &job;
    pending_.store(threads - 1, std::memory_order_relaxed);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        const uint64_t count = generation_.load(std::memory_order_relaxed) >> kThreadBits;
        generation_.store(((count + 1) << kThreadBits) | static_cast<uint64_t>(threads),
                          std::memory_order_release);
    }
    wake_.notify_all();
    job(0, threads);
    const auto done = std::chrono::steady_clock::now();
    while (pending_.load(std::memory_order_acquire) != 0) TERN_CPU_RELAX();
    if (guarded_) {
        const auto joined = std::chrono::steady_clock::now();
        using Seconds = std::chrono::duration<double>;
        guard_.record(Seconds(done - start).count(), Seconds(joined - done).count(),
                      Seconds(joined - epoch_).count());
    }
}

void ThreadPool::worker(int index) {
    constexpr uint64_t kThreadMask = (uint64_t{1} << kThreadBits) - 1;
    uint64_t seen = 0;  // the word of the last job this thread ran
    // prefetch_while_idle's range as this thread last picked it up: the next line to read, the
    // end, and the range's version.
    IdleReads& idle = idle_reads_[static_cast<size_t>(index)];
    uintptr_t next_line = 0, last_line = 0;
    uint64_t idle_version = 0;
    // A job this thread takes part in (jobs for fewer threads pass it by, asleep), or the end.
    const auto called = [&] {
        const uint64_t word = generation_.load(std::memory_order_acquire);
        return (word != seen && static_cast<int>(word & kThreadMask) > index) ||
               stopping_.load(std::memory_order_acquire);
    };
    for (;;) {
        // Spin a little: back-to-back jobs (one per layer op) arrive within microseconds, and a
        // job seen while spinning starts without touching the mutex (taking it while run() still
        // held it would put this thread to sleep in the kernel).
        // While spinning it reads the lines prefetch_while_idle gave it, one per check.
        for (int spin = 0; spin < 20000 && !called(); ++spin) {
            const uint64_t version = idle.version.load(std::memory_order_acquire);
            if (version != idle_version) {
                idle_version = version;
                next_line = idle.begin.load(std::memory_order_relaxed);
                last_line = idle.end.load(std::memory_order_relaxed);
            }
            if (next_line < last_line) {
                __builtin_prefetch(reinterpret_cast<const void*>(next_line), 0, 2);
                next_line += 64;
            } else {
                TERN_CPU_RELAX();
            }
        }
        if (!called()) {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, called);
        }
        if (stopping_.load(std::memory_order_acquire)) return;
        // The job that called this thread: the caller publishes no other until it has finished.
        seen = generation_.load(std::memory_order_acquire);
        (*job_)(index, static_cast<int>(seen & kThreadMask));
        pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
}

std::pair<int64_t, int64_t> ThreadPool::chunk(int64_t n, int64_t grain, int thread, int threads) {
    grain = std::max<int64_t>(1, grain);
    const int64_t units = (n + grain - 1) / grain;
    const int64_t first = units * thread / threads;
    const int64_t last = units * (thread + 1) / threads;
    return {std::min(n, first * grain), std::min(n, last * grain)};
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, FunctionRef<void(int64_t, int64_t)> body) {
    if (n <= 0) return;
    const int threads_used = n <= grain ? 1 : threads_for_call();
    if (threads_used == 1) {  // one unit: the same single chunk, without the dispatch
        body(0, n);
        return;
    }
    run_on(threads_used, [&](int thread, int threads) {
        const auto [begin, end] = chunk(n, grain, thread, threads);
        if (begin < end) body(begin, end);
    });
}

void ThreadPool::parallel_for_balanced(int64_t n, int64_t grain,
                                       FunctionRef<void(int64_t, int64_t)> body) {
    if (n <= 0) return;
    grain = std::max<int64_t>(1, grain);
    const int threads_used = n <= grain ? 1 : threads_for_call();
    if (threads_used == 1) {
        body(0, n);
        return;
    }
    grain = balanced_grain(n, grain);
    const int64_t units = (n + grain - 1) / grain;
    const bool all = threads_used == n_threads_;
    balanced_bounds(units, threads_used);
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < threads_used; ++i)
        ranges_[static_cast<size_t>(i)].word.store(pack_range(bounds_[i], bounds_[i + 1]),
                                                   std::memory_order_relaxed);
    run_on(threads_used, [&](int thread, int threads) {
        std::atomic<uint64_t>& mine = ranges_[static_cast<size_t>(thread)].word;
        int64_t ran = 0, begin = 0, end = 0;
        for (;;) {
            while (take_piece(mine, false, begin, end)) {
                body(begin * grain, std::min(n, end * grain));
                ran += end - begin;
            }
            // Out of work: the back half of the fullest range becomes this thread's.
            int victim = -1;
            int64_t most = 0;
            for (int i = 0; i < threads; ++i) {
                const uint64_t word =
                    ranges_[static_cast<size_t>(i)].word.load(std::memory_order_relaxed);
                if (range_back(word) - range_front(word) > most) {
                    most = range_back(word) - range_front(word);
                    victim = i;
                }
            }
            if (victim < 0) break;
            if (take_piece(ranges_[static_cast<size_t>(victim)].word, true, begin, end))
                mine.store(pack_range(begin, end), std::memory_order_release);
        }
        ran_[static_cast<size_t>(thread)] = ran;
        seconds_[static_cast<size_t>(thread)] =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    });
    // Each thread's speed in this run (units per second) sets its target share; the shares move
    // a fifth of the way there per run, so one preempted run does not swing them, and stay
    // within [1/4, 7/4] of an even share.
    if (!all) return;
    double total = 0;
    for (int i = 0; i < n_threads_; ++i) {
        double& seconds = seconds_[static_cast<size_t>(i)];
        const int64_t mine = ran_[static_cast<size_t>(i)];
        if (mine <= 0 || seconds <= 0) return;          // no measure of this thread's speed
        seconds = static_cast<double>(mine) / seconds;  // now its speed
        total += seconds;
    }
    const double even = 1.0 / n_threads_;
    double sum = 0;
    for (int i = 0; i < n_threads_; ++i) {
        double& share = share_[static_cast<size_t>(i)];
        const double target = seconds_[static_cast<size_t>(i)] / total;
        share = std::clamp(share + kBalanceStep * (target - share), even / 4, even * 7 / 4);
        sum += share;
    }
    for (double& share : share_) share /= sum;
}

void ThreadPool::balanced_bounds(int64_t units, int threads_used) {
    // The learnt shares on every thread; an even split while the guard holds some back.
    const bool all = threads_used == n_threads_;
    double cumulative = 0;
    for (int i = 0; i < threads_used; ++i) {
        bounds_[static_cast<size_t>(i)] =
            std::min<int64_t>(units, std::llround(cumulative * static_cast<double>(units)));
        cumulative += all ? share_[static_cast<size_t>(i)] : 1.0 / threads_used;
    }
    bounds_[static_cast<size_t>(threads_used)] = units;
}

std::pair<int64_t, int64_t> ThreadPool::balanced_range(int64_t n, int64_t grain, int thread) {
    grain = std::max<int64_t>(1, grain);
    if (n <= 0 || thread < 0 || thread >= n_threads_) return {0, 0};
    if (n <= grain || n_threads_ == 1)
        return thread == 0 ? std::pair<int64_t, int64_t>{0, n} : std::pair<int64_t, int64_t>{n, n};
    grain = balanced_grain(n, grain);
    balanced_bounds((n + grain - 1) / grain, n_threads_);
    const auto at = static_cast<size_t>(thread);
    return {std::min(n, bounds_[at] * grain), std::min(n, bounds_[at + 1] * grain)};
}

void ThreadPool::prefetch_while_idle(int thread, const void* begin, const void* end) {
    if (thread <= 0 || thread >= n_threads_) return;
    IdleReads& idle = idle_reads_[static_cast<size_t>(thread)];
    // Whole lines, from the one holding `begin`.
    idle.begin.store(reinterpret_cast<uintptr_t>(begin) & ~uintptr_t{63},
                     std::memory_order_relaxed);
    idle.end.store(reinterpret_cast<uintptr_t>(end), std::memory_order_relaxed);
    idle.version.fetch_add(1, std::memory_order_release);
}

void ThreadPool::parallel_for_dynamic(int64_t n, int64_t grain,
                                      FunctionRef<void(int, int64_t, int64_t)> body) {
    if (n <= 0) return;
    grain = std::max<int64_t>(1, grain);
    const int threads_used = n <= grain ? 1 : threads_for_call();
    if (threads_used == 1) {
        body(0, 0, n);
        return;
    }
    std::atomic<int64_t> next{0};
    run_on(threads_used, [&](int thread, int) {
        for (;;) {
            const int64_t begin = next.fetch_add(grain, std::memory_order_relaxed);
            if (begin >= n) return;
            body(thread, begin, std::min(n, begin + grain));
        }
    });
}

}  // namespace tern
