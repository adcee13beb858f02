// Helpers shared by the tern subcommands: finding the default model, progress lines, flags.
#pragma once

#include <tern/model.h>
#include <tern/sampler.h>
#include <tern/session.h>

#include <CLI/CLI.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace tern::cli {

// The model file `tern run` and `tern chat` use without -m: the story model trained by
// tools/train (shipped in models/, model card models/tinystories-bitnet.md).
inline constexpr const char* kDefaultModelFile = "tinystories-bitnet.gguf";

// Resolves -m: the given path, or the default model found beside the install prefix, in the
// source tree's models/ directory, or at $TERN_MODEL. Throws Error(io) if none exists.
std::filesystem::path resolve_model_path(const std::string& flag);

// Threads for -t: 0 means the physical core count; more than the CPU has are clamped (with a
// warning), negative is an error.
int resolve_threads(int requested);

// --lm-head: "file" (the file's output layer, lossless), "screen" (the file's layer, lossless,
// computed only for the rows a top-k or greedy sampler can pick, found with a Q8_0 copy),
// "auto" (screen where the layer can be screened, otherwise file), or "q8" / "q6" / "q4"
// (requantized at load to Q8_0 / Q6_K / Q4_K and multiplied with int8 activations: fewer bytes
// per token).
OutputLayerType parse_lm_head(const std::string& name);
inline constexpr const char* kLmHeadHelp =
    "Output layer: file (lossless), screen (lossless for top-k / greedy sampling, a Q8_0 copy "
    "picks the rows to compute: faster), auto (screen where it can, else file), or q8, q6, q4 "
    "(Q8_0 / Q6_K / Q4_K at load: faster, approximate)";
// run and chat's output layer: --lm-head, with auto meaning file when the sampler reads every
// logit (--top-k 0 at a temperature above 0), where a screen would never be used.
OutputLayerType generation_lm_head(const std::string& name, const SamplerParams& sampling);

// Loads a model, printing loader details to stderr when verbose.
std::shared_ptr<const Model> load_model(const std::filesystem::path& path, int threads,
                                        bool verbose,
                                        OutputLayerType output = OutputLayerType::file);

bool stderr_is_terminal();

// The whole content of a text file; Error(io) naming the path if it cannot be read.
std::string read_text_file(const std::string& path);

// A one-line progress display on stderr ("\r" updated), silent when stderr is not a terminal.
class Progress {
public:
    explicit Progress(std::string label);
    ~Progress();
    void update(size_t done, size_t total);

private:
    std::string label_;
    bool enabled_;
    bool drawn_ = false;
};

// A validator for whole-number flags: the text must be a decimal integer in [min, max]. CLI11
// alone saturates an out-of-range value (--seed 99999999999999999999999 ran with seed 2^63-1).
CLI::Validator whole_number_in(int64_t min, int64_t max);

// Sampling and session flags shared by run and chat.
struct GenerationFlags {
    std::string model;
    int64_t n_predict = 128;
    int threads = 0;
    int64_t ctx = 0;
    int64_t batch = 128;
    float temperature = 0.8f;
    int top_k = 40;
    float top_p = 0.95f;
    float min_p = 0.05f;
    float repeat_penalty = 1.0f;
    int repeat_last_n = 64;
    float frequency_penalty = 0.0f;
    float presence_penalty = 0.0f;
    int64_t seed = -1;
    std::string kv = "f16";
    std::vector<std::string> stop;
    std::string lm_head = "auto";
    bool verbose = false;
};
// `seed_short`: whether -s means --seed (run) or is left free (chat uses -s for --system).
void add_generation_flags(CLI::App& app, GenerationFlags& flags, bool seed_short);
// Validated sampler parameters (a random seed when -1).
SamplerParams sampler_params(const GenerationFlags& flags);
SessionOptions session_options(const GenerationFlags& flags, int threads);
// A warning on stderr when -c asks for more positions than the model was trained for (as
// llama.cpp warns): allowed, but text past the trained length may degrade.
void warn_beyond_trained_context(const Model& model, int64_t ctx);

// A registered subcommand: its CLI11 node and what to run when it was chosen.
struct Command {
    CLI::App* app;
    std::function<int()> run;
};

Command add_run_command(CLI::App& app);
Command add_inspect_command(CLI::App& app);
Command add_dummy_command(CLI::App& app);
Command add_tokenize_command(CLI::App& app);
Command add_chat_command(CLI::App& app);
Command add_bench_command(CLI::App& app);
Command add_perplexity_command(CLI::App& app);

}  // namespace tern::cli
