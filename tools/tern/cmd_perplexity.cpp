// tern perplexity: chunked perplexity of a text file, scored like llama-perplexity (each chunk
// starts a fresh context; the second half of each chunk's predictions count).
#include "common.h"

#include <tern/error.h>
#include <tern/session.h>

#include <cmath>
#include <cstdio>
#include <iostream>

namespace tern::cli {

namespace {

struct PerplexityFlags {
    std::string model;
    std::string file;
    int64_t ctx = 512;
    int64_t batch = 64;
    int64_t chunks = -1;
    int threads = 0;
    std::string kv = "f16";
    std::string lm_head = "file";
};

int perplexity(const PerplexityFlags& f) {
    if (f.ctx < 8)
        throw Error(ErrorCode::invalid_argument,
                    "-c must be at least 8 tokens, got " + std::to_string(f.ctx));
    if (f.batch < 1) throw Error(ErrorCode::invalid_argument, "-b must be at least 1");
    if (f.chunks == 0 || f.chunks < -1) {
        throw Error(
            ErrorCode::invalid_argument,
            "--chunks must be -1 (all) or a positive count, got " + std::to_string(f.chunks));
    }
    const int threads = resolve_threads(f.threads);
    const std::string text = read_text_file(f.file);
    auto model = load_model(resolve_model_path(f.model), threads, false, parse_lm_head(f.lm_head));
    const Tokenizer& tokenizer = model->tokenizer();
    const std::vector<Token> tokens = tokenizer.encode(text, false);
    const int64_t available = static_cast<int64_t>(tokens.size()) / f.ctx;
    const int64_t n_chunks = f.chunks > 0 ? std::min(f.chunks, available) : available;
    if (n_chunks < 1) {
        throw Error(ErrorCode::invalid_argument, f.file + " has " + std::to_string(tokens.size()) +
                                                     " tokens, fewer than one chunk of " +
                                                     std::to_string(f.ctx) + " (lower -c)");
    }
    GenerationFlags gen;
    gen.kv = f.kv;
    gen.ctx = f.ctx;
    gen.batch = f.batch;
    Session session(model, session_options(gen, threads));
    const int64_t n_vocab = model->config().n_vocab;
    const bool bos = tokenizer.add_bos_by_default() && tokenizer.bos() >= 0;
    std::fprintf(stderr,
                 "perplexity: %zu tokens, %lld chunks of %lld, scoring the second half of each\n",
                 tokens.size(), static_cast<long long>(n_chunks), static_cast<long long>(f.ctx));

    Progress progress("chunks");
    std::vector<float> logits(static_cast<size_t>(f.batch * n_vocab));
    double nll = 0, nll2 = 0;
    int64_t count = 0;
    const int64_t first = f.ctx / 2;
    for (int64_t c = 0; c < n_chunks; ++c) {
        std::vector<Token> chunk(tokens.begin() + c * f.ctx, tokens.begin() + (c + 1) * f.ctx);
        if (bos) chunk[0] = tokenizer.bos();
        session.reset();
        for (int64_t start = 0; start < f.ctx; start += f.batch) {
            const int64_t n = std::min(f.batch, f.ctx - start);
            const std::span<const Token> part(chunk.data() + start, static_cast<size_t>(n));
            session.eval_all(part,
                             std::span<float>(logits.data(), static_cast<size_t>(n * n_vocab)));
            for (int64_t j = 0; j < n; ++j) {
                const int64_t pos = start + j;
                if (pos < first || pos + 1 >= f.ctx) continue;
                const float* row = logits.data() + j * n_vocab;
                double max = row[0];
                for (int64_t v = 1; v < n_vocab; ++v)
                    max = std::max(max, static_cast<double>(row[v]));
                double sum = 0;
                for (int64_t v = 0; v < n_vocab; ++v)
                    sum += std::exp(static_cast<double>(row[v]) - max);
                const double loss = std::log(sum) + max - row[chunk[static_cast<size_t>(pos + 1)]];
                if (std::isnan(loss)) {
                    throw Error(ErrorCode::model,
                                "the model computed NaN logits at position " + std::to_string(pos) +
                                    " of chunk " + std::to_string(c + 1) +
                                    " (its weights or norms may hold NaN or infinite values)");
                }
                nll += loss;
                nll2 += loss * loss;
                ++count;
            }
        }
        progress.update(static_cast<size_t>(c + 1), static_cast<size_t>(n_chunks));
        std::printf("[%lld]%.4f,", static_cast<long long>(c + 1),
                    std::exp(nll / static_cast<double>(count)));
        std::fflush(stdout);
    }
    const double mean = nll / static_cast<double>(count);
    const double ppl = std::exp(mean);
    const double variance = count > 1 ? (nll2 / static_cast<double>(count) - mean * mean) /
                                            static_cast<double>(count - 1)
                                      : 0;
    std::printf("\nFinal estimate: PPL = %.4f +/- %.4f (%lld tokens scored)\n", ppl,
                ppl * std::sqrt(std::max(0.0, variance)), static_cast<long long>(count));
    return 0;
}

}  // namespace

Command add_perplexity_command(CLI::App& app) {
    auto flags = std::make_shared<PerplexityFlags>();
    CLI::App* sub = app.add_subcommand("perplexity", "Perplexity of a model on a text file");
    sub->add_option("-m,--model", flags->model, "GGUF model file (default: the model in models/)");
    sub->add_option("-f,--file", flags->file, "Text file")->required();
    sub->add_option("-c,--ctx-size", flags->ctx, "Tokens per chunk")->capture_default_str();
    sub->add_option("-b,--batch-size", flags->batch, "Tokens per forward pass")
        ->capture_default_str();
    sub->add_option("--chunks", flags->chunks, "Score at most this many chunks (-1: all)")
        ->capture_default_str();
    sub->add_option("-t,--threads", flags->threads, "Threads (0: all physical cores)")
        ->capture_default_str();
    sub->add_option("--kv", flags->kv, "KV cache type: f16, q8 or f32")->capture_default_str();
    sub->add_option("--lm-head", flags->lm_head, kLmHeadHelp)->capture_default_str();
    sub->footer("Example:\n  tern perplexity -m model.gguf -f valid.txt -c 512");
    return {sub, [flags] { return perplexity(*flags); }};
}

}  // namespace tern::cli
