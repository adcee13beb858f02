// tern dummy: write a random-weight model of any architecture, shape and ternary file type.
#include "common.h"

#include <tern/dummy.h>
#include <tern/error.h>

#include <chrono>
#include <iostream>
#include <limits>
#include <optional>

namespace tern::cli {

namespace {

struct DummyFlags {
    std::string arch;
    std::string preset;
    std::string type = "i2_s";
    std::string output;
    std::string vocab;
    std::optional<int64_t> vocab_size, embd, layers, heads, kv_heads, ff, ctx;
    std::optional<float> rope_base;
    int64_t seed = 1;
    bool separate_output = false;
};

TensorType parse_type(const std::string& name) {
    if (name == "i2_s") return TensorType::i2_s;
    if (name == "tq2_0") return TensorType::tq2_0;
    if (name == "tq1_0") return TensorType::tq1_0;
    if (name == "f16") return TensorType::f16;
    if (name == "f32") return TensorType::f32;
    throw Error(ErrorCode::invalid_argument,
                "--type must be i2_s, tq2_0, tq1_0, f16 or f32, got '" + name + "'");
}

Architecture parse_arch(const std::string& name) {
    if (name == "llama") return Architecture::llama;
    if (name == "bitnet") return Architecture::bitnet;
    if (name == "bitnet-b1.58" || name == "bitnet-25") return Architecture::bitnet_b158;
    throw Error(ErrorCode::invalid_argument,
                "--arch must be llama, bitnet or bitnet-b1.58, got '" + name + "'");
}

int dummy(const DummyFlags& f) {
    DummyModelSpec spec = f.preset.empty() ? DummyModelSpec{} : dummy_preset(f.preset);
    if (!f.arch.empty()) spec.arch = parse_arch(f.arch);
    spec.weight_type = parse_type(f.type);
    if (f.vocab_size && *f.vocab_size <= 0) {
        throw Error(ErrorCode::invalid_argument,
                    "--vocab-size must be positive, got " + std::to_string(*f.vocab_size));
    }
    if (f.vocab_size && !f.vocab.empty()) {
        throw Error(ErrorCode::invalid_argument,
                    "--vocab-size and --vocab cannot both be given (the vocabulary file sets the "
                    "size)");
    }
    if (f.vocab_size) spec.n_vocab = *f.vocab_size;
    if (f.embd) spec.n_embd = *f.embd;
    if (f.layers) spec.n_layer = *f.layers;
    if (f.heads) spec.n_head = *f.heads;
    if (f.kv_heads) spec.n_head_kv = *f.kv_heads;
    if (f.ff) spec.n_ff = *f.ff;
    if (f.ctx) spec.n_ctx = *f.ctx;
    if (f.rope_base) spec.rope_freq_base = *f.rope_base;
    if (f.seed < 0) throw Error(ErrorCode::invalid_argument, "--seed must be >= 0");
    spec.seed = static_cast<uint64_t>(f.seed);
    spec.separate_output = f.separate_output;
    if (!f.vocab.empty()) spec.vocab_from = f.vocab;
    spec.name += " (random weights)";

    const auto start = std::chrono::steady_clock::now();
    {
        Progress progress("writing tensors");
        write_dummy_model(spec, f.output,
                          [&](size_t done, size_t total) { progress.update(done, total); });
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cerr << "wrote " << f.output << " (" << architecture_name(spec.arch) << ", " << f.type
              << ", random weights) in " << seconds << " s\n";
    return 0;
}

}  // namespace

Command add_dummy_command(CLI::App& app) {
    auto flags = std::make_shared<DummyFlags>();
    CLI::App* sub =
        app.add_subcommand("dummy", "Write a random-weight model (for tests and benchmarks)");
    sub->add_option("--arch", flags->arch, "llama, bitnet or bitnet-b1.58 (default: the preset's)");
    sub->add_option("--preset", flags->preset, "Shape: tiny, bitnet-large, 2b4t or 3b");
    sub->add_option("--type", flags->type, "Weight type: i2_s, tq2_0, tq1_0, f16 or f32")
        ->capture_default_str();
    sub->add_option("-o,--output", flags->output, "Output GGUF file")->required();
    sub->add_option("--vocab", flags->vocab,
                    "Copy the tokenizer from this GGUF (e.g. a vocab-only file)");
    sub->add_option("--vocab-size", flags->vocab_size,
                    "Vocabulary size (pads the built-in vocabulary)");
    sub->add_option("--embd", flags->embd, "Model width");
    sub->add_option("--layers", flags->layers, "Number of blocks");
    sub->add_option("--heads", flags->heads, "Query heads");
    sub->add_option("--kv-heads", flags->kv_heads, "Key/value heads");
    sub->add_option("--ff", flags->ff, "Feed-forward width");
    sub->add_option("--ctx", flags->ctx, "Training context length");
    sub->add_option("--rope-base", flags->rope_base, "RoPE frequency base");
    sub->add_option("--seed", flags->seed, "Random seed")
        ->check(whole_number_in(0, std::numeric_limits<int64_t>::max()))
        ->capture_default_str();
    sub->add_flag("--separate-output", flags->separate_output,
                  "Write output.weight instead of tying it");
    sub->footer(
        "Examples:\n"
        "  tern dummy --preset tiny -o tiny.gguf\n"
        "  tern dummy --preset 2b4t --type i2_s -o 2b4t-i2s.gguf\n"
        "  tern dummy --arch llama --embd 512 --layers 4 --heads 8 --kv-heads 4 --ff 1024 --type "
        "tq2_0 -o l.gguf");
    return {sub, [flags] { return dummy(*flags); }};
}

}  // namespace tern::cli
