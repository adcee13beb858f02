// Shared helpers for the tern subcommands.
#include "common.h"

#include <tern/error.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <cstdlib>
#include <iostream>
#include <thread>

namespace tern::cli {

namespace {

std::filesystem::path executable_directory() {
    std::error_code error;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", error);
    return error ? std::filesystem::path() : exe.parent_path();
}

}  // namespace

std::filesystem::path resolve_model_path(const std::string& flag) {
    if (!flag.empty()) return flag;
    std::vector<std::filesystem::path> candidates;
    if (const char* env = std::getenv("TERN_MODEL"); env != nullptr && *env != '\0') {
        candidates.emplace_back(env);
    }
    const auto exe_dir = executable_directory();
    if (!exe_dir.empty()) candidates.push_back(exe_dir / ".." / "share" / "tern" / "models" / kDefaultModelFile);
    candidates.push_back(std::filesystem::path(TERN_INSTALL_MODELS_DIR) / kDefaultModelFile);
    candidates.push_back(std::filesystem::path(TERN_SOURCE_MODELS_DIR) / kDefaultModelFile);
    for (const auto& candidate : candidates) {
        std::error_code error;
        if (std::filesystem::is_regular_file(candidate, error)) return candidate.lexically_normal();
    }
    throw Error(ErrorCode::io, std::string("no -m given and the default model ") + kDefaultModelFile +
                                   " was not found (looked in $TERN_MODEL, the install prefix and " +
                                   TERN_SOURCE_MODELS_DIR + ")");
}

int resolve_threads(int requested) {
    if (requested < 0) {
        throw Error(ErrorCode::invalid_argument,
                    "-t must be 0 (all physical cores) or a positive thread count, got " +
                        std::to_string(requested));
    }
    if (requested == 0) return 0;
    const int cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (requested > cpus) {
        std::cerr << "tern: warning: -t " << requested << " exceeds the " << cpus
                  << " CPUs of this machine; using " << cpus << "\n";
        return cpus;
    }
    return requested;
}

std::shared_ptr<const Model> load_model(const std::filesystem::path& path, int threads, bool verbose) {
    ModelLoadOptions options;
    options.n_threads = threads;
    if (verbose) options.log = [](const std::string& line) { std::cerr << "load: " << line << "\n"; };
    return Model::load(path, options);
}

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

std::string read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(ErrorCode::io, "cannot read " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

Progress::Progress(std::string label) : label_(std::move(label)), enabled_(stderr_is_terminal()) {}

Progress::~Progress() {
    if (drawn_) std::fputs("\r\033[K", stderr);
}

void Progress::update(size_t done, size_t total) {
    if (!enabled_ || total == 0) return;
    std::fprintf(stderr, "\r%s %zu/%zu (%3.0f%%)", label_.c_str(), done, total,
                 100.0 * static_cast<double>(done) / static_cast<double>(total));
    std::fflush(stderr);
    drawn_ = true;
}

}  // namespace tern::cli
