// The CPU's name as /proc/cpuinfo gives it, for benchmark records.
#include "util/cpuinfo.h"

namespace tern {

std::string cpu_name_from_cpuinfo(std::istream& cpuinfo) {
    std::string name, family, model, line;
    while (std::getline(cpuinfo, line)) {
        const auto colon = line.find(':');
        if (colon == std::string::npos || colon == 0) continue;
        const auto key_end = line.find_last_not_of(" \t", colon - 1);
        if (key_end == std::string::npos) continue;
        const std::string key = line.substr(0, key_end + 1);
        const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
        if ((key == "model name" || key == "Model") && name.empty()) name = value;
        if (key == "cpu family" && family.empty()) family = value;
        if (key == "model" && model.empty()) model = value;
    }
    if (name.empty()) return "unknown";
    if (!family.empty() && !model.empty()) name += " (family " + family + ", model " + model + ")";
    return name;
}

}  // namespace tern
