// Huge-page aligned buffers and the weight arena.
#include "kernels/weight_memory.h"

#include <sys/mman.h>

#include <algorithm>
#include <new>

namespace tern::kernels {

namespace {

constexpr size_t kHugePage = size_t{2} << 20;

size_t round_up(size_t n, size_t to) {
    return (n + to - 1) / to * to;
}

}  // namespace

AlignedBuffer AlignedBuffer::allocate(size_t size) {
    AlignedBuffer buffer;
    const size_t alignment = size >= kHugePage ? kHugePage : 64;
    const size_t rounded = round_up(size, alignment);
    void* memory = std::aligned_alloc(alignment, rounded == 0 ? 64 : rounded);
    if (memory == nullptr) throw std::bad_alloc();
    if (alignment == kHugePage) {
        const size_t whole = size / kHugePage * kHugePage;
        ::madvise(memory, whole, MADV_HUGEPAGE);
        if (rounded > whole)
            ::madvise(static_cast<uint8_t*>(memory) + whole, rounded - whole, MADV_NOHUGEPAGE);
    }
    buffer.data.reset(static_cast<uint8_t*>(memory));
    buffer.size = size;
    return buffer;
}

uint8_t* thread_scratch(ScratchSlot slot, size_t bytes) {
    thread_local AlignedBuffer buffers[static_cast<int>(ScratchSlot::count)];
    return buffers[static_cast<int>(slot)].grow(bytes);
}

AlignedBuffer AlignedBuffer::view(uint8_t* bytes, size_t size) {
    AlignedBuffer buffer;
    buffer.data = {bytes, [](void*) {}};
    buffer.size = size;
    return buffer;
}

AlignedBuffer WeightArena::take(size_t size) {
    const size_t rounded = round_up(std::max<size_t>(size, 1), 64);
    if (slabs_.empty() || used_ + rounded > slabs_.back().size) {
        slabs_.push_back(
            AlignedBuffer::allocate(std::max(kSlabBytes, round_up(rounded, kHugePage))));
        used_ = 0;
    }
    AlignedBuffer view = AlignedBuffer::view(slabs_.back().get() + used_, size);
    used_ += rounded;
    return view;
}

}  // namespace tern::kernels
