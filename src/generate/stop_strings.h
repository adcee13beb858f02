// Holding back generated text until it is certain not to be part of a stop string.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tern {

class StopStringFilter {
public:
    explicit StopStringFilter(std::vector<std::string> stops);

    struct Result {
        std::string text;  // safe to show now
        bool stopped;      // a stop string was completed (it and anything after it are dropped)
    };
    // Adds newly generated text.
    Result push(std::string_view text);
    // Everything still held back (the generation ended without completing a stop string).
    std::string flush(std::string_view tail);

private:
    std::vector<std::string> stops_;
    std::string pending_;
};

}  // namespace tern
