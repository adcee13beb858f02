// Model::load: open and validate the file, read the config, prepare weights and tokenizer.
#include "model/config.h"
#include "model/model_impl.h"
#include "util/cpuinfo.h"
#include "util/strings.h"
#include "util/thread_pool.h"

#include <tern/error.h>
#include <tern/system.h>

#include <chrono>

namespace tern {

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

std::shared_ptr<const Model> Model::load(const std::filesystem::path& path,
                                         const ModelLoadOptions& options) {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    auto seconds_since = [](Clock::time_point t) {
        return std::chrono::duration<double>(Clock::now() - t).count();
    };
    auto log = [&](const std::string& line) {
        if (options.log) options.log(line);
    };

    auto impl = std::make_unique<Impl>(Impl{GgufFile::open(path), {}, {}, std::nullopt, {}});
    log(cat("parsed ", path.string(), ": GGUF v", impl->file.version(), ", ",
            impl->file.tensors().size(), " tensors, ", impl->file.metadata().size(),
            " metadata keys in ", seconds_since(start), " s"));
    impl->config = read_model_config(impl->file);

    const auto weights_start = Clock::now();
    ThreadPool pool(options.n_threads > 0 ? options.n_threads : physical_core_count());
    impl->weights = load_weights(impl->file, impl->config, pool, options);
    log(cat("prepared weights in ", seconds_since(weights_start), " s"));

    try {
        impl->tokenizer.emplace(Tokenizer::from_gguf(impl->file));
    } catch (const Error& error) {
        impl->tokenizer_error = error.what();
    }
    const ModelConfig& c = impl->config;
    if (impl->tokenizer && impl->tokenizer->n_vocab() > c.n_vocab) {
        throw Error(ErrorCode::model,
                    cat(path.string(), ": the vocabulary has ", impl->tokenizer->n_vocab(),
                        " tokens but token_embd.weight has only ", c.n_vocab, " rows"));
    }
    log(cat("loaded in ", seconds_since(start), " s"));
    return std::shared_ptr<const Model>(new Model(std::move(impl)));
}

const ModelConfig& Model::config() const {
    return impl_->config;
}
const GgufFile& Model::gguf() const {
    return impl_->file;
}

std::string Model::name() const {
    if (const auto name = impl_->file.get_string("general.name"); name && !name->empty()) {
        return std::string(*name);
    }
    return std::filesystem::path(impl_->file.name()).filename().string();
}

bool Model::has_tokenizer() const {
    return impl_->tokenizer.has_value();
}

const Tokenizer& Model::tokenizer() const {
    if (!impl_->tokenizer) throw Error(ErrorCode::tokenizer, impl_->tokenizer_error);
    return *impl_->tokenizer;
}

uint64_t Model::n_params() const {
    return impl_->weights.n_params;
}

namespace {

uint64_t linear_bytes(const LinearWeight& w) {
    if (w.ternary) return w.ternary_matrix.packed.bytes();
    return static_cast<uint64_t>(w.dense.rows * w.dense.row_bytes);
}

}  // namespace

uint64_t Model::bytes_read_per_token(double screened_rows) const {
    const ModelWeights& w = impl_->weights;
    const bool screened = screened_rows > 0 && w.screen.q8.rows > 0;
    uint64_t total = w.output_norm.size() * sizeof(float);
    if (screened) {
        total +=
            static_cast<uint64_t>(w.screen.q8.rows * w.screen.q8.row_bytes) +
            (w.screen.error_norm.size() + w.screen.norm.size()) * sizeof(float) +
            static_cast<uint64_t>(screened_rows * static_cast<double>(w.output.dense.row_bytes));
    } else {
        total += linear_bytes(w.output);
    }
    for (const LayerWeights& l : w.layers) {
        for (const LinearWeight* x : {&l.wq, &l.wk, &l.wv, &l.wo, &l.gate, &l.up, &l.down})
            total += linear_bytes(*x);
        total += (l.attn_norm.size() + l.ffn_norm.size() + l.attn_sub_norm.size() +
                  l.ffn_sub_norm.size()) *
                 sizeof(float);
    }
    return total;
}

std::string Model::kernel_summary() const {
    const LinearWeight& q = impl_->weights.layers.front().wq;
    const std::string set = kernel_set_name();
    if (!q.ternary) return "float (" + set + ")";
    return std::string(kernels::ternary_layout_name(q.ternary_matrix.packed.layout)) + " (" + set +
           ")";
}

bool Model::output_screened() const {
    return impl_->weights.screen.q8.rows > 0;
}

uint64_t Model::weight_bytes() const {
    uint64_t total = 0;
    for (const TensorView& tensor : impl_->file.tensors()) total += tensor.data.size();
    return total;
}

}  // namespace tern
