// What /proc/cpuinfo says of the machine: the CPU's name and its physical cores.
#pragma once

#include <istream>
#include <string>

namespace tern {

// Splits a cpuinfo line "key<blanks>: value" into its key and value; false if it has no key.
bool cpuinfo_field(const std::string& line, std::string& key, std::string& value);

// The first "model name" (x86) or "Model" (some Arm boards) value, followed on x86 by
// " (family F, model M)": virtual machines often report only "AMD EPYC", which names neither the
// generation nor its instruction sets. "unknown" if there is no name.
std::string cpu_name_from_cpuinfo(std::istream& cpuinfo);

// Number of physical CPU cores (hyper-threads not counted); at least 1.
int physical_core_count();

}  // namespace tern
