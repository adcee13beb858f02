// tern bench: prompt-processing and generation throughput like llama-bench, with the memory
// read bandwidth probed before each generation run so its speed is also a share of the roof.
#include "common.h"

#include <tern/error.h>
#include <tern/files.h>
#include <tern/sampler.h>
#include <tern/session.h>
#include <tern/system.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <random>
#include <sstream>

namespace tern::cli {

namespace {

struct BenchFlags {
    std::string model;
    std::vector<int64_t> n_prompt = {128};
    std::vector<int64_t> n_gen = {128};
    std::vector<int64_t> n_depth = {0};
    std::vector<int> threads;
    int64_t batch = 128;
    int repetitions = 5;
    std::string output = "md";
    std::string save;
    bool save_given = false;
    std::string kv = "f16";
    std::string lm_head = "file";
    bool no_bandwidth = false;
};

struct Record {
    int threads;
    int64_t n_prompt, n_gen, n_depth;
    std::vector<double> samples_ts;
    double avg_ts = 0, stddev_ts = 0;
    // Generation only, per repetition: the memory read bandwidth probed just before it (GB/s)
    // and the bytes it read (weights and KV cache) per second as a share of that probe.
    std::vector<double> bandwidth_samples, roof_samples;
    double weight_gbps = 0, roof_percent = 0, bandwidth_gbps = 0;  // medians of the above
    // With a screened output layer: the rows a step computed from the file's layer, per
    // repetition (its average over the steps), and their median.
    std::vector<double> screened_rows_samples;
    double screened_rows = 0;
    // The session's parallel calls (warm-up and repetitions) and those the pool ran on fewer
    // threads because some kept being preempted (ThreadFallbacks).
    int64_t parallel_calls = 0, reduced_calls = 0;
};

// The test as llama-bench names it: "pp128", "tg32", "tg32 @ d4000".
std::string test_name(const Record& r) {
    std::string test =
        r.n_gen > 0 ? "tg" + std::to_string(r.n_gen) : "pp" + std::to_string(r.n_prompt);
    if (r.n_depth > 0) test += " @ d" + std::to_string(r.n_depth);
    return test;
}

double median(std::vector<double> values) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const size_t mid = values.size() / 2;
    return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

void summarise(Record& r) {
    double sum = 0;
    for (double v : r.samples_ts) sum += v;
    r.avg_ts = sum / static_cast<double>(r.samples_ts.size());
    double var = 0;
    for (double v : r.samples_ts) var += (v - r.avg_ts) * (v - r.avg_ts);
    r.stddev_ts = r.samples_ts.size() > 1
                      ? std::sqrt(var / static_cast<double>(r.samples_ts.size() - 1))
                      : 0.0;
}

// What a timed run took.
struct RunTime {
    double seconds = 0;
    double screened_rows = 0;  // output rows computed exactly per screened step, on average
};

// Times processing `tokens` in prompt batches (pp) or one at a time (tg) after the session's
// first `depth` tokens, each step's logits as `needed` asks. The session must hold at least
// `depth` tokens (the test's depth, evaluated once, not timed); what a run appends after them is
// dropped first, so every run starts from the same filled cache without recomputing it, which at
// a depth of 4000 took minutes a run. `just_before` runs right before the clock starts.
RunTime time_run(Session& session, int64_t depth, const std::vector<Token>& tokens,
                 bool one_at_a_time, const LogitsNeeded& needed,
                 const std::function<void()>& just_before = {}) {
    session.truncate(depth);
    if (just_before) just_before();
    int64_t screened_rows = 0, screened_steps = 0;
    const auto count_screened = [&] {
        if (session.screened_rows() == 0) return;
        screened_rows += session.screened_rows();
        ++screened_steps;
    };
    const auto start = std::chrono::steady_clock::now();
    if (one_at_a_time) {
        for (Token t : tokens) {
            const Token one[] = {t};
            session.eval(one, needed);
            count_screened();
        }
    } else {
        session.eval(tokens, needed);
        count_screened();
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return {seconds, screened_steps
                         ? static_cast<double>(screened_rows) / static_cast<double>(screened_steps)
                         : 0.0};
}

std::string human_size(uint64_t bytes) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.2f GiB",
                  static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
    if (bytes < (uint64_t{1} << 30))
        std::snprintf(buffer, sizeof buffer, "%.2f MiB",
                      static_cast<double>(bytes) / (1024.0 * 1024.0));
    return buffer;
}

std::string human_params(uint64_t n) {
    char buffer[32];
    if (n >= 1000000000)
        std::snprintf(buffer, sizeof buffer, "%.2f B", static_cast<double>(n) / 1e9);
    else
        std::snprintf(buffer, sizeof buffer, "%.2f M", static_cast<double>(n) / 1e6);
    return buffer;
}

int bench(const BenchFlags& f) {
    if (f.output != "md" && f.output != "json" && f.output != "csv") {
        throw Error(ErrorCode::invalid_argument,
                    "-o must be md, json or csv, got '" + f.output + "'");
    }
    if (f.repetitions < 1) throw Error(ErrorCode::invalid_argument, "-r must be at least 1");
    if (f.batch < 1) throw Error(ErrorCode::invalid_argument, "-b must be at least 1");
    for (int64_t n : f.n_prompt) {
        if (n < 0) throw Error(ErrorCode::invalid_argument, "-p values must be >= 0");
    }
    for (int64_t n : f.n_gen) {
        if (n < 0) throw Error(ErrorCode::invalid_argument, "-n values must be >= 0");
    }
    for (int64_t n : f.n_depth) {
        if (n < 0) throw Error(ErrorCode::invalid_argument, "-d values must be >= 0");
    }
    const auto positive = [](int64_t n) { return n > 0; };
    if (std::none_of(f.n_prompt.begin(), f.n_prompt.end(), positive) &&
        std::none_of(f.n_gen.begin(), f.n_gen.end(), positive)) {
        throw Error(ErrorCode::invalid_argument,
                    "nothing to measure: every -p and -n value is 0 (give a prompt length with -p "
                    "or a generation length with -n)");
    }
    if (f.save_given && f.save.empty())
        throw Error(ErrorCode::invalid_argument, "--save needs a file name, got ''");
    std::vector<int> thread_counts;
    for (int t : f.threads.empty() ? std::vector<int>{physical_cores()} : f.threads) {
        if (t < 1)
            throw Error(ErrorCode::invalid_argument,
                        "-t values must be >= 1, got " + std::to_string(t));
        thread_counts.push_back(resolve_threads(t));
    }
    GenerationFlags gen;
    gen.kv = f.kv;
    const auto path = resolve_model_path(f.model);
    auto model = load_model(path, thread_counts.front(), false, parse_lm_head(f.lm_head));
    Progress progress("repetitions");
    const int64_t n_vocab = model->config().n_vocab;
    // A screened output layer computes the logits the default sampler reads (the 40 highest).
    const LogitsNeeded needed = Sampler(SamplerParams{}).logits_needed();
    std::mt19937 rng(1234);
    std::uniform_int_distribution<Token> pick(0, static_cast<Token>(n_vocab - 1));

    if (f.output == "md") {
        std::fprintf(stderr, "cpu: %s, %d physical cores, kernel set %s\n", cpu_name().c_str(),
                     physical_cores(), kernel_set_name().c_str());
    }
    std::vector<Record> records;
    const bool any_tg = std::any_of(f.n_gen.begin(), f.n_gen.end(), positive);
    for (int threads : thread_counts) {
        // One probe per thread count, its buffer and threads kept for every measurement.
        std::unique_ptr<ReadBandwidthProbe> probe;
        if (any_tg && !f.no_bandwidth) probe = std::make_unique<ReadBandwidthProbe>(threads);
        for (int64_t depth : f.n_depth) {
            for (int64_t np : f.n_prompt) {
                if (np > 0) records.push_back({threads, np, 0, depth, {}});
            }
            for (int64_t ng : f.n_gen) {
                if (ng > 0) records.push_back({threads, 0, ng, depth, {}});
            }
        }
        for (Record& r : records) {
            if (r.threads != threads || !r.samples_ts.empty()) continue;
            const int64_t n = r.n_prompt + r.n_gen;
            gen.ctx = std::max<int64_t>(r.n_depth + n, 16);
            gen.batch = f.batch;  // pp: a prompt longer than this runs in several passes
            Session session(model, session_options(gen, threads));
            std::vector<Token> depth(static_cast<size_t>(r.n_depth)),
                tokens(static_cast<size_t>(n));
            for (Token& t : depth) t = pick(rng);
            for (Token& t : tokens) t = pick(rng);
            const bool tg = r.n_gen > 0;
            // The cache holds every layer's keys and values for gen.ctx positions; token i
            // reads them at depth + i + 1 positions, on average depth + (n + 1) / 2.
            const double kv_bytes_per_position =
                static_cast<double>(session.kv_cache_bytes()) / static_cast<double>(gen.ctx);
            const double positions =
                static_cast<double>(r.n_depth) + static_cast<double>(n + 1) / 2.0;
            const double kv_bytes_per_token = positions * kv_bytes_per_position;
            const bool probed = tg && probe;
            std::vector<double> read_gbps;
            if (!depth.empty()) session.eval(depth);
            time_run(session, r.n_depth, tokens, tg, needed);  // warm-up, not counted
            for (int rep = 0; rep < f.repetitions; ++rep) {
                progress.update(static_cast<size_t>(rep), static_cast<size_t>(f.repetitions));
                // Probed right before each timed run (after its depth), so a shared machine that
                // changes pace between runs changes both sides of the ratio alike.
                const RunTime run = time_run(session, r.n_depth, tokens, tg, needed, [&] {
                    if (probed) r.bandwidth_samples.push_back(probe->measure());
                });
                const double ts = static_cast<double>(n) / run.seconds;
                r.samples_ts.push_back(ts);
                const double bytes_per_generated_token =
                    static_cast<double>(model->bytes_read_per_token(run.screened_rows)) +
                    kv_bytes_per_token;
                read_gbps.push_back(ts * bytes_per_generated_token / 1e9);
                if (run.screened_rows > 0) r.screened_rows_samples.push_back(run.screened_rows);
                if (probed)
                    r.roof_samples.push_back(100.0 * read_gbps.back() / r.bandwidth_samples.back());
            }
            summarise(r);
            const ThreadFallbacks fb = session.thread_fallbacks();
            r.parallel_calls = fb.calls;
            r.reduced_calls = fb.reduced_calls;
            if (fb.reduced_calls > 0) {
                std::fprintf(stderr,
                             "note: %d threads, %s: %lld of %lld parallel calls ran on fewer "
                             "threads, because some kept being preempted (another process busy "
                             "on the cores)\n",
                             threads, test_name(r).c_str(),
                             static_cast<long long>(fb.reduced_calls),
                             static_cast<long long>(fb.calls));
            }
            if (tg) {
                r.weight_gbps = median(read_gbps);
                r.screened_rows = median(r.screened_rows_samples);
                r.roof_percent = median(r.roof_samples);
                r.bandwidth_gbps = median(r.bandwidth_samples);
                if (probed && f.output == "md") {
                    std::fprintf(stderr,
                                 "memory read bandwidth with %d thread%s: %.1f GB/s (median of %d "
                                 "probes, one right before each run of %s)\n",
                                 threads, threads > 1 ? "s" : "", r.bandwidth_gbps, f.repetitions,
                                 test_name(r).c_str());
                }
            }
        }
    }

    const std::string model_name = std::filesystem::path(path).filename().string();
    const std::string model_type =
        model->config().architecture + " " + human_params(model->n_params());
    // The kernels, and the output layer when it is requantized or screened at load (--lm-head),
    // so a table says which mode produced it (a screened one computes the exact top-40 logits).
    // --lm-head auto is named by what it resolved to.
    const std::string lm_head =
        f.lm_head == "auto" ? (model->output_screened() ? "screen" : "file") : f.lm_head;
    const std::string backend =
        model->kernel_summary() + (lm_head == "file" ? "" : ", lm-head " + lm_head) +
        (model->output_screened() ? " (exact top-" + std::to_string(needed.top) + ")" : "");
    std::ostringstream out;
    if (f.output == "md") {
        out << "| model | size | params | backend | threads | test | t/s | read GB/s (% of roof) "
               "|\n"
            << "| --- | ---: | ---: | --- | ---: | --- | ---: | ---: |\n";
        for (const Record& r : records) {
            char line[512];
            char roof[64] = "";
            if (r.n_gen > 0 && r.bandwidth_gbps > 0)
                std::snprintf(roof, sizeof roof, "%.1f (%.0f %%)", r.weight_gbps, r.roof_percent);
            else if (r.n_gen > 0)  // --no-bandwidth: no roof to compare with
                std::snprintf(roof, sizeof roof, "%.1f", r.weight_gbps);
            std::snprintf(line, sizeof line, "| %s | %s | %s | %s | %d | %s | %.2f ± %.2f | %s |\n",
                          model_type.c_str(), human_size(model->weight_bytes()).c_str(),
                          human_params(model->n_params()).c_str(), backend.c_str(), r.threads,
                          test_name(r).c_str(), r.avg_ts, r.stddev_ts, roof);
            out << line;
        }
    } else if (f.output == "json") {
        nlohmann::ordered_json list = nlohmann::ordered_json::array();
        for (const Record& r : records) {
            list.push_back({{"model_filename", model_name},
                            {"model_type", model_type},
                            {"model_size", model->weight_bytes()},
                            {"model_n_params", model->n_params()},
                            {"cpu_info", cpu_name()},
                            {"backends", backend},
                            {"lm_head", lm_head},
                            {"n_threads", r.threads},
                            {"n_batch", f.batch},
                            {"type_k", f.kv},
                            {"type_v", f.kv},
                            {"n_prompt", r.n_prompt},
                            {"n_gen", r.n_gen},
                            {"n_depth", r.n_depth},
                            {"avg_ts", r.avg_ts},
                            {"stddev_ts", r.stddev_ts},
                            {"samples_ts", r.samples_ts},
                            {"weight_gbps", r.weight_gbps},
                            {"bandwidth_gbps", r.bandwidth_gbps},
                            {"bandwidth_samples", r.bandwidth_samples},
                            {"roof_percent", r.roof_percent},
                            {"roof_samples", r.roof_samples},
                            {"screened_rows", r.screened_rows},
                            {"parallel_calls", r.parallel_calls},
                            {"reduced_calls", r.reduced_calls}});
        }
        out << list.dump(2) << "\n";
    } else {
        out << "model_filename,model_type,model_size,model_n_params,backends,n_threads,n_prompt,n_"
               "gen,n_depth,avg_ts,"
               "stddev_ts,"
               "weight_gbps,roof_percent,bandwidth_gbps\n";
        for (const Record& r : records) {
            out << model_name << ",\"" << model_type << "\"," << model->weight_bytes() << ","
                << model->n_params() << ",\"" << backend << "\"," << r.threads << "," << r.n_prompt
                << "," << r.n_gen << "," << r.n_depth << "," << r.avg_ts << "," << r.stddev_ts
                << "," << r.weight_gbps << "," << r.roof_percent << "," << r.bandwidth_gbps << "\n";
        }
    }
    if (!f.save.empty()) write_file_atomically(f.save, out.str());
    std::cout << out.str();
    return 0;
}

}  // namespace

Command add_bench_command(CLI::App& app) {
    auto flags = std::make_shared<BenchFlags>();
    CLI::App* sub =
        app.add_subcommand("bench", "Measure prompt processing (pp) and generation (tg) speed");
    sub->add_option("-m,--model", flags->model, "GGUF model file (default: the model in models/)");
    sub->add_option("-p,--n-prompt", flags->n_prompt, "Prompt lengths, comma-separated (0: skip)")
        ->delimiter(',')
        ->capture_default_str();
    sub->add_option("-n,--n-gen", flags->n_gen, "Generation lengths, comma-separated (0: skip)")
        ->delimiter(',')
        ->capture_default_str();
    sub->add_option("-d,--n-depth", flags->n_depth,
                    "Tokens already in the context before each test, comma-separated (not timed)")
        ->delimiter(',')
        ->capture_default_str();
    sub->add_option("-t,--threads", flags->threads,
                    "Thread counts, comma-separated (default: physical cores)")
        ->delimiter(',');
    sub->add_option("-b,--batch-size", flags->batch,
                    "Most prompt tokens per forward pass, as in tern run")
        ->capture_default_str();
    sub->add_option("-r,--repetitions", flags->repetitions,
                    "Timed runs per test (after one warm-up run)")
        ->capture_default_str();
    sub->add_option("-o,--output", flags->output, "md, json (llama-bench field names) or csv")
        ->capture_default_str();
    sub->add_option("--save", flags->save, "Also write the output to this file (atomically)")
        ->each([flags](const std::string&) { flags->save_given = true; });
    sub->add_option("--kv", flags->kv, "KV cache type: f16, q8 or f32")->capture_default_str();
    sub->add_option("--lm-head", flags->lm_head, kLmHeadHelp)->capture_default_str();
    sub->add_flag("--no-bandwidth", flags->no_bandwidth, "Skip the memory bandwidth probe");
    sub->footer(
        "Examples:\n"
        "  tern bench -m model.gguf -p 128 -n 128 -t 1,2 -r 5\n"
        "  tern bench -m model.gguf -p 0 -n 64 -d 0,4000   (generation speed at a filled context)\n"
        "  tern bench -m model.gguf -o json --save results.json");
    return {sub, [flags] { return bench(*flags); }};
}

}  // namespace tern::cli
