// What /proc/cpuinfo says of the machine: the CPU's name and its physical cores.
#include "util/cpuinfo.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <thread>
#include <utility>

namespace tern {

bool cpuinfo_field(const std::string& line, std::string& key, std::string& value) {
    const auto colon = line.find(':');
    if (colon == std::string::npos || colon == 0) return false;
    const auto key_end = line.find_last_not_of(" \t", colon - 1);
    if (key_end == std::string::npos) return false;
    key = line.substr(0, key_end + 1);
    value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    return true;
}

std::string cpu_name_from_cpuinfo(std::istream& cpuinfo) {
    std::string name, family, model, line, key, value;
    while (std::getline(cpuinfo, line)) {
        if (!cpuinfo_field(line, key, value)) continue;
        if ((key == "model name" || key == "Model") && name.empty()) name = value;
        if (key == "cpu family" && family.empty()) family = value;
        if (key == "model" && model.empty()) model = value;
    }
    if (name.empty()) return "unknown";
    if (!family.empty() && !model.empty()) name += " (family " + family + ", model " + model + ")";
    return name;
}

int physical_core_count() {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::set<std::pair<std::string, std::string>> cores;
    std::string line, key, value, physical = "0";
    while (std::getline(cpuinfo, line)) {
        if (!cpuinfo_field(line, key, value)) continue;
        if (key == "physical id") physical = value;
        if (key == "core id") cores.insert({physical, value});
    }
    const int logical = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (cores.empty()) return logical;
    return std::clamp(static_cast<int>(cores.size()), 1, logical);
}

}  // namespace tern
