// Loading a model: hyper-parameters from GGUF metadata, weights as views or repacked once.
#pragma once

#include <tern/gguf.h>
#include <tern/tokenizer.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace tern {

// Graph families tern builds. bitnet-25 (the 2B-4T preview name) loads as bitnet_b158.
enum class Architecture { llama, bitnet, bitnet_b158 };
enum class FfnActivation { silu, relu_squared };  // SwiGLU gate or ReLU² gate
enum class RopeStyle { norm, neox };  // rotate pairs (2i, 2i+1) or halves (i, i + n_rot/2)

struct ModelConfig {
    std::string architecture;  // as written in general.architecture
    Architecture arch = Architecture::llama;
    int64_t n_vocab = 0;
    int64_t n_embd = 0;  // model width
    int64_t n_layer = 0;
    int64_t n_head = 0;       // query heads
    int64_t n_head_kv = 0;    // key/value heads (grouped-query attention when < n_head)
    int64_t head_dim = 0;     // n_embd / n_head
    int64_t n_ff = 0;         // feed-forward width
    int64_t n_ctx_train = 0;  // context length the model was trained for
    int64_t n_rot = 0;        // rotated dimensions per head (rope.dimension_count)
    float rope_freq_base = 10000.0f;
    float rms_eps = 1e-5f;
    RopeStyle rope = RopeStyle::norm;
    FfnActivation activation = FfnActivation::silu;
    bool sub_norms = false;   // attn_sub_norm / ffn_sub_norm before attn_output / ffn_down
    bool bitlinear = false;   // every block linear quantises its input to int8 (BitNet)
    bool tied_output = true;  // logits use token_embd (no output.weight tensor)
};

std::string_view architecture_name(Architecture arch);

// How the output layer (logits) is stored in memory.
enum class OutputLayerType {
    file,  // as in the file (F16 for BitNet models): lossless
    q8_0,  // requantized at load to 8 bits per weight in blocks of 32 (half the bytes of F16)
    q6_k,  // requantized at load to Q6_K: 6.56 bits per weight (41 % of F16)
    q4_k,  // requantized at load to Q4_K: 4.5 bits per weight (28 % of F16)
    // As in the file, plus a Q8_0 copy that screens it: when the caller needs only the highest
    // logits (greedy or top-k sampling), the copy bounds every row's logit and only rows that
    // can be among the highest are computed from the file's layer. Lossless for those callers
    // (Session::eval with LogitsNeeded); costs the copy's memory (53 % of F16), while the
    // file's layer is read in place, so only the rows generation touches are resident.
    screen,
    // screen where the output layer can be screened (rows of float or block-quantized weights
    // in whole 32-value blocks, multiplied with float activations), otherwise file.
    automatic,
};

struct ModelLoadOptions {
    int n_threads = 0;  // threads for repacking at load; 0 = all physical cores
    OutputLayerType output_type = OutputLayerType::file;
    // Receives human-readable lines about what the loader decided (kernel per shape, timings).
    std::function<void(const std::string&)> log;
    // Called as the layers are prepared, with (layers done, layers in all).
    std::function<void(size_t done, size_t total)> progress;
};

// An immutable model: safe to share between sessions and threads once loaded.
class Model {
public:
    // Opens, validates and prepares a model. Throws Error naming the file and the problem.
    static std::shared_ptr<const Model> load(const std::filesystem::path& path,
                                             const ModelLoadOptions& options = {});

    ~Model();
    const ModelConfig& config() const;
    const GgufFile& gguf() const;
    std::string name() const;  // general.name, or the file name

    bool has_tokenizer() const;
    // Throws Error (ErrorCode::tokenizer) if the file carries no tokenizer.
    const Tokenizer& tokenizer() const;

    uint64_t n_params() const;      // elements in all weight tensors
    uint64_t weight_bytes() const;  // bytes of all tensors in the file
    // Weight bytes one decode step reads in tern's in-memory layouts (every block linear, the
    // norms and the output layer): the numerator of the bandwidth roof. With a screened output
    // layer and screened_rows > 0 (the rows a screened step computes exactly, on average), the
    // screen's bytes and that many of the layer's rows instead of the whole layer.
    uint64_t bytes_read_per_token(double screened_rows = 0) const;
    // How the block linears run, e.g. "tl3 (avx2)".
    std::string kernel_summary() const;
    // True if the output layer is screened (OutputLayerType::screen, or automatic resolved so).
    bool output_screened() const;

    struct Impl;

private:
    friend class Session;
    explicit Model(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace tern
