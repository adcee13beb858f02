// tern run: generate text from a prompt, streaming it, then print prompt and generation speed.
#include "common.h"

#include <tern/error.h>
#include <tern/generate.h>
#include <tern/sampler.h>
#include <tern/session.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

namespace tern::cli {

namespace {

struct RunFlags {
    std::string model;
    std::string prompt;
    std::string prompt_file;
    int64_t n_predict = 128;
    int threads = 0;
    int64_t ctx = 0;
    int64_t batch = 512;
    float temperature = 0.8f;
    int top_k = 40;
    float top_p = 0.95f;
    int64_t seed = -1;
    std::string kv = "f16";
    bool no_bos = false;
    bool verbose = false;
};

int run(const RunFlags& f) {
    if (f.n_predict < -1) {
        throw Error(ErrorCode::invalid_argument,
                    "-n must be -1 (until the context is full) or a token count >= 0, got " +
                        std::to_string(f.n_predict));
    }
    if (!f.prompt.empty() && !f.prompt_file.empty()) {
        throw Error(ErrorCode::invalid_argument, "give either -p or -f, not both");
    }
    KvCacheType kv;
    if (f.kv == "f16") kv = KvCacheType::f16;
    else if (f.kv == "f32") kv = KvCacheType::f32;
    else throw Error(ErrorCode::invalid_argument, "--kv must be f16 or f32, got '" + f.kv + "'");

    SamplerParams sampling;
    sampling.temperature = f.temperature;
    sampling.top_k = f.top_k;
    sampling.top_p = f.top_p;
    sampling.seed = f.seed >= 0 ? static_cast<uint64_t>(f.seed) : std::random_device{}();
    Sampler sampler(sampling);  // validates the sampling flags before the model loads

    const int threads = resolve_threads(f.threads);
    const auto path = resolve_model_path(f.model);
    const std::string prompt = f.prompt_file.empty() ? f.prompt : read_text_file(f.prompt_file);
    auto model = load_model(path, threads, f.verbose);
    const Tokenizer& tokenizer = model->tokenizer();
    const std::vector<Token> tokens = tokenizer.encode(prompt, !f.no_bos && tokenizer.add_bos_by_default());

    SessionOptions options;
    options.n_ctx = f.ctx;
    options.n_threads = threads;
    options.n_batch = f.batch;
    options.kv_type = kv;
    Session session(model, options);
    if (f.verbose) {
        const ModelConfig& c = model->config();
        std::cerr << "model: " << model->name() << " (" << c.architecture << ", " << c.n_layer
                  << " layers, d=" << c.n_embd << ", " << model->n_params() << " parameters)\n"
                  << "session: context " << session.context_size() << ", " << session.n_threads()
                  << " threads, kv " << f.kv << "\n"
                  << "sampling: temp " << sampling.temperature << ", top-k " << sampling.top_k
                  << ", top-p " << sampling.top_p << ", seed " << sampling.seed << "\n"
                  << "prompt: " << tokens.size() << " tokens\n";
    }

    std::fwrite(prompt.data(), 1, prompt.size(), stdout);
    std::fflush(stdout);
    GenerationParams params;
    params.max_tokens = f.n_predict;
    const GenerationStats stats = generate(session, sampler, tokens, params, [](Token, std::string_view text) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
        return true;
    });
    std::fputc('\n', stdout);
    std::fflush(stdout);
    if (stats.stop == StopReason::context_full) {
        std::cerr << "tern: the context (" << session.context_size()
                  << " tokens) is full; stopped. Use -c to raise it.\n";
    }
    auto rate = [](int64_t n, double s) { return s > 0 ? static_cast<double>(n) / s : 0.0; };
    std::fprintf(stderr,
                 "prompt: %lld tokens in %.3f s (%.1f tokens/s) | generation: %lld tokens in %.3f s "
                 "(%.1f tokens/s)\n",
                 static_cast<long long>(stats.n_prompt), stats.prompt_seconds,
                 rate(stats.n_prompt, stats.prompt_seconds), static_cast<long long>(stats.n_generated),
                 stats.generate_seconds, rate(stats.n_generated, stats.generate_seconds));
    return 0;
}

}  // namespace

Command add_run_command(CLI::App& app) {
    auto flags = std::make_shared<RunFlags>();
    CLI::App* sub = app.add_subcommand("run", "Generate text from a prompt");
    sub->add_option("-m,--model", flags->model, "GGUF model file (default: the model in models/)");
    sub->add_option("-p,--prompt", flags->prompt, "Prompt text");
    sub->add_option("-f,--file", flags->prompt_file, "Read the prompt from a file");
    sub->add_option("-n,--n-predict", flags->n_predict, "Tokens to generate (-1: until the context is full)")
        ->capture_default_str();
    sub->add_option("-t,--threads", flags->threads, "Threads (0: all physical cores)")->capture_default_str();
    sub->add_option("-c,--ctx-size", flags->ctx, "Context size in tokens (0: the model's, at most 4096)")
        ->capture_default_str();
    sub->add_option("-b,--batch-size", flags->batch, "Most prompt tokens per forward pass")->capture_default_str();
    sub->add_option("--temp", flags->temperature, "Temperature (0: greedy)")->capture_default_str();
    sub->add_option("--top-k", flags->top_k, "Keep the k most likely tokens (0: all)")->capture_default_str();
    sub->add_option("--top-p", flags->top_p, "Nucleus sampling threshold in (0, 1]")->capture_default_str();
    sub->add_option("-s,--seed", flags->seed, "Random seed (-1: random)")->capture_default_str();
    sub->add_option("--kv", flags->kv, "KV cache type: f16 or f32")->capture_default_str();
    sub->add_flag("--no-bos", flags->no_bos, "Do not start the prompt with the BOS token");
    sub->add_flag("-v,--verbose", flags->verbose, "Print model, session and loader details to stderr");
    sub->footer(
        "Examples:\n"
        "  tern run -p \"Once upon a time\"\n"
        "  tern run -m model.gguf -p \"The capital of France is\" -n 32 --temp 0\n"
        "  tern run -m model.gguf -f prompt.txt -t 2 --seed 42");
    return {sub, [flags] { return run(*flags); }};
}

}  // namespace tern::cli
