// Weight memory: aligned buffers and the arena that packs weight matrices into huge-page slabs.
#include "kernels/weight_memory.h"
#include "kernels/ternary_layout.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

namespace tern::kernels {
namespace {

uintptr_t address(const AlignedBuffer& b) {
    return reinterpret_cast<uintptr_t>(b.get());
}

TEST(WeightMemory, AllocateIsAlignedAndLargeBuffersStartOnA2MiBBoundary) {
    for (size_t size :
         {size_t{1}, size_t{100}, size_t{4096}, size_t{3} << 20, (size_t{4} << 20) + 123}) {
        const AlignedBuffer b = AlignedBuffer::allocate(size);
        EXPECT_EQ(b.size, size);
        EXPECT_EQ(address(b) % 64, 0u) << size;
        if (size >= (size_t{2} << 20)) {
            EXPECT_EQ(address(b) % (size_t{2} << 20), 0u) << size;
        }
        std::memset(b.get(), 0x5a, size);  // every byte is usable (ASan checks the bounds)
    }
}

TEST(WeightMemory, GrowReallocatesOnlyWhenTooSmall) {
    AlignedBuffer b;
    uint8_t* first = b.grow(100);
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(b.size, 100u);
    EXPECT_EQ(b.grow(64), first);  // big enough: the same bytes
    EXPECT_EQ(b.size, 100u);
    uint8_t* second = b.grow(5000);
    EXPECT_EQ(b.size, 5000u);
    EXPECT_EQ(b.get(), second);
    EXPECT_EQ(address(b) % 64, 0u);
    std::memset(second, 0x5a, 5000);  // every byte is usable (ASan checks the bounds)
}

TEST(WeightMemory, ArenaHandsOutAlignedDisjointViewsInOrder) {
    WeightArena arena;
    std::vector<AlignedBuffer> views;
    for (size_t size : {size_t{409600}, size_t{1}, size_t{65}, size_t{1638400}, size_t{4423680}})
        views.push_back(arena.take(size));
    for (size_t i = 0; i < views.size(); ++i) {
        EXPECT_EQ(address(views[i]) % 64, 0u);
        std::memset(views[i].get(), static_cast<int>(i + 1), views[i].size);
        if (i > 0) {  // consecutive: each right after the previous one's end, rounded up to 64
            EXPECT_GE(address(views[i]), address(views[i - 1]) + views[i - 1].size);
            EXPECT_LT(address(views[i]), address(views[i - 1]) + views[i - 1].size + 64);
        }
    }
    for (size_t i = 0; i < views.size(); ++i) {  // no view overwrote another
        for (size_t j = 0; j < views[i].size; j += 4093)
            ASSERT_EQ(views[i].get()[j], static_cast<uint8_t>(i + 1));
    }
    // The first view starts a slab: 2 MiB aligned.
    EXPECT_EQ(address(views[0]) % (size_t{2} << 20), 0u);
}

TEST(WeightMemory, ArenaViewsOutliveMovesAndLargeRequestsGetASlabOfTheirOwn) {
    WeightArena arena;
    const AlignedBuffer small = arena.take(1000);
    const AlignedBuffer large = arena.take(WeightArena::kSlabBytes + 1);  // bigger than a slab
    EXPECT_EQ(address(large) % (size_t{2} << 20), 0u);
    large.get()[0] = 7;
    large.get()[large.size - 1] = 7;
    // Not after `small`: the large request got a slab of its own, whose rounding to whole 2 MiB
    // pages left room for a small one.
    const AlignedBuffer after = arena.take(10);
    EXPECT_EQ(address(after), address(large) + WeightArena::kSlabBytes + 64);
    WeightArena moved = std::move(arena);
    std::memset(small.get(), 1, small.size);  // still valid after the move
    EXPECT_EQ(large.get()[large.size - 1], 7);
}

TEST(WeightMemory, PackedMatricesFromAnArenaAreViews) {
    WeightArena arena;
    PackedTernary a = allocate_packed(TernaryLayout::i2, 640, 2560, &arena);
    PackedTernary b = allocate_packed(TernaryLayout::tl3, 100, 300, &arena);
    EXPECT_EQ(a.data.size, static_cast<size_t>(640 * 2560 / 4));
    EXPECT_EQ(address(b.data), address(a.data) + a.data.size);  // 409600 is a multiple of 64
    a = PackedTernary{};  // dropping a view frees nothing: b stays valid
    std::memset(b.data.get(), 3, b.data.size);
    EXPECT_EQ(b.data.get()[b.data.size - 1], 3);
}

}  // namespace
}  // namespace tern::kernels
