// Machine facts: the read-bandwidth probe gives finite positive rates, repeatably.
#include <tern/system.h>

#include <gtest/gtest.h>

#include <cmath>

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

TEST(System, FactsAreNamed) {
    EXPECT_GE(physical_cores(), 1);
    EXPECT_FALSE(cpu_name().empty());
    EXPECT_FALSE(kernel_set_name().empty());
}

}  // namespace
}  // namespace tern
