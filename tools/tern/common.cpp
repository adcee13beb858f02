// Shared helpers for the tern subcommands.
#include "common.h"

#include <tern/error.h>

#include <unistd.h>

#include <cerrno>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <random>
#include <sstream>
#include <thread>

namespace tern::cli {

namespace {

// `text` with the escapes \n, \r, \t, \\, \' and \" replaced by the characters they name
// (llama.cpp's reading of stop strings); any other backslash is kept as it is.
std::string unescape(const std::string& text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        const char next = i + 1 < text.size() ? text[i + 1] : '\0';
        const char* named = std::strchr("nrt\\'\"", next);
        if (text[i] != '\\' || next == '\0' || named == nullptr) {
            out += text[i];
            continue;
        }
        out += next == 'n' ? '\n' : next == 'r' ? '\r' : next == 't' ? '\t' : next;
        ++i;
    }
    return out;
}

std::filesystem::path executable_directory() {
    std::error_code error;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", error);
    return error ? std::filesystem::path() : exe.parent_path();
}

}  // namespace

CLI::Validator whole_number_in(int64_t min, int64_t max) {
    return CLI::Validator(
        [min, max](std::string& text) -> std::string {
            const std::string range = std::to_string(min) + " to " + std::to_string(max);
            errno = 0;
            char* end = nullptr;
            const long long value = std::strtoll(text.c_str(), &end, 10);
            if (text.empty() || end != text.c_str() + text.size())
                return "must be a whole number from " + range + ", got '" + text + "'";
            if (errno == ERANGE || value < min || value > max)
                return "must be from " + range + ", got " + text;
            return {};
        },
        "INT", "whole_number_in");
}

std::filesystem::path resolve_model_path(const std::string& flag) {
    if (!flag.empty()) return flag;
    std::vector<std::filesystem::path> candidates;
    if (const char* env = std::getenv("TERN_MODEL"); env != nullptr && *env != '\0') {
        // Set, it is what the user asked for: its absence is an error, not a reason to fall back.
        std::error_code error;
        if (!std::filesystem::is_regular_file(env, error)) {
            throw Error(ErrorCode::io,
                        std::string("no -m given and TERN_MODEL=") + env +
                            (std::filesystem::exists(env, error) ? " is not a regular file"
                                                                 : " does not exist"));
        }
        return std::filesystem::path(env).lexically_normal();
    }
    const auto exe_dir = executable_directory();
    if (!exe_dir.empty())
        candidates.push_back(exe_dir / ".." / "share" / "tern" / "models" / kDefaultModelFile);
    candidates.push_back(std::filesystem::path(TERN_INSTALL_MODELS_DIR) / kDefaultModelFile);
    candidates.push_back(std::filesystem::path(TERN_SOURCE_MODELS_DIR) / kDefaultModelFile);
    for (const auto& candidate : candidates) {
        std::error_code error;
        if (std::filesystem::is_regular_file(candidate, error)) return candidate.lexically_normal();
    }
    throw Error(ErrorCode::io,
                std::string("no -m given and the default model ") + kDefaultModelFile +
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

OutputLayerType parse_lm_head(const std::string& name) {
    if (name == "file") return OutputLayerType::file;
    if (name == "q8") return OutputLayerType::q8_0;
    if (name == "q6") return OutputLayerType::q6_k;
    if (name == "q4") return OutputLayerType::q4_k;
    if (name == "screen") return OutputLayerType::screen;
    if (name == "auto") return OutputLayerType::automatic;
    throw Error(ErrorCode::invalid_argument,
                "--lm-head must be auto, file, screen, q8, q6 or q4, got '" + name + "'");
}

OutputLayerType generation_lm_head(const std::string& name, const SamplerParams& sampling) {
    const OutputLayerType type = parse_lm_head(name);
    if (type == OutputLayerType::automatic && Sampler(sampling).logits_needed().top == 0)
        return OutputLayerType::file;
    return type;
}

std::shared_ptr<const Model> load_model(const std::filesystem::path& path, int threads,
                                        bool verbose, OutputLayerType output) {
    ModelLoadOptions options;
    options.n_threads = threads;
    options.output_type = output;
    if (verbose)
        options.log = [](const std::string& line) { std::cerr << "load: " << line << "\n"; };
    Progress progress("loading layers");
    options.progress = [&](size_t done, size_t total) { progress.update(done, total); };
    return Model::load(path, options);
}

bool stderr_is_terminal() {
    return ::isatty(STDERR_FILENO) == 1;
}

std::string read_text_file(const std::string& path) {
    std::error_code error;
    if (std::filesystem::is_directory(path, error))
        throw Error(ErrorCode::io, "cannot read " + path + ": it is a directory");
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error(
            ErrorCode::io,
            "cannot read " + path + (errno != 0 ? std::string(": ") + std::strerror(errno) : ""));
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw Error(ErrorCode::io, "cannot read " + path + ": read error");
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

void add_generation_flags(CLI::App& sub, GenerationFlags& f, bool seed_short) {
    sub.add_option("-m,--model", f.model, "GGUF model file (default: the model in models/)");
    sub.add_option("-n,--n-predict", f.n_predict,
                   "Tokens to generate (-1: until the context is full)")
        ->capture_default_str();
    sub.add_option("-t,--threads", f.threads, "Threads (0: all physical cores)")
        ->capture_default_str();
    sub.add_option("-c,--ctx-size", f.ctx, "Context size in tokens (0: the model's, at most 4096)")
        ->capture_default_str();
    sub.add_option("-b,--batch-size", f.batch, "Most prompt tokens per forward pass")
        ->capture_default_str();
    sub.add_option("--temp", f.temperature, "Temperature (0: greedy)")->capture_default_str();
    sub.add_option("--top-k", f.top_k, "Keep the k most likely tokens (0: all)")
        ->capture_default_str();
    sub.add_option("--top-p", f.top_p, "Nucleus sampling threshold in (0, 1]")
        ->capture_default_str();
    sub.add_option("--min-p", f.min_p, "Drop tokens below min-p x the top probability")
        ->capture_default_str();
    sub.add_option("--repeat-penalty", f.repeat_penalty, "Penalise recent tokens (1: off)")
        ->capture_default_str();
    sub.add_option("--repeat-last-n", f.repeat_last_n, "Recent tokens the penalties look at")
        ->capture_default_str();
    sub.add_option("--frequency-penalty", f.frequency_penalty, "Subtract count x this (0: off)")
        ->capture_default_str();
    sub.add_option("--presence-penalty", f.presence_penalty,
                   "Subtract this once per seen token (0: off)")
        ->capture_default_str();
    sub.add_option(seed_short ? "-s,--seed" : "--seed", f.seed, "Random seed (-1: random)")
        ->check(whole_number_in(-1, std::numeric_limits<int64_t>::max()))
        ->capture_default_str();
    sub.add_option("--kv", f.kv, "KV cache type: f16, q8 or f32")->capture_default_str();
    sub.add_option("--stop", f.stop,
                   "Stop when the output contains this text (repeatable; the escapes \\n, \\r, "
                   "\\t, \\\\, \\' and \\\" are read as in llama.cpp)")
        ->transform([](std::string text) { return unescape(text); }, "", "escapes");
    sub.add_option("--lm-head", f.lm_head, kLmHeadHelp)->capture_default_str();
    sub.add_flag("-v,--verbose", f.verbose, "Print model, session and loader details to stderr");
}

SamplerParams sampler_params(const GenerationFlags& f) {
    if (f.n_predict < -1) {
        throw Error(ErrorCode::invalid_argument,
                    "-n must be -1 (until the context is full) or a token count >= 0, got " +
                        std::to_string(f.n_predict));
    }
    SamplerParams p;
    p.temperature = f.temperature;
    p.top_k = f.top_k;
    p.top_p = f.top_p;
    p.min_p = f.min_p;
    p.repeat_penalty = f.repeat_penalty;
    p.penalty_last_n = f.repeat_last_n;
    p.frequency_penalty = f.frequency_penalty;
    p.presence_penalty = f.presence_penalty;
    p.seed = f.seed >= 0 ? static_cast<uint64_t>(f.seed) : std::random_device{}();
    Sampler check(p);  // validates every parameter before anything is loaded
    return p;
}

void warn_beyond_trained_context(const Model& model, int64_t ctx) {
    const int64_t trained = model.config().n_ctx_train;
    if (trained <= 0 || ctx <= trained) return;
    std::cerr << "tern: warning: -c " << ctx << " is beyond the " << trained
              << " tokens the model was trained for; text past them may degrade\n";
}

SessionOptions session_options(const GenerationFlags& f, int threads) {
    SessionOptions options;
    if (f.kv == "f16")
        options.kv_type = KvCacheType::f16;
    else if (f.kv == "f32")
        options.kv_type = KvCacheType::f32;
    else if (f.kv == "q8")
        options.kv_type = KvCacheType::q8_0;
    else
        throw Error(ErrorCode::invalid_argument, "--kv must be f16, q8 or f32, got '" + f.kv + "'");
    options.n_ctx = f.ctx;
    options.n_threads = threads;
    options.n_batch = f.batch;
    return options;
}

}  // namespace tern::cli
