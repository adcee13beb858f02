// How many of a thread pool's threads to use while some keep being preempted mid-job.
#pragma once

#include <cstdint>
#include <limits>

namespace tern {

// A pool's workers share the cores with whatever else runs. When another process keeps a core
// busy, the OS time-slices a worker with it: the worker stops for a whole slice (milliseconds)
// in the middle of its piece of a job, and the caller, done with its own part, waits at the join
// for a thread that is not running. One token's ~150 jobs then take longer on two threads than
// on one (2B-4T on 2 cores beside one busy loop: 12-18 tok/s on 2 threads, 23-25 on one).
//
// The guard watches the joins of the pool's runs. When, over a window of runs, waits too long to
// be imbalance (a preempted thread) make up a large share of the runs' time, the pool uses one
// thread fewer for a spell (the idle worker sleeps, leaving its core to the other process), and
// one fewer again if the stalls go on. When a spell ends it tries one thread more. While the
// contention lasts, each spell is twice as long as the last, up to kLongestSpell, so trying
// costs ~1 % of the time; a clean window on every thread makes the next spell short again.
//
// Times are seconds on any steady clock; the guard reads no clock itself, so it can be tested
// with made-up ones. Not thread-safe: the pool's caller alone uses it.
class PreemptionGuard {
public:
    // A wait at the join longer than this, and longer than the caller's own part of the run,
    // counts as a preempted thread. Balanced runs even out to within a piece (~10 us for a
    // token's matmuls), and an OS time slice is 1-4 ms.
    static constexpr double kStallSeconds = 1e-3;
    // Runs are judged together once their time adds up to this.
    static constexpr double kWindowSeconds = 0.02;
    // Share of a window's run time lost in stalls that takes a thread away. On two threads that
    // are not preempted, a token's matmuls run ~1.6x as fast as on one, so a few stalls still
    // leave two threads ahead; one busy process on the other core costs ~40 %.
    static constexpr double kStallShare = 0.25;
    static constexpr double kFirstSpell = 0.1;
    static constexpr double kLongestSpell = 1.6;

    explicit PreemptionGuard(int threads) : all_(threads), threads_(threads) {}

    // Threads to use for a run starting at `now` (1 to all of them).
    int threads(double now);

    // A run on threads(now) > 1 threads: `work` from its start until the caller finished its own
    // part, `wait` at the join after that, `now` when it ended.
    void record(double work, double wait, double now);

    // Times a thread was taken away so far.
    int64_t reductions() const { return reductions_; }

private:
    int all_, threads_;
    double window_time_ = 0;  // run time of the current window, and the stalls within it
    double window_stalls_ = 0;
    double spell_ = kFirstSpell;  // length of the current (or next) spell
    double spell_end_ = -std::numeric_limits<double>::infinity();
    int64_t reductions_ = 0;
};

}  // namespace tern
