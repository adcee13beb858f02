// tern run: generate text from a prompt, streaming it, then print prompt and generation speed.
#include "common.h"

#include <tern/error.h>
#include <tern/generate.h>
#include <tern/sampler.h>
#include <tern/session.h>

#include <cstdio>
#include <iostream>

namespace tern::cli {

namespace {

struct RunFlags {
    GenerationFlags gen;
    std::string prompt;
    std::string prompt_file;
    bool no_bos = false;
    bool parse_special = false;
};

int run(const RunFlags& f) {
    if (!f.prompt.empty() && !f.prompt_file.empty()) {
        throw Error(ErrorCode::invalid_argument, "give either -p or -f, not both");
    }
    const SamplerParams sampling = sampler_params(f.gen);
    const int threads = resolve_threads(f.gen.threads);
    const SessionOptions options = session_options(f.gen, threads);
    const auto path = resolve_model_path(f.gen.model);
    const std::string prompt = f.prompt_file.empty() ? f.prompt : read_text_file(f.prompt_file);
    auto model =
        load_model(path, threads, f.gen.verbose, generation_lm_head(f.gen.lm_head, sampling));
    const Tokenizer& tokenizer = model->tokenizer();
    const std::vector<Token> tokens =
        tokenizer.encode(prompt, !f.no_bos && tokenizer.add_bos_by_default(), f.parse_special);

    warn_beyond_trained_context(*model, options.n_ctx);
    Session session(model, options);
    Sampler sampler(sampling);
    if (f.gen.verbose) {
        const ModelConfig& c = model->config();
        std::cerr << "model: " << model->name() << " (" << c.architecture << ", " << c.n_layer
                  << " layers, d=" << c.n_embd << ", " << model->n_params() << " parameters)\n"
                  << "tokenizer: " << tokenizer.description() << "\n"
                  << "session: context " << session.context_size() << ", " << session.n_threads()
                  << " threads, KV cache " << f.gen.kv << " "
                  << session.kv_cache_bytes() / (1 << 20) << " MiB\n"
                  << "sampling: temp " << sampling.temperature << ", top-k " << sampling.top_k
                  << ", top-p " << sampling.top_p << ", min-p " << sampling.min_p
                  << ", repeat-penalty " << sampling.repeat_penalty << ", seed " << sampling.seed
                  << "\n"
                  << "prompt: " << tokens.size() << " tokens\n";
    }

    check_prompt_fits(session, tokens);  // before echoing: a refused prompt prints nothing
    std::fwrite(prompt.data(), 1, prompt.size(), stdout);
    std::fflush(stdout);
    GenerationParams params;
    params.max_tokens = f.gen.n_predict;
    params.stop = f.gen.stop;
    const GenerationStats stats =
        generate(session, sampler, tokens, params, [](Token, std::string_view text) {
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
    std::fprintf(
        stderr,
        "prompt: %lld tokens in %.3f s (%.1f tokens/s) | generation: %lld tokens in %.3f s "
        "(%.1f tokens/s)\n",
        static_cast<long long>(stats.n_prompt), stats.prompt_seconds,
        rate(stats.n_prompt, stats.prompt_seconds), static_cast<long long>(stats.n_generated),
        stats.generate_seconds, rate(stats.n_generated, stats.generate_seconds));
    if (f.gen.verbose && stats.screened_evals > 0) {
        std::fprintf(
            stderr, "output layer screen: %.1f of %lld rows computed per token\n",
            static_cast<double>(stats.screened_rows) / static_cast<double>(stats.screened_evals),
            static_cast<long long>(model->config().n_vocab));
    }
    return 0;
}

}  // namespace

Command add_run_command(CLI::App& app) {
    auto flags = std::make_shared<RunFlags>();
    CLI::App* sub = app.add_subcommand("run", "Generate text from a prompt");
    sub->add_option("-p,--prompt", flags->prompt, "Prompt text");
    sub->add_option("-f,--file", flags->prompt_file, "Read the prompt from a file");
    add_generation_flags(*sub, flags->gen, true);
    sub->add_flag("--no-bos", flags->no_bos, "Do not start the prompt with the BOS token");
    sub->add_flag("--parse-special", flags->parse_special,
                  "Treat special-token texts in the prompt as those tokens");
    sub->footer(
        "Examples:\n"
        "  tern run -p \"Once upon a time\"\n"
        "  tern run -m model.gguf -p \"The capital of France is\" -n 32 --temp 0\n"
        "  tern run -m model.gguf -f prompt.txt -t 2 --seed 42 --stop \"\\n\\n\"");
    return {sub, [flags] { return run(*flags); }};
}

}  // namespace tern::cli
