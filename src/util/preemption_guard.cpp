// How many of a thread pool's threads to use: the window and spell bookkeeping.
#include "util/preemption_guard.h"

#include <algorithm>

namespace tern {

int PreemptionGuard::threads(double now) {
    if (threads_ < all_ && now >= spell_end_) {  // the spell is over: try one thread more
        ++threads_;
        spell_end_ = now + spell_;
        window_time_ = window_stalls_ = 0;
    }
    return threads_;
}

void PreemptionGuard::record(double work, double wait, double now) {
    window_time_ += work + wait;
    if (wait > kStallSeconds && wait > work) window_stalls_ += wait;
    if (window_time_ < kWindowSeconds) return;
    if (window_stalls_ > kStallShare * window_time_) {
        threads_ = std::max(1, threads_ - 1);
        spell_end_ = now + spell_;
        spell_ = std::min(2 * spell_, kLongestSpell);
        ++reductions_;
    } else if (threads_ == all_) {
        spell_ = kFirstSpell;  // a clean window on every thread: the contention is over
    }
    window_time_ = window_stalls_ = 0;
}

}  // namespace tern
