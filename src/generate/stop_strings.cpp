// Stop-string filtering: emit only the prefix that no stop string can still claim.
#include "generate/stop_strings.h"

#include <algorithm>

namespace tern {

StopStringFilter::StopStringFilter(std::vector<std::string> stops) : stops_(std::move(stops)) {
    stops_.erase(std::remove(stops_.begin(), stops_.end(), std::string()), stops_.end());
}

StopStringFilter::Result StopStringFilter::push(std::string_view text) {
    pending_.append(text);
    // A complete stop string: show what precedes the earliest one, drop the rest.
    size_t earliest = std::string::npos;
    for (const std::string& stop : stops_) earliest = std::min(earliest, pending_.find(stop));
    if (earliest != std::string::npos) {
        Result r{pending_.substr(0, earliest), true};
        pending_.clear();
        return r;
    }
    // Hold back the longest suffix that is a prefix of some stop string.
    size_t hold = 0;
    for (const std::string& stop : stops_) {
        for (size_t n = std::min(stop.size() - 1, pending_.size()); n > hold; --n) {
            if (pending_.compare(pending_.size() - n, n, stop, 0, n) == 0) {
                hold = n;
                break;
            }
        }
    }
    Result r{pending_.substr(0, pending_.size() - hold), false};
    pending_.erase(0, pending_.size() - hold);
    return r;
}

std::string StopStringFilter::flush(std::string_view tail) {
    std::string out = pending_;
    out.append(tail);
    pending_.clear();
    return out;
}

}  // namespace tern
