// The CPU's name as /proc/cpuinfo gives it, for benchmark records.
#pragma once

#include <istream>
#include <string>

namespace tern {

// The first "model name" (x86) or "Model" (some Arm boards) value, followed on x86 by
// " (family F, model M)": virtual machines often report only "AMD EPYC", which names neither the
// generation nor its instruction sets. "unknown" if there is no name.
std::string cpu_name_from_cpuinfo(std::istream& cpuinfo);

}  // namespace tern
