// Decoding allocates no memory per token once warmed up: the forward pass, the sampler and the
// thread pool reuse their buffers. Counted with a replaced global operator new.
#include "support/gguf_edit.h"

#include <tern/sampler.h>
#include <tern/session.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
}  // namespace

// GCC warns about free() on the result of a replaced operator new; here that pairing is the point.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t size) {
    if (g_counting.load(std::memory_order_relaxed))
        g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
    return operator new(size);
}
// The nothrow forms too (std::stable_sort's temporary buffer uses them), so that every pointer
// the replaced deletes free came from malloc; ASan reports any mixed pairing.
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    if (g_counting.load(std::memory_order_relaxed))
        g_allocations.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
    return operator new(size, tag);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}

namespace tern::test {
namespace {

TEST(Allocation, DecodeStepsAllocateNothing) {
    TempDir dir;
    write_dummy_model(tiny_spec(), dir / "m.gguf");
    auto model = Model::load(dir / "m.gguf");
    for (int threads : {1, 2}) {
        for (KvCacheType kv : {KvCacheType::f16, KvCacheType::q8_0}) {
            Session session(model, {.n_ctx = 128, .n_threads = threads, .kv_type = kv});
            Sampler sampler(
                {.temperature = 0.8f, .repeat_penalty = 1.1f, .penalty_last_n = 8, .seed = 1});
            const std::vector<Token> prompt = {1, 50, 60, 70};
            std::span<const float> logits = session.eval(prompt);
            for (int warm = 0; warm < 12; ++warm) {  // fill the penalty window and every buffer
                const Token t[] = {sampler.sample(logits)};
                sampler.accept(t[0]);
                logits = session.eval(t);
            }
            g_allocations = 0;
            g_counting = true;
            for (int step = 0; step < 32; ++step) {
                const Token t[] = {sampler.sample(logits)};
                sampler.accept(t[0]);
                logits = session.eval(t);
            }
            g_counting = false;
            EXPECT_EQ(g_allocations.load(), 0) << threads << " threads";
        }
    }
}

}  // namespace
}  // namespace tern::test
