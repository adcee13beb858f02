// A fixed set of worker threads that run one job on every thread at once (fork-join).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tern {

// Number of physical CPU cores (hyper-threads not counted); at least 1.
int physical_core_count();

class ThreadPool {
public:
    // `n_threads` threads in all, counting the caller of run(); at least 1.
    explicit ThreadPool(int n_threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return n_threads_; }

    // Calls job(thread_index, n_threads) once on every thread (the caller is thread 0) and returns
    // when all have finished. Jobs must not throw. Not re-entrant.
    void run(const std::function<void(int thread, int n_threads)>& job);

    // Splits [0, n) into contiguous chunks, one per thread, aligned to `grain` (except the end),
    // and calls body(begin, end) for each non-empty chunk. The split depends only on n, grain and
    // the thread count, so results computed per element are independent of it.
    void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body);

private:
    void worker(int index);

    int n_threads_;
    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_;
    const std::function<void(int, int)>* job_ = nullptr;
    std::atomic<uint64_t> generation_{0};
    std::atomic<int> pending_{0};
    bool stopping_ = false;
};

}  // namespace tern
