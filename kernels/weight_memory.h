// Memory for weights and other large buffers: 64-byte aligned buffers on transparent huge pages,
// an arena that packs many weight matrices into a few large huge-page slabs, per-thread scratch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

namespace tern::kernels {

// 64-byte aligned bytes: owned (allocate) or a view of memory owned elsewhere, such as a
// WeightArena slab (view: never freed through this object).
struct AlignedBuffer {
    std::unique_ptr<uint8_t, void (*)(void*)> data{nullptr, std::free};
    size_t size = 0;
    // Owned; from 2 MiB up, 2 MiB aligned with its whole 2 MiB pages on transparent huge pages
    // (the last, partial 2 MiB stays on 4 KiB pages, or a 4.4 MB buffer would hold 6 MiB).
    static AlignedBuffer allocate(size_t size);
    static AlignedBuffer view(uint8_t* bytes, size_t size);
    uint8_t* get() const { return data.get(); }
    // Scratch that only grows: reallocates (contents lost) when smaller than `bytes`.
    uint8_t* grow(size_t bytes) {
        if (size < bytes) *this = allocate(bytes);
        return get();
    }
};

// Per-thread scratch that only grows (its contents lost when it does), one buffer per slot.
// Defined here, in baseline code, for kernels compiled for one ISA: their own thread_local
// buffers would instantiate inline library code (destructors, vector growth) in their object,
// and the linker may pick that copy, built with the ISA's instructions, for every caller.
enum class ScratchSlot { decoded_tile, tile_sums, dequantized_row, count };
uint8_t* thread_scratch(ScratchSlot slot, size_t bytes);

// Hands out 64-byte aligned views into slabs of at least 256 MiB on transparent huge pages, one
// after another in the order asked for, so a model's weights lie in the order a token reads them
// and small matrices share huge pages. On 4 KiB pages (a TLB miss every 4 KiB, doubly costly
// under virtualisation) 2B-4T's attention projections, each under 2 MiB, streamed at 8 GB/s
// against 21 GB/s for its FFN matrices on 2 MiB pages (1 thread, same run). Only each slab's
// last, partly used 2 MiB page holds bytes no matrix uses. The views stay valid while the arena
// lives, moves included.
class WeightArena {
public:
    static constexpr size_t kSlabBytes = size_t{256} << 20;
    AlignedBuffer take(size_t size);

private:
    std::vector<AlignedBuffer> slabs_;
    size_t used_ = 0;  // bytes of the last slab handed out
};

}  // namespace tern::kernels
