// Machine facts: the read-bandwidth probe gives finite positive rates, repeatably.
#include "util/cpuinfo.h"

#include <tern/system.h>

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

namespace tern {
namespace {

TEST(System, ReadBandwidthProbeMeasuresRepeatably) {
    for (int threads : {1, 2}) {
        ReadBandwidthProbe probe(threads, size_t{4} << 20);
        for (int i = 0; i < 3; ++i) {
            const double gbps = probe.measure(2);
            EXPECT_TRUE(std::isfinite(gbps)) << threads << " threads, measurement " << i;
            // Reading 4 MiB takes more than 1 ns and less than 10 s on any machine.
            EXPECT_GT(gbps, 4.0 * (1 << 20) / 10 / 1e9);
            EXPECT_LT(gbps, 4.0 * (1 << 20) / 1e-9 / 1e9);
        }
    }
    EXPECT_GT(measure_read_bandwidth(1, size_t{1} << 20, 1), 0.0);
}

std::string name_of(const std::string& cpuinfo) {
    std::istringstream in(cpuinfo);
    return cpu_name_from_cpuinfo(in);
}

TEST(System, CpuNameCarriesTheX86FamilyAndModel) {
    // A VM that names only the brand: the family and model tell Zen 3 from Zen 5.
    EXPECT_EQ(name_of("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\n"
                      "model\t\t: 1\nmodel name\t: AMD EPYC\nstepping\t: 1\n\n"
                      "processor\t: 1\ncpu family\t: 26\nmodel\t\t: 2\nmodel name\t: Other\n"),
              "AMD EPYC (family 25, model 1)");
    EXPECT_EQ(name_of("cpu family\t: 6\nmodel\t\t: 183\nmodel name\t: 13th Gen Intel(R) Core(TM) "
                      "i7-13700\n"),
              "13th Gen Intel(R) Core(TM) i7-13700 (family 6, model 183)");
    // Arm: no family; some boards give a "Model" line after the processors, most nothing usable.
    EXPECT_EQ(name_of("processor\t: 0\nCPU part\t: 0xd08\n\nModel\t\t: Raspberry Pi 4 Model B\n"),
              "Raspberry Pi 4 Model B");
    EXPECT_EQ(name_of("processor\t: 0\nCPU part\t: 0xd08\n"), "unknown");
    EXPECT_EQ(name_of(""), "unknown");
    EXPECT_EQ(name_of(":\n: x\nmodel name\n"), "unknown");  // malformed lines are skipped
}

TEST(System, FactsAreNamed) {
    EXPECT_GE(physical_cores(), 1);
    EXPECT_FALSE(cpu_name().empty());
    EXPECT_FALSE(kernel_set_name().empty());
}

}  // namespace
}  // namespace tern
