// The fork-join pool: every thread runs a job once, parallel_for covers [0, n) exactly once in
// grain-aligned chunks that depend only on n, grain and the thread count; the dynamic and
// balanced forms give a slow thread less; a worker that keeps stalling the joins is left out of
// the calls for a while.
#include "util/thread_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace tern {
namespace {

using Chunks = std::set<std::pair<int64_t, int64_t>>;

// Pools for the tests of how work is split, with the preemption guard off: with more threads than
// the machine has cores (or beside other tests) the guard would rightly use fewer.
constexpr bool kSplitOnly = false;

// The chunks `for_each_chunk(body)` hands to body(begin, end), after checking that together
// they cover every element of [0, n) exactly once.
template <typename ForEachChunk>
Chunks chunks_covering_once(int64_t n, const ForEachChunk& for_each_chunk) {
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    std::mutex mutex;
    Chunks chunks;
    for_each_chunk([&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
        std::lock_guard<std::mutex> lock(mutex);
        chunks.insert({begin, end});
    });
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(hits[static_cast<size_t>(i)].load(), 1) << i;
    return chunks;
}

TEST(ThreadPool, RunCallsEveryThreadIndexOnce) {
    for (int threads : {1, 2, 3, 5}) {
        ThreadPool pool(threads, kSplitOnly);
        for (int round = 0; round < 50; ++round) {
            // Now and then the workers have stopped spinning and sleep when the job comes.
            if (round % 10 == 9) std::this_thread::sleep_for(std::chrono::milliseconds(30));
            std::vector<std::atomic<int>> calls(static_cast<size_t>(threads));
            pool.run([&](int thread, int n_threads) {
                EXPECT_EQ(n_threads, threads);
                calls[static_cast<size_t>(thread)].fetch_add(1);
            });
            for (int t = 0; t < threads; ++t) ASSERT_EQ(calls[static_cast<size_t>(t)].load(), 1);
        }
    }
}

TEST(ThreadPool, ParallelForCoversEveryElementOnceInGrainAlignedChunks) {
    for (int threads : {1, 2, 3, 4}) {
        ThreadPool pool(threads, kSplitOnly);
        for (int64_t n : {1, 2, 7, 63, 64, 65, 100, 1000, 4097}) {
            for (int64_t grain : {1, 4, 64, 5000}) {
                SCOPED_TRACE(testing::Message()
                             << threads << " threads, n " << n << ", grain " << grain);
                const Chunks chunks = chunks_covering_once(
                    n, [&](const auto& body) { pool.parallel_for(n, grain, body); });
                // The chunks are exactly the non-empty ones chunk() names, each grain-aligned.
                Chunks expected;
                for (int t = 0; t < threads; ++t) {
                    const auto c = ThreadPool::chunk(n, grain, t, threads);
                    if (c.first < c.second) expected.insert(c);
                    EXPECT_EQ(c.first % grain == 0 || c.first == n, true);
                }
                EXPECT_EQ(chunks, expected);
                const int64_t units = (n + grain - 1) / grain;
                EXPECT_EQ(static_cast<int64_t>(chunks.size()), std::min<int64_t>(units, threads));
            }
        }
    }
}

TEST(ThreadPool, ASingleUnitRunsOnTheCaller) {
    ThreadPool pool(2);
    std::thread::id ran_on;
    pool.parallel_for(10, 16, [&](int64_t begin, int64_t end) {
        EXPECT_EQ(begin, 0);
        EXPECT_EQ(end, 10);
        ran_on = std::this_thread::get_id();
    });
    EXPECT_EQ(ran_on, std::this_thread::get_id());
    // More than one unit: the second chunk runs on the worker.
    std::set<std::thread::id> threads_used;
    std::mutex mutex;
    pool.parallel_for(32, 16, [&](int64_t, int64_t) {
        std::lock_guard<std::mutex> lock(mutex);
        threads_used.insert(std::this_thread::get_id());
    });
    EXPECT_EQ(threads_used.size(), 2u);
}

TEST(ThreadPool, DynamicParallelForCoversEveryGrainChunkOnce) {
    for (int threads : {1, 2, 3}) {
        ThreadPool pool(threads, kSplitOnly);
        for (int64_t n : {1, 7, 64, 65, 1000}) {
            for (int64_t grain : {1, 4, 64, 5000}) {
                SCOPED_TRACE(testing::Message()
                             << threads << " threads, n " << n << ", grain " << grain);
                const Chunks chunks = chunks_covering_once(n, [&](const auto& body) {
                    pool.parallel_for_dynamic(n, grain, [&](int thread, int64_t b, int64_t e) {
                        EXPECT_TRUE(thread >= 0 && thread < threads);
                        body(b, e);
                    });
                });
                Chunks expected;
                if (threads == 1) expected.insert({0, n});  // one call on the caller
                for (int64_t b = 0; threads > 1 && b < n; b += grain)
                    expected.insert({b, std::min(n, b + grain)});
                EXPECT_EQ(chunks, expected);
            }
        }
    }
}

TEST(ThreadPool, DynamicParallelForGivesASlowThreadFewerChunks) {
    // The caller's first chunk does not finish until the worker has taken every other chunk,
    // however slowly the worker runs; an even split up front would leave the worker only half.
    ThreadPool pool(2);
    constexpr int kChunks = 40;
    std::atomic<int> caller_chunks{0}, worker_chunks{0};
    std::atomic<bool> timed_out{false};
    pool.parallel_for_dynamic(kChunks, 1, [&](int thread, int64_t, int64_t) {
        if (thread != 0) {
            worker_chunks.fetch_add(1);
            return;
        }
        caller_chunks.fetch_add(1);
        if (timed_out.load()) return;  // a failure waits once, not once per chunk
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (worker_chunks.load() < kChunks - caller_chunks.load()) {
            if (std::chrono::steady_clock::now() > deadline) {
                timed_out = true;
                return;
            }
            std::this_thread::yield();
        }
    });
    EXPECT_FALSE(timed_out.load());
    // One chunk, or none when the caller was descheduled before its job started and the worker
    // took every chunk (seen under load); an even split would have given it 20.
    EXPECT_LE(caller_chunks.load(), 1);
    EXPECT_EQ(caller_chunks.load() + worker_chunks.load(), kChunks);
}

TEST(ThreadPool, BalancedParallelForCoversEveryElementOnceInGrainAlignedPieces) {
    for (int threads : {1, 2, 3}) {
        ThreadPool pool(threads, kSplitOnly);
        for (int64_t n : {1, 7, 64, 65, 1000}) {
            for (int64_t grain : {1, 4, 64, 5000}) {
                SCOPED_TRACE(testing::Message()
                             << threads << " threads, n " << n << ", grain " << grain);
                for (int round = 0; round < 5; ++round) {  // the split changes between rounds
                    const Chunks chunks = chunks_covering_once(
                        n, [&](const auto& body) { pool.parallel_for_balanced(n, grain, body); });
                    for (const auto& [begin, end] : chunks) EXPECT_EQ(begin % grain, 0);
                    // One thread, or one grain: a single piece on the caller.
                    if (threads == 1 || n <= grain) {
                        EXPECT_EQ(chunks.size(), 1u);
                    }
                }
            }
        }
    }
}

// Each thread runs its range front to back: the pieces a thread gets ascend, and a piece a
// thread takes from another's range (the back half of what is left) ascends from there too.
TEST(ThreadPool, BalancedParallelForPiecesAscendOnEachThread) {
    ThreadPool pool(3, kSplitOnly);
    for (int round = 0; round < 20; ++round) {
        std::mutex mutex;
        std::vector<std::pair<std::thread::id, std::pair<int64_t, int64_t>>> order;
        pool.parallel_for_balanced(3000, 8, [&](int64_t begin, int64_t end) {
            std::lock_guard<std::mutex> lock(mutex);
            order.push_back({std::this_thread::get_id(), {begin, end}});
        });
        std::vector<std::pair<std::thread::id, int64_t>> last;  // each thread's last end
        int64_t covered = 0, descents = 0;
        for (const auto& [id, piece] : order) {
            covered += piece.second - piece.first;
            auto it = std::find_if(last.begin(), last.end(),
                                   [&](const auto& l) { return l.first == id; });
            if (it == last.end()) {
                last.push_back({id, piece.second});
                continue;
            }
            // A thread's next piece starts where its last ended, or it took another range.
            if (piece.first != it->second) ++descents;
            it->second = piece.second;
        }
        EXPECT_EQ(covered, 3000);
        // At most one jump per range taken over: far fewer than the pieces.
        EXPECT_LT(descents, static_cast<int64_t>(order.size()));
    }
}

// A thread slowed within one run hands the rest of its range to the others in that run: the
// worker sleeps 200 us per element, the caller 20, from an even split; the caller ends up running
// most of the elements (about 10/11 at those paces), not just its half. The paces are long
// against a sleep's own overshoot (~50 us of timer slack per piece, ~20 pieces a range): at 2 and
// 20 us that overshoot was most of the caller's time, and with another process on the cores the
// caller fell under the bound (579 of 1000).
TEST(ThreadPool, BalancedParallelForTakesOverASlowThreadsRangeWithinARun) {
    ThreadPool pool(2, kSplitOnly);
    constexpr int64_t kN = 1000;
    const std::thread::id caller = std::this_thread::get_id();
    std::atomic<int64_t> caller_elements{0};
    pool.parallel_for_balanced(kN, 1, [&](int64_t begin, int64_t end) {
        const bool on_caller = std::this_thread::get_id() == caller;
        if (on_caller) caller_elements += end - begin;
        std::this_thread::sleep_for(
            std::chrono::microseconds((end - begin) * (on_caller ? 20 : 200)));
    });
    EXPECT_GT(caller_elements.load(), kN * 13 / 20);
}

TEST(ThreadPool, BalancedParallelForShrinksASlowThreadsShareAndRestoresIt) {
    // The worker takes 20 us per element, the caller 2: within a few runs the worker's range
    // (where its first piece starts) is well under the even half; once both run at the same pace
    // it grows back. (A worker 10x slower is what the preemption guard is for, so it is off.)
    ThreadPool pool(2, kSplitOnly);
    constexpr int64_t kN = 1000;
    const std::thread::id caller = std::this_thread::get_id();
    std::atomic<int64_t> worker_start{-1};
    const auto run_once = [&](int caller_us, int worker_us) {
        worker_start = -1;
        pool.parallel_for_balanced(kN, 1, [&](int64_t begin, int64_t end) {
            const bool on_caller = std::this_thread::get_id() == caller;
            if (!on_caller && worker_start.load() < 0) worker_start = begin;
            std::this_thread::sleep_for(
                std::chrono::microseconds((end - begin) * (on_caller ? caller_us : worker_us)));
        });
    };
    for (int round = 0; round < 30; ++round) run_once(2, 20);
    EXPECT_GT(worker_start.load(), kN * 3 / 4);  // under a quarter of the elements
    EXPECT_LE(worker_start.load(), kN * 7 / 8);  // never below a quarter of an even share
    // Back near even (sleeps overshoot on a loaded machine, so within 30-70 %, well clear of
    // the < 25 % above).
    for (int round = 0; round < 40; ++round) run_once(10, 10);
    EXPECT_GT(kN - worker_start.load(), kN * 3 / 10);
    EXPECT_LT(kN - worker_start.load(), kN * 7 / 10);
}

// balanced_range names the range each thread will run from the front: its first piece starts
// there, with even shares and with shares skewed by a slow worker; the ranges tile [0, n) in
// grain-aligned pieces.
TEST(ThreadPool, BalancedRangeIsWhereEachThreadsFirstPieceStarts) {
    ThreadPool pool(2, kSplitOnly);
    constexpr int64_t kN = 1000, kGrain = 4;
    const std::thread::id caller = std::this_thread::get_id();
    for (const int worker_us : {20, 20, 20, 20, 20, 20, 20, 20, 2}) {
        const auto [caller_begin, caller_end] = pool.balanced_range(kN, kGrain, 0);
        const auto [worker_begin, worker_end] = pool.balanced_range(kN, kGrain, 1);
        EXPECT_EQ(caller_begin, 0);
        EXPECT_EQ(caller_end, worker_begin);
        EXPECT_EQ(worker_end, kN);
        EXPECT_EQ(worker_begin % kGrain, 0);
        std::atomic<int64_t> worker_first{-1}, caller_first{-1};
        pool.parallel_for_balanced(kN, kGrain, [&](int64_t begin, int64_t end) {
            // The caller is slow enough that the worker starts before its range could be taken.
            const bool on_caller = std::this_thread::get_id() == caller;
            std::atomic<int64_t>& first = on_caller ? caller_first : worker_first;
            int64_t unset = -1;
            first.compare_exchange_strong(unset, begin);
            std::this_thread::sleep_for(
                std::chrono::microseconds((end - begin) * (on_caller ? 4 : worker_us)));
        });
        EXPECT_EQ(caller_first.load(), 0);
        EXPECT_EQ(worker_first.load(), worker_begin);
    }
    // The slow runs moved the worker's range back from the even half.
    EXPECT_GT(pool.balanced_range(kN, kGrain, 1).first, kN / 2);
    // One grain, or out-of-range threads: everything on the caller, nothing elsewhere.
    EXPECT_EQ(pool.balanced_range(3, kGrain, 0), (std::pair<int64_t, int64_t>{0, 3}));
    EXPECT_EQ(pool.balanced_range(3, kGrain, 1), (std::pair<int64_t, int64_t>{3, 3}));
    EXPECT_EQ(pool.balanced_range(kN, kGrain, 2), (std::pair<int64_t, int64_t>{0, 0}));
}

// The lines a worker reads while it waits are only prefetches: ranges that are reversed, empty,
// unmapped or huge neither fault nor hold up the jobs (it checks for one between lines).
TEST(ThreadPool, PrefetchWhileIdleNeverFaultsNorDelaysJobs) {
    ThreadPool pool(3, kSplitOnly);
    std::vector<char> buffer(1 << 20);
    const char* unmapped = reinterpret_cast<const char*>(uintptr_t{64} << 40);
    const std::pair<const void*, const void*> ranges[] = {
        {buffer.data(), buffer.data() + buffer.size()},
        {buffer.data() + buffer.size(), buffer.data()},
        {nullptr, nullptr},
        {unmapped, unmapped + (uint64_t{1} << 36)},
    };
    std::atomic<int64_t> runs{0};
    for (int round = 0; round < 200; ++round) {
        const auto& [begin, end] = ranges[round % 4];
        for (int thread = -1; thread <= pool.size(); ++thread)
            pool.prefetch_while_idle(thread, begin, end);
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        pool.run([&](int, int) { runs.fetch_add(1); });
    }
    EXPECT_EQ(runs.load(), 200 * 3);
}

// A worker that stops for 3 ms in every run (as when the OS gives its core to another process)
// makes the caller wait at each join: within a window of such runs the calls go to the caller
// alone (job(0, 1), parallel_for's body once over everything), and after the first spell
// (0.1 s) every thread is tried again. With the guard off they never do.
TEST(ThreadPool, AWorkerThatKeepsStallingTheJoinsSendsCallsToTheCallerForASpell) {
    const auto stalling_job = [](int thread, int) {
        if (thread != 0) std::this_thread::sleep_for(std::chrono::milliseconds(3));
    };
    ThreadPool unguarded(2, kSplitOnly);
    for (int run = 0; run < 15; ++run) unguarded.run(stalling_job);
    EXPECT_EQ(unguarded.reduced_calls(), 0);
    EXPECT_EQ(unguarded.calls(), 15);

    ThreadPool pool(2);
    int runs = 0, threads_seen = 2;
    while (threads_seen == 2 && runs < 100) {
        pool.run([&](int thread, int threads) {
            if (thread == 0) threads_seen = threads;
            stalling_job(thread, threads);
        });
        ++runs;
    }
    // A 20 ms window of ~3 ms runs closes on the 7th (sooner when sleeps overshoot); the 8th
    // call is the first the caller runs alone.
    EXPECT_EQ(threads_seen, 1);
    EXPECT_LE(runs, 8);
    EXPECT_EQ(pool.reduced_calls(), 1);
    const Chunks chunks =
        chunks_covering_once(100, [&](const auto& body) { pool.parallel_for(100, 1, body); });
    EXPECT_EQ(chunks, Chunks({{0, 100}}));
    EXPECT_EQ(pool.reduced_calls(), 2);
    EXPECT_EQ(pool.calls(), runs + 1);

    std::this_thread::sleep_for(std::chrono::milliseconds(150));  // past the spell
    std::atomic<int> ran{0};
    pool.run([&](int, int threads) {
        EXPECT_EQ(threads, 2);
        ran.fetch_add(1);
    });
    EXPECT_EQ(ran.load(), 2);
    EXPECT_EQ(pool.reduced_calls(), 2);
}

// A pool of 3 whose thread 2 keeps stalling goes down to 2 threads: run() calls threads 0 and 1
// only, parallel_for hands out chunk(n, grain, t, 2), and the balanced form still covers every
// element once (evenly split while a thread is held back). A machine slow enough to stall the
// trivial calls below for another 20 ms window may take one more thread (seen under TSan), so
// the split is checked against the thread count each call used. After the spells the left-out
// worker, asleep since, is called again.
TEST(ThreadPool, CallsOnFewerThreadsSplitTheWorkAmongThem) {
    ThreadPool pool(3);
    int runs = 0, threads_seen = 3;
    while (threads_seen == 3 && runs < 100) {
        pool.run([&](int thread, int threads) {
            if (thread == 0) threads_seen = threads;
            if (thread == 2) std::this_thread::sleep_for(std::chrono::milliseconds(3));
        });
        ++runs;
    }
    ASSERT_EQ(threads_seen, 2);
    const auto calls_each_thread = [&](int& threads_used) {
        std::vector<int> calls(3);
        std::mutex mutex;
        pool.run([&](int thread, int threads) {
            std::lock_guard<std::mutex> lock(mutex);
            if (thread == 0) threads_used = threads;
            ++calls[static_cast<size_t>(thread)];
        });
        return calls;
    };
    int used = 0;
    std::vector<int> calls = calls_each_thread(used);
    EXPECT_EQ(calls, used == 2 ? std::vector<int>({1, 1, 0}) : std::vector<int>({1, 0, 0}));
    const Chunks chunks =
        chunks_covering_once(1000, [&](const auto& body) { pool.parallel_for(1000, 8, body); });
    Chunks expected;
    for (int t = 0; t < static_cast<int>(chunks.size()); ++t)
        expected.insert(ThreadPool::chunk(1000, 8, t, static_cast<int>(chunks.size())));
    EXPECT_EQ(chunks, expected);
    EXPECT_LE(chunks.size(), 2u);
    for (int round = 0; round < 5; ++round) {
        const Chunks pieces = chunks_covering_once(
            1000, [&](const auto& body) { pool.parallel_for_balanced(1000, 8, body); });
        for (const auto& [begin, end] : pieces) EXPECT_EQ(begin % 8, 0);
    }
    EXPECT_EQ(pool.reduced_calls(), 8);  // the run that saw 2 threads, then 1 + 1 + 5
    // One spell (0.1 s) on an idle machine; while other processes keep the cores busy, every
    // try on more threads may stall again and the spells grow (to 1.6 s), so up to ~10 s.
    for (int wait = 0; wait < 66 && used != 3; ++wait) {
        std::this_thread::sleep_for(std::chrono::milliseconds(150));
        calls = calls_each_thread(used);
    }
    EXPECT_EQ(used, 3);
    EXPECT_EQ(calls, std::vector<int>({1, 1, 1}));
}

}  // namespace
}  // namespace tern
