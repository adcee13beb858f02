// The preemption guard on made-up times: which joins count as stalls, when a window of them takes
// a thread away, how long the spells last and how the threads come back.
#include "util/preemption_guard.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace tern {
namespace {

using G = PreemptionGuard;

// Feeds `runs` runs of `work` + `wait` seconds back to back from `now`; returns the end time.
double feed(G& guard, int runs, double work, double wait, double now) {
    for (int i = 0; i < runs; ++i) {
        now += work + wait;
        guard.record(work, wait, now);
    }
    return now;
}

// One window of runs that each wait 3 ms for a preempted thread (the window closes on the 7th).
double stalled_window(G& guard, double now) {
    return feed(guard, 7, 0.1e-3, 3e-3, now);
}

TEST(PreemptionGuard, ShortJoinsKeepEveryThread) {
    G guard(2);
    // A token's matmuls: ~100 us runs, joins of a few us, for 10 s.
    const double end = feed(guard, 100000, 100e-6, 5e-6, 0.0);
    EXPECT_EQ(guard.threads(end), 2);
    EXPECT_EQ(guard.reductions(), 0);
}

TEST(PreemptionGuard, WaitsUnderTheStallLengthOrTheCallersPartAreImbalance) {
    G guard(2);
    // Just under a time slice, every run: imbalance, however large its share.
    double now = feed(guard, 1000, 0.1e-3, 0.9e-3, 0.0);
    EXPECT_EQ(guard.threads(now), 2);
    // Longer than a slice but shorter than the caller's own part (a big prompt job split
    // unevenly): not counted either.
    now = feed(guard, 1000, 10e-3, 5e-3, now);
    EXPECT_EQ(guard.threads(now), 2);
    EXPECT_EQ(guard.reductions(), 0);
}

TEST(PreemptionGuard, AWindowOfStallsTakesAThreadForTheFirstSpell) {
    G guard(2);
    double now = feed(guard, 6, 0.1e-3, 3e-3, 0.0);  // 18.6 ms: the window is still open
    EXPECT_EQ(guard.threads(now), 2) << "judged before its window was full";
    now = feed(guard, 1, 0.1e-3, 3e-3, now);
    EXPECT_EQ(guard.threads(now), 1);
    EXPECT_EQ(guard.threads(now + G::kFirstSpell * 0.99), 1);
    EXPECT_EQ(guard.threads(now + G::kFirstSpell * 1.01), 2);
    EXPECT_EQ(guard.reductions(), 1);
}

TEST(PreemptionGuard, StallsUnderTheShareKeepEveryThread) {
    G guard(2);
    // Every 21 ms, one 3.9 ms stall and 17 ms of clean runs: a 20 ms window holds at most one
    // stall, under 20 % of its time (the share is 25 %).
    double now = 0;
    for (int period = 0; period < 50; ++period) {
        now = feed(guard, 1, 0.1e-3, 3.9e-3, now);
        now = feed(guard, 170, 100e-6, 0.0, now);
        EXPECT_EQ(guard.threads(now), 2) << "period " << period;
    }
    EXPECT_EQ(guard.reductions(), 0);
}

TEST(PreemptionGuard, StallsOverTheShareTakeAThread) {
    G guard(2);
    // A 5.9 ms stall then clean runs: the first window (closed 14 ms into them) is 30 % stalls.
    double now = feed(guard, 1, 0.1e-3, 5.9e-3, 0.0);
    now = feed(guard, 150, 100e-6, 0.0, now);
    EXPECT_EQ(guard.threads(now), 1);
    EXPECT_EQ(guard.reductions(), 1);
}

TEST(PreemptionGuard, SpellsDoubleWhileStallsLastAndRestartAfterACleanWindow) {
    G guard(2);
    double now = 0;
    double expected = G::kFirstSpell;
    for (int spell = 0; spell < 7; ++spell) {
        now = stalled_window(guard, now);
        ASSERT_EQ(guard.threads(now), 1);
        EXPECT_EQ(guard.threads(now + expected * 0.99), 1) << "spell " << spell;
        now += expected * 1.01;  // the spell ends: both threads are tried again
        EXPECT_EQ(guard.threads(now), 2) << "spell " << spell;
        expected = std::min(2 * expected, G::kLongestSpell);
    }
    EXPECT_EQ(expected, G::kLongestSpell);
    // One clean window: the contention is over, so the next spell is short again.
    now = feed(guard, 200, 100e-6, 5e-6, now);
    EXPECT_EQ(guard.threads(now), 2);
    now = stalled_window(guard, now);
    EXPECT_EQ(guard.threads(now + G::kFirstSpell * 0.99), 1);
    EXPECT_EQ(guard.threads(now + G::kFirstSpell * 1.01), 2);
    EXPECT_EQ(guard.reductions(), 8);
}

TEST(PreemptionGuard, ManyThreadsGoDownAndComeBackOneAtATime) {
    G guard(8);
    double now = stalled_window(guard, 0.0);
    EXPECT_EQ(guard.threads(now), 7);
    now = stalled_window(guard, now);  // still stalling on 7: one fewer, for twice as long
    EXPECT_EQ(guard.threads(now), 6);
    EXPECT_EQ(guard.threads(now + 2 * G::kFirstSpell * 0.99), 6);
    now += 2 * G::kFirstSpell * 1.01;
    EXPECT_EQ(guard.threads(now), 7);  // one more; the next after another spell (0.4 s)
    EXPECT_EQ(guard.threads(now + 4 * G::kFirstSpell * 0.99), 7);
    EXPECT_EQ(guard.threads(now + 4 * G::kFirstSpell * 1.01), 8);
    // Never below one thread, however long the stalls go on.
    G pair(2);
    now = 0;
    for (int window = 0; window < 5; ++window) now = stalled_window(pair, now);
    EXPECT_EQ(pair.threads(now), 1);
}

}  // namespace
}  // namespace tern
