// A fixed set of worker threads that run one job on every thread at once (fork-join).
#pragma once

#include "util/preemption_guard.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace tern {

// A non-owning reference to a callable: unlike std::function it never allocates, so handing a
// lambda with many captures to the pool costs nothing per call. The callable must outlive it.
template <typename Signature>
class FunctionRef;

template <typename R, typename... Args>
class FunctionRef<R(Args...)> {
public:
    template <typename F>
    FunctionRef(const F& f)  // NOLINT(google-explicit-constructor): used like std::function
        : object_(&f), call_([](const void* o, Args... args) -> R {
              return (*static_cast<const F*>(o))(args...);
          }) {}
    R operator()(Args... args) const { return call_(object_, args...); }

private:
    const void* object_;
    R (*call_)(const void*, Args...);
};

class ThreadPool {
public:
    // `n_threads` threads in all, counting the caller of run(); at least 1, at most kMaxThreads.
    // With `fall_back_when_preempted`, a pool whose workers keep being preempted mid-job runs its
    // jobs on fewer threads for a while (PreemptionGuard); tests of the split turn it off.
    explicit ThreadPool(int n_threads, bool fall_back_when_preempted = true);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    static constexpr int kMaxThreads = 1024;

    int size() const { return n_threads_; }

    // Calls job(thread_index, n_threads) once on every thread (the caller is thread 0) and returns
    // when all have finished; while the guard holds threads back (see the constructor), on
    // threads 0 to n_threads - 1 of fewer (job(0, 1) on the caller alone). Jobs must not throw.
    // Not re-entrant.
    void run(FunctionRef<void(int thread, int n_threads)> job);

    // Splits [0, n) into contiguous chunks, one per thread, aligned to `grain` (except the end),
    // and calls body(begin, end) for each non-empty chunk. The split depends only on n, grain and
    // the thread count, so results computed per element are independent of it.
    // With a single grain-sized unit (or one thread) the body runs on the caller, no dispatch.
    void parallel_for(int64_t n, int64_t grain, FunctionRef<void(int64_t, int64_t)> body);

    // Like parallel_for, but the threads take grain-sized chunks [k * grain, (k + 1) * grain) in
    // turn from a shared counter until none are left, so a thread slowed by a neighbour on its
    // core takes fewer. For work in big units (prompt matmuls); a body that computes each element
    // the same way in any chunk gives results independent of which thread ran it. With one thread
    // or one unit the body runs once over [0, n) on the caller. The body also gets the index of
    // the thread running it (0 is the caller), for per-thread scratch.
    void parallel_for_dynamic(int64_t n, int64_t grain,
                              FunctionRef<void(int thread, int64_t begin, int64_t end)> body);

    // Like parallel_for (one contiguous range per thread, so each reads one stream), but the
    // ranges are sized by how fast each thread went in the pool's earlier balanced runs: a
    // thread slowed by a neighbour on its core gets a smaller share until it speeds up again.
    // The owner runs its range front to back in shrinking pieces (a quarter of what is left at
    // a time); a thread that runs out takes the back half of what is left of the fullest range
    // and runs it the same way, so a slow spell within one call is evened out too. For one
    // token's ternary matmuls, whose threads otherwise wait 10-20 us per call on this machine
    // for the slower one. A body that computes each element the same way in any piece gives
    // results independent of the split.
    void parallel_for_balanced(int64_t n, int64_t grain, FunctionRef<void(int64_t, int64_t)> body);

    // The range [begin, end) of [0, n) that parallel_for_balanced(n, grain, ...) called now, on
    // every thread, would hand `thread` as its own (it runs it from the front).
    std::pair<int64_t, int64_t> balanced_range(int64_t n, int64_t grain, int thread);

    // Has worker `thread` (1 to size() - 1) read the bytes [begin, end) into its L2 cache a line
    // at a time while it waits for its next job (it checks for the job between lines): the start
    // of what that job will have it read, so that the time it would spin through (the caller's
    // work between jobs, and its end of the last job) moves weights from memory too. Replaces
    // the thread's earlier range; a wrong range costs only the reads, as a prefetch never faults.
    void prefetch_while_idle(int thread, const void* begin, const void* end);

    // Calls (run, parallel_for* with more than one grain) on a pool of several threads, and
    // those of them that ran on fewer threads because some kept being preempted.
    int64_t calls() const { return calls_; }
    int64_t reduced_calls() const { return reduced_calls_; }

    // The chunk [begin, end) of [0, n) that parallel_for hands to `thread` of `threads`.
    static std::pair<int64_t, int64_t> chunk(int64_t n, int64_t grain, int thread, int threads);

private:
    void worker(int index);
    // The first grain of each thread's range in a balanced run over `units` grains on
    // `threads_used` threads, into bounds_[0 .. threads_used] (the last is `units`).
    void balanced_bounds(int64_t units, int threads_used);
    // The threads for this call: all, or fewer during a spell of the guard (counted).
    int threads_for_call();
    // run() on threads 0 to threads - 1 (threads > 1), timing the join for the guard.
    void run_on(int threads, FunctionRef<void(int, int)> job);

    int n_threads_;
    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_;
    const FunctionRef<void(int, int)>* job_ = nullptr;
    // The job's number above kThreadBits, the threads it runs on below: workers numbered that
    // many and up sleep through it.
    static constexpr int kThreadBits = 16;
    std::atomic<uint64_t> generation_{0};
    std::atomic<int> pending_{0};
    std::atomic<bool> stopping_{false};
    // parallel_for_balanced: each thread's share of the work (summing to 1), the seconds each
    // took in the current run and the grains it ran, the current run's first boundaries in
    // grains, and each thread's range still to run, [front, back) in grains packed in one word
    // (front in the low 32 bits) on its own cache line: the owner advances front, a thread that
    // has run out lowers back.
    struct alignas(64) Range {
        std::atomic<uint64_t> word{0};
    };
    std::vector<double> share_, seconds_;
    std::vector<int64_t> bounds_, ran_;
    std::unique_ptr<Range[]> ranges_;
    // prefetch_while_idle's range for each thread, as addresses, on its own cache line, and a
    // count of the times it was set, which the worker watches to pick up a new one.
    struct alignas(64) IdleReads {
        std::atomic<uintptr_t> begin{0}, end{0};
        std::atomic<uint64_t> version{0};
    };
    std::unique_ptr<IdleReads[]> idle_reads_;
    // The preemption guard (when on), its clock's zero, and the counts of calls() and
    // reduced_calls().
    bool guarded_;
    PreemptionGuard guard_{n_threads_};
    std::chrono::steady_clock::time_point epoch_ = std::chrono::steady_clock::now();
    int64_t calls_ = 0, reduced_calls_ = 0;
};

}  // namespace tern
