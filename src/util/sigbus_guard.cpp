// SIGBUS guard for mapped files: a fixed table of mappings the signal handler can read without
// locks, and a handler that names the file and exits, or passes the signal on.
#include "util/sigbus_guard.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>

namespace tern {
namespace {

constexpr int kMaxMappings = 64;
constexpr size_t kMaxPath = 512;

// A slot is live while `begin` is non-zero; the handler reads begin, then size and path.
struct Slot {
    std::atomic<uintptr_t> begin{0};
    std::atomic<size_t> size{0};
    char path[kMaxPath] = {};
};

Slot g_slots[kMaxMappings];
std::mutex g_mutex;  // serialises registration (never taken by the handler)
struct sigaction g_previous {};
bool g_installed = false;

void write_all(const char* text, size_t n) {
    while (n > 0) {
        const ssize_t written = ::write(STDERR_FILENO, text, n);
        if (written <= 0) return;
        text += written;
        n -= static_cast<size_t>(written);
    }
}

void on_sigbus(int signal, siginfo_t* info, void* context) {
    const auto address = reinterpret_cast<uintptr_t>(info->si_addr);
    for (Slot& slot : g_slots) {
        const uintptr_t begin = slot.begin.load(std::memory_order_acquire);
        if (begin == 0 || address < begin ||
            address - begin >= slot.size.load(std::memory_order_relaxed))
            continue;
        static constexpr char kHead[] = "tern: error: ";
        static constexpr char kTail[] =
            " changed on disk while in use (truncated or rewritten in place); stopped. Replace "
            "model files by "
            "renaming a new file over them, never by writing into them.\n";
        write_all(kHead, sizeof kHead - 1);
        write_all(slot.path, ::strnlen(slot.path, kMaxPath));
        write_all(kTail, sizeof kTail - 1);
        ::_exit(1);
    }
    // Not ours: hand the signal to whoever handled it before, or let the default action happen.
    if (g_previous.sa_flags & SA_SIGINFO) {
        if (g_previous.sa_sigaction != nullptr) {
            g_previous.sa_sigaction(signal, info, context);
            return;
        }
    } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
        g_previous.sa_handler(signal);
        return;
    }
    ::signal(SIGBUS, SIG_DFL);  // the faulting access repeats and terminates the process
}

}  // namespace

void register_mapping(const void* begin, size_t size, const std::string& path) {
    if (begin == nullptr || size == 0) return;
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!g_installed) {
        struct sigaction action {};
        action.sa_sigaction = on_sigbus;
        action.sa_flags = SA_SIGINFO;
        sigemptyset(&action.sa_mask);
        if (::sigaction(SIGBUS, &action, &g_previous) == 0) g_installed = true;
    }
    for (Slot& slot : g_slots) {
        if (slot.begin.load(std::memory_order_relaxed) != 0) continue;
        const size_t n = std::min(path.size(), kMaxPath - 1);
        std::memcpy(slot.path, path.data(), n);
        slot.path[n] = '\0';
        slot.size.store(size, std::memory_order_relaxed);
        slot.begin.store(reinterpret_cast<uintptr_t>(begin), std::memory_order_release);
        return;
    }
    // More than kMaxMappings open files: this one is simply not guarded.
}

void unregister_mapping(const void* begin) {
    if (begin == nullptr) return;
    std::lock_guard<std::mutex> lock(g_mutex);
    for (Slot& slot : g_slots) {
        if (slot.begin.load(std::memory_order_relaxed) == reinterpret_cast<uintptr_t>(begin)) {
            slot.begin.store(0, std::memory_order_release);
        }
    }
}

}  // namespace tern
