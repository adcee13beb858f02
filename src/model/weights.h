// The model's weights as the graph uses them: ternary matrices repacked once at load, float
// matrices copied once at load (or, for the embedding, views into the mapped file), norm vectors
// as floats.
#pragma once

#include "kernels/float_rows.h"
#include "kernels/ternary_layout.h"

#include <tern/gguf.h>
#include <tern/model.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace tern {

class ThreadPool;

// A rows x cols ternary matrix (rows = output features, cols = input features K) packed for the
// kernels (kernels/ternary_layout.h), with its scales: one per tensor (group_size == cols,
// scales.size() == 1) or one per `group_size` columns of each row (scales is rows x
// cols/group_size, row-major; TQ files whose block scales differ).
struct TernaryMatrix {
    kernels::PackedTernary packed;
    int64_t group_size = 0;
    std::vector<float> scales;
    int64_t rows() const { return packed.rows; }
    int64_t cols() const { return packed.cols; }
};

// A rows x cols matrix whose rows are stored in a float-like format (F32, F16, BF16, Q8_0, Q4_K,
// Q6_K), row r at data + r * row_bytes: a view of the mapped file or of ModelWeights::arena.
struct FloatMatrix {
    int64_t rows = 0;
    int64_t cols = 0;
    kernels::FloatWeightFormat format = kernels::FloatWeightFormat::f32;
    const uint8_t* data = nullptr;
    int64_t row_bytes = 0;
    // Set where `data` is a view of this file's mapping (the embedding, a screened output layer):
    // read_row then copies a row out of the file instead of touching the mapping.
    const GgufFile* file = nullptr;
};

// Row r of m (m.row_bytes): in place where m is resident; where it is a view of the file, copied
// into `scratch` (m.row_bytes, any alignment) by reading the file, so the few rows a token reads
// of the embedding or a screened output layer stay out of the resident set (each fault on the
// mapping would map the 64 KiB around the row: 2B-4T's random-weight model took back 415-481 MiB
// of its screened layer that way). Reads the mapping if the file read fails.
const uint8_t* read_row(const FloatMatrix& m, int64_t r, uint8_t* scratch);

// One linear layer y = W x (no bias). BitLinear layers quantise x per token to int8 first.
struct LinearWeight {
    std::string name;
    bool ternary = false;         // uses `ternary`; otherwise `dense`
    bool quantize_input = false;  // BitLinear: int8 absmax activations
    // Q8_0 / Q6_K / Q4_K weights times int8 activations (--lm-head q8 / q6 / q4)
    bool int8_activations = false;
    TernaryMatrix ternary_matrix;
    FloatMatrix dense;
    float output_scale = 1.0f;  // from an optional "<name>.scale" tensor
    int64_t rows() const { return ternary ? ternary_matrix.rows() : dense.rows; }
    int64_t cols() const { return ternary ? ternary_matrix.cols() : dense.cols; }
};

struct LayerWeights {
    std::vector<float> attn_norm, attn_sub_norm, ffn_norm, ffn_sub_norm;  // sub-norms optional
    LinearWeight wq, wk, wv, wo, gate, up, down;
};

// A Q8_0 copy of the output layer that bounds every row's logit (--lm-head screen), with two
// numbers per row, each rounded up: error_norm[r] = ||W_r - Q_r||_2 (W_r the layer's row as
// decoded, Q_r the copy's) and norm[r] = max(||W_r||_2, ||Q_r||_2). Empty (q8.rows == 0) unless
// asked for.
struct OutputScreen {
    FloatMatrix q8;
    std::vector<float> error_norm;  // [rows]
    std::vector<float> norm;        // [rows]
    // Where the screened layer is a view of the file: drops its pages from the resident set,
    // called after a token whose logits were all computed in place (the screen's fallback; the
    // candidate rows are read by copy, read_row, and never map). Empty otherwise.
    std::function<void()> release_pages;
};

struct ModelWeights {
    // The bytes of every matrix prepared at load (packed ternary, copied or requantized float),
    // in the order they were prepared; the matrices below are views into it.
    kernels::WeightArena arena;
    FloatMatrix token_embd;  // n_vocab x n_embd
    std::vector<float> output_norm;
    LinearWeight output;  // n_vocab x n_embd; a view of token_embd when tied
    OutputScreen screen;  // of `output`, with --lm-head screen
    std::vector<LayerWeights> layers;
    uint64_t n_params = 0;
};

// The screen of `layer` (a whole number of 32-value blocks per row), its bytes from `arena`.
// `rows_done(begin, end)`, if given, is called once rows [begin, end) of `layer` have been read
// (a few hundred rows at a time, on the threads of `pool`).
OutputScreen build_output_screen(const FloatMatrix& layer, kernels::WeightArena& arena,
                                 ThreadPool& pool,
                                 const std::function<void(int64_t, int64_t)>& rows_done = {});

// Finds, checks (type and shape) and prepares every tensor the config's graph needs.
// Throws Error(model) naming the missing or mis-shaped tensor.
ModelWeights load_weights(const GgufFile& file, const ModelConfig& config, ThreadPool& pool,
                          const ModelLoadOptions& options);

}  // namespace tern
