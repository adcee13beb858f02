// Finding, checking and preparing every weight tensor the graph needs.
#include "model/weights.h"

#include "graph/kernel_choice.h"
#include "kernels/float_kernels.h"
#include "kernels/fp16.h"
#include "kernels/kquant.h"
#include "model/ternary_repack.h"
#include "util/strings.h"
#include "util/thread_pool.h"

#include <tern/error.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>

namespace tern {

namespace {

// Rows requantized_copy reads between calls of its rows_done.
constexpr int64_t kRowsPerRelease = 256;

class WeightLoader {
public:
    // Prepared matrices take their bytes from `arena`, which must outlive them.
    WeightLoader(const GgufFile& file, ThreadPool& pool, kernels::WeightArena& arena)
        : file_(file), pool_(pool), arena_(arena) {}

    const TensorView& require(const std::string& name) const {
        const TensorView* tensor = file_.find_tensor(name);
        if (tensor == nullptr) fail(cat("missing tensor ", single_quoted(name)));
        return *tensor;
    }

    bool has(const std::string& name) const { return file_.find_tensor(name) != nullptr; }

    void check_shape(const TensorView& tensor, std::initializer_list<int64_t> expected) const {
        bool same = tensor.n_dims <= static_cast<int>(expected.size());
        int d = 0;
        for (int64_t extent : expected) same = same && tensor.ne[d++] == extent;
        for (; d < 4; ++d) same = same && tensor.ne[d] == 1;
        if (!same) {
            std::string found = "[", wanted = "[";
            for (int i = 0; i < tensor.n_dims; ++i) found += cat(i ? ", " : "", tensor.ne[i]);
            int i = 0;
            for (int64_t extent : expected) wanted += cat(i++ ? ", " : "", extent);
            fail(cat("tensor ", single_quoted(tensor.name), " has shape ", found, "], expected ",
                     wanted, "]"));
        }
    }

    std::vector<float> norm(const std::string& name, int64_t n) const {
        const TensorView& tensor = require(name);
        check_shape(tensor, {n});
        const auto format = float_format(tensor);
        std::vector<float> values(static_cast<size_t>(n));
        kernels::dequantize_row(format, tensor.data.data(), n, values.data());
        for (float v : values) {
            if (!std::isfinite(v))
                fail(cat("tensor ", single_quoted(name), " contains a non-finite value"));
        }
        return values;
    }

    FloatMatrix dense(const TensorView& tensor) const {
        FloatMatrix m;
        m.cols = tensor.ne[0];
        m.rows = tensor.ne[1];
        m.format = float_format(tensor);
        m.data = tensor.data.data();
        m.row_bytes = kernels::float_row_bytes(m.format, m.cols);
        m.file = &file_;
        return m;
    }

    // dense(tensor), copied into the arena (2 MiB pages where the system has transparent huge
    // pages) across threads, 1 MiB at a time, each MiB's file pages released once copied so the
    // file and the copy are never both resident. For matrices streamed once per token: read from
    // the file mapping's 4 KiB page-cache pages, 2B-4T's F16 output layer made generation 12-23 %
    // slower (13.4 against 16.5 tok/s at 1 thread, 31.6 against 35.5 at 2, alternating runs), as
    // the ternary weights were when used in place.
    FloatMatrix resident(const TensorView& tensor) const {
        FloatMatrix m = dense(tensor);
        const kernels::AlignedBuffer copy = arena_.take(tensor.data.size());
        const int64_t chunk = int64_t{1} << 20;
        pool_.parallel_for(static_cast<int64_t>(tensor.data.size()), chunk,
                           [&](int64_t begin, int64_t end) {
                               for (int64_t at = begin; at < end; at += chunk) {
                                   const auto size = static_cast<size_t>(std::min(chunk, end - at));
                                   std::memcpy(copy.get() + at, tensor.data.data() + at, size);
                                   TensorView part = tensor;
                                   part.data = tensor.data.subspan(static_cast<size_t>(at), size);
                                   file_.release_pages(part);
                               }
                           });
        file_.release_pages(tensor);  // the pages straddling chunk boundaries
        m.data = copy.get();
        m.file = nullptr;
        return m;
    }

    // A linear layer stored as [in, out]. `bitlinear` says the architecture quantises the
    // layer's input even when the weights are stored as floats. Float weights are made
    // resident() unless `view_floats`, which leaves them a view of the file.
    LinearWeight linear(const std::string& name, int64_t in, int64_t out, bool bitlinear,
                        bool view_floats = false) const {
        const TensorView& tensor = require(name + ".weight");
        check_shape(tensor, {in, out});
        LinearWeight w;
        w.name = name;
        if (is_ternary(tensor.type)) {
            w.ternary = true;
            w.quantize_input = true;
            w.ternary_matrix = repack_ternary(tensor, active_kernels(), pool_, &arena_);
            // Only the repacked copy is used from now on.
            file_.release_pages(tensor);
        } else if (bitlinear) {
            w.quantize_input = true;
            if (auto matrix = ternarize_float(tensor, active_kernels(), pool_)) {
                w.ternary = true;
                w.ternary_matrix = std::move(*matrix);
                file_.release_pages(tensor);
            } else {
                w.dense = view_floats ? dense(tensor) : resident(tensor);
            }
        } else {
            w.dense = view_floats ? dense(tensor) : resident(tensor);
        }
        if (const TensorView* scale = file_.find_tensor(name + ".scale")) {
            check_shape(*scale, {1});
            if (scale->type != TensorType::f32) {
                fail(cat("tensor ", single_quoted(scale->name), " must be f32, found ",
                         tensor_type_name(scale->type)));
            }
            std::memcpy(&w.output_scale, scale->data.data(), sizeof(float));
            if (!std::isfinite(w.output_scale)) {
                fail(cat("tensor ", single_quoted(scale->name), " is not finite"));
            }
        }
        return w;
    }

    kernels::FloatWeightFormat float_format(const TensorView& tensor) const {
        switch (tensor.type) {
            case TensorType::f32:
                return kernels::FloatWeightFormat::f32;
            case TensorType::f16:
                return kernels::FloatWeightFormat::f16;
            case TensorType::bf16:
                return kernels::FloatWeightFormat::bf16;
            case TensorType::q8_0:
                return kernels::FloatWeightFormat::q8_0;
            case TensorType::q4_k:
                return kernels::FloatWeightFormat::q4_k;
            case TensorType::q6_k:
                return kernels::FloatWeightFormat::q6_k;
            default:
                break;
        }
        fail(cat("tensor ", single_quoted(tensor.name), " has type ", tensor_type_name(tensor.type),
                 ", which cannot be used here (expected f32, f16, bf16, q8_0, q4_k or q6_k)"));
    }

    [[noreturn]] void fail(const std::string& what) const {
        throw Error(ErrorCode::model, cat(file_.name(), ": ", what));
    }

private:
    const GgufFile& file_;
    ThreadPool& pool_;
    kernels::WeightArena& arena_;
};

// Says, once per distinct shape of the first layer, how its linears run.
void log_kernels(const LayerWeights& layer, const std::function<void(const std::string&)>& log) {
    const kernels::KernelSet& set = active_kernels();
    log(cat("kernel set: ", set.isa));
    std::vector<std::pair<int64_t, int64_t>> seen;
    for (const LinearWeight* w :
         {&layer.wq, &layer.wk, &layer.wv, &layer.wo, &layer.gate, &layer.up, &layer.down}) {
        const std::pair<int64_t, int64_t> shape{w->rows(), w->cols()};
        if (std::find(seen.begin(), seen.end(), shape) != seen.end()) continue;
        seen.push_back(shape);
        if (w->ternary) {
            const auto& m = w->ternary_matrix;
            log(cat("  ", shape.first, "x", shape.second, ": ",
                    kernels::ternary_layout_name(m.packed.layout), " layout, ",
                    kernel_names(set, m.packed.layout),
                    m.scales.size() > 1 ? ", per-256-column scales" : "", ", int8 activations"));
        } else {
            log(cat("  ", shape.first, "x", shape.second, ": float weights",
                    w->quantize_input ? " with int8 activations" : "", ", scalar float matmul"));
        }
    }
}

// The format an --lm-head choice requantizes the output layer to (file, screen, auto: none).
std::optional<kernels::FloatWeightFormat> requantized_format(OutputLayerType type) {
    switch (type) {
        case OutputLayerType::q8_0:
            return kernels::FloatWeightFormat::q8_0;
        case OutputLayerType::q6_k:
            return kernels::FloatWeightFormat::q6_k;
        case OutputLayerType::q4_k:
            return kernels::FloatWeightFormat::q4_k;
        case OutputLayerType::file:
        case OutputLayerType::screen:
        case OutputLayerType::automatic:
            break;
    }
    return std::nullopt;
}

// Why the output layer cannot be prepared as `type` asks, as "cannot ...: <reason>" (it is
// ternary; its rows are not whole blocks of the target format; screened, it takes int8
// activations), or "" if it can (always for file and automatic).
std::string output_layer_refusal(const LinearWeight& output, OutputLayerType type) {
    if (type == OutputLayerType::file || type == OutputLayerType::automatic) return {};
    const bool screen = type == OutputLayerType::screen;
    const kernels::FloatWeightFormat target =
        screen ? kernels::FloatWeightFormat::q8_0 : *requantized_format(type);
    const char* target_name = kernels::float_format_name(target);
    if (output.ternary) {
        return cat("cannot ",
                   screen ? std::string("screen the output layer")
                          : cat("requantize the output layer to ", target_name),
                   ": it is ternary");
    }
    if (output.dense.cols % kernels::float_format_block(target) != 0) {
        return cat("cannot ",
                   screen ? "screen the output layer with " : "requantize the output layer to ",
                   target_name, ": its rows of ", output.dense.cols,
                   " values are not whole blocks of ", kernels::float_format_block(target));
    }
    if (screen && output.quantize_input)
        return "cannot screen the output layer: it takes int8 activations";
    return {};
}

// Logs "output layer <what> <format> (<MiB>) in <seconds> s".
void log_output_copy(const std::function<void(const std::string&)>& log, const char* what,
                     const FloatMatrix& copy, std::chrono::steady_clock::time_point start) {
    if (!log) return;
    log(cat("output layer ", what, " ", kernels::float_format_name(copy.format), " (",
            copy.rows * copy.row_bytes / (1 << 20), " MiB) in ",
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), " s"));
}

// Rounds a non-negative double up to a float that is at least as large.
float float_at_least(double v) {
    const float f = static_cast<float>(v);
    return static_cast<double>(f) >= v ? f : std::nextafter(f, INFINITY);
}

// Row r's OutputScreen norms from its weights `w` (k floats) and their Q8_0 copy `blocks`. The
// sums of squares run in 8 float lanes (w - q is exact: q is w rounded to a multiple of the
// block's scale, within a factor 2 of w or 0); a lane's sum of n non-negative terms is within
// (n + 1) u of the real one, so each is raised by (k/8 + 4) u before the square root, and the
// roots by 1e-12 for the double steps.
void row_norms(const float* w, const uint8_t* blocks, int64_t k, OutputScreen& screen, int64_t r) {
    constexpr int kLanes = 8;
    float error[kLanes] = {}, source[kLanes] = {}, copy[kLanes] = {};
    for (int64_t b = 0; b < k / 32; ++b) {
        const uint8_t* block = blocks + b * kernels::kQ8BlockBytes;
        const float d = kernels::load_half(block);
        const auto* q = reinterpret_cast<const int8_t*>(block + 2);
        for (int64_t c = 0; c < 32; c += kLanes) {
            for (int j = 0; j < kLanes; ++j) {
                const float v = w[32 * b + c + j];
                const float v_q = static_cast<float>(q[c + j]) * d;
                error[j] += (v - v_q) * (v - v_q);
                source[j] += v * v;
                copy[j] += v_q * v_q;
            }
        }
    }
    double e = 0, s = 0, c = 0;
    for (int j = 0; j < kLanes; ++j) {
        e += error[j];
        s += source[j];
        c += copy[j];
    }
    // Underflow can lose up to 2^-150 on each of the 2k / 8 float operations of a lane (F32 or
    // BF16 weights below 2^-63).
    const double raise = 1.0 + static_cast<double>(k / kLanes + 4) * 0x1p-24 * 1.01;
    const double underflow = static_cast<double>(2 * k + 16) * 0x1p-150;
    const double slack = 1.0 + 1e-12;
    screen.error_norm[static_cast<size_t>(r)] =
        float_at_least(std::sqrt(e * raise + underflow) * slack);
    screen.norm[static_cast<size_t>(r)] =
        float_at_least(std::sqrt(std::max(s, c) * raise + underflow) * slack);
}

// A copy of `source` in `format` (its bytes from `arena`), row by row: Q8_0 by ggml's rule (per
// 32 weights d = max|w| / 127 as fp16, q = round(w / d)), Q6_K and Q4_K by kquant.h's
// quantizers. Given `screen`, also its per-row norms (OutputScreen). Rows must be whole blocks.
// `rows_done(begin, end)`, if given, is called (on the thread that read them) once rows
// [begin, end) have been read, a few hundred at a time: where the source is a view of the file,
// its pages can then be released, so the file's layer and the copy are never both resident.
FloatMatrix requantized_copy(const FloatMatrix& source, kernels::FloatWeightFormat format,
                             kernels::WeightArena& arena, ThreadPool& pool,
                             OutputScreen* screen = nullptr,
                             const std::function<void(int64_t, int64_t)>& rows_done = {}) {
    const int64_t k = source.cols;
    const int64_t row_bytes = kernels::float_row_bytes(format, k);
    const kernels::AlignedBuffer storage = arena.take(static_cast<size_t>(source.rows * row_bytes));
    if (screen) {
        screen->error_norm.resize(static_cast<size_t>(source.rows));
        screen->norm.resize(static_cast<size_t>(source.rows));
    }
    const kernels::FloatKernels& fk = *active_kernels().floats;  // here: pool jobs must not throw
    pool.parallel_for(source.rows, 64, [&](int64_t begin, int64_t end) {
        std::vector<float> row(static_cast<size_t>(k));
        int64_t slab_begin = begin;  // the first row not yet passed to rows_done
        for (int64_t r = begin; r < end; ++r) {
            const uint8_t* source_row = source.data + r * source.row_bytes;
            if (source.format == kernels::FloatWeightFormat::f16) {  // F16C where there is one
                fk.from_f16(reinterpret_cast<const uint16_t*>(source_row), row.data(), k);
            } else {
                kernels::dequantize_row(source.format, source_row, k, row.data());
            }
            uint8_t* out = storage.get() + r * row_bytes;
            if (format == kernels::FloatWeightFormat::q8_0) {
                fk.quantize_q8_0(row.data(), k, out);
            } else if (format == kernels::FloatWeightFormat::q6_k) {
                fk.quantize_q6_k(row.data(), k, out);
            } else {
                fk.quantize_q4_k(row.data(), k, out);
            }
            if (screen) row_norms(row.data(), out, k, *screen, r);
            if (rows_done && (r + 1 - slab_begin == kRowsPerRelease || r + 1 == end)) {
                rows_done(slab_begin, r + 1);
                slab_begin = r + 1;
            }
        }
    });
    return {source.rows, k, format, storage.get(), row_bytes};
}

}  // namespace

OutputScreen build_output_screen(const FloatMatrix& layer, kernels::WeightArena& arena,
                                 ThreadPool& pool,
                                 const std::function<void(int64_t, int64_t)>& rows_done) {
    OutputScreen screen;
    screen.q8 =
        requantized_copy(layer, kernels::FloatWeightFormat::q8_0, arena, pool, &screen, rows_done);
    return screen;
}

const uint8_t* read_row(const FloatMatrix& m, int64_t r, uint8_t* scratch) {
    const uint8_t* in_place = m.data + r * m.row_bytes;
    if (m.file == nullptr) return in_place;
    return m.file->copy_out(in_place, static_cast<size_t>(m.row_bytes), scratch) ? scratch
                                                                                 : in_place;
}

ModelWeights load_weights(const GgufFile& file, const ModelConfig& c, ThreadPool& pool,
                          const ModelLoadOptions& options) {
    const auto& log = options.log;
    // The kernel set first, on this thread: a TERN_ISA this build or CPU cannot run is an Error
    // here, not an exception escaping a pool job (which would terminate).
    active_kernels();
    ModelWeights w;
    WeightLoader loader(file, pool, w.arena);
    const TensorView& embd = loader.require("token_embd.weight");
    loader.check_shape(embd, {c.n_embd, c.n_vocab});
    w.token_embd = loader.dense(embd);  // a few rows read per token: stays a view of the file
    w.output_norm = loader.norm("output_norm.weight", c.n_embd);
    const TensorView& output_tensor = c.tied_output ? embd : loader.require("output.weight");
    if (c.tied_output) {
        w.output.name = "token_embd";
        w.output.dense = w.token_embd;
    } else {
        w.output = loader.linear("output", c.n_embd, c.n_vocab, false, true);
    }
    // The output layer, streamed once per token, becomes a Q8_0 / Q6_K / Q4_K copy if asked for
    // (one already in that format is kept and multiplied with int8 activations too); screened,
    // it stays in the file, read in place beside a Q8_0 copy; otherwise it becomes a resident
    // copy of the file's (which the tied embedding then reads too).
    OutputLayerType output_type = options.output_type;
    if (output_type == OutputLayerType::automatic) {
        output_type = output_layer_refusal(w.output, OutputLayerType::screen).empty()
                          ? OutputLayerType::screen
                          : OutputLayerType::file;
    }
    if (const std::string refusal = output_layer_refusal(w.output, output_type); !refusal.empty())
        throw Error(ErrorCode::unsupported, cat(file.name(), ": ", refusal));
    if (!w.output.ternary) {
        const bool screen = output_type == OutputLayerType::screen;
        const auto target =
            screen ? kernels::FloatWeightFormat::q8_0 : requantized_format(output_type);
        const kernels::FloatWeightFormat file_format = w.output.dense.format;
        const auto start = std::chrono::steady_clock::now();
        // Releases the file's pages of output rows [begin, end) once they have been copied.
        const FloatMatrix source = w.output.dense;
        const auto release_rows = [&](int64_t begin, int64_t end) {
            TensorView rows = output_tensor;
            rows.data =
                output_tensor.data.subspan(static_cast<size_t>(begin * source.row_bytes),
                                           static_cast<size_t>((end - begin) * source.row_bytes));
            file.release_pages(rows);
        };
        if (target && !screen && file_format != *target) {
            w.output.dense =
                requantized_copy(source, *target, w.arena, pool, nullptr, release_rows);
            w.output.int8_activations = true;
            file.release_pages(output_tensor);  // the pages straddling two threads' rows
            log_output_copy(log, "requantized to", w.output.dense, start);
        } else if (screen) {
            // The screen reads a token's few candidate rows of the file's layer by copying them
            // out of the file (read_row, like the embedding's rows): once the screen is built,
            // the layer's pages are released and stay out of the resident set.
            w.screen = build_output_screen(source, w.arena, pool, release_rows);
            file.release_pages(output_tensor);  // the pages straddling two threads' rows
            w.screen.release_pages = [&file, tensor = output_tensor] {
                file.release_pages(tensor);
            };
            log_output_copy(log, "screened by a", w.screen.q8, start);
        } else {
            w.output.dense = loader.resident(output_tensor);
            if (c.tied_output) w.token_embd = w.output.dense;
            w.output.int8_activations = target.has_value();
        }
    }

    const int64_t q_dim = c.n_head * c.head_dim;
    const int64_t kv_dim = c.n_head_kv * c.head_dim;
    w.layers.resize(static_cast<size_t>(c.n_layer));
    for (int64_t i = 0; i < c.n_layer; ++i) {
        LayerWeights& layer = w.layers[static_cast<size_t>(i)];
        const std::string p = cat("blk.", i, ".");
        layer.attn_norm = loader.norm(p + "attn_norm.weight", c.n_embd);
        layer.ffn_norm = loader.norm(p + "ffn_norm.weight", c.n_embd);
        if (c.sub_norms) {
            layer.attn_sub_norm = loader.norm(p + "attn_sub_norm.weight", q_dim);
            layer.ffn_sub_norm = loader.norm(p + "ffn_sub_norm.weight", c.n_ff);
        }
        layer.wq = loader.linear(p + "attn_q", c.n_embd, q_dim, c.bitlinear);
        layer.wk = loader.linear(p + "attn_k", c.n_embd, kv_dim, c.bitlinear);
        layer.wv = loader.linear(p + "attn_v", c.n_embd, kv_dim, c.bitlinear);
        layer.wo = loader.linear(p + "attn_output", q_dim, c.n_embd, c.bitlinear);
        layer.gate = loader.linear(p + "ffn_gate", c.n_embd, c.n_ff, c.bitlinear);
        layer.up = loader.linear(p + "ffn_up", c.n_embd, c.n_ff, c.bitlinear);
        layer.down = loader.linear(p + "ffn_down", c.n_ff, c.n_embd, c.bitlinear);
        if (log && i == 0) log_kernels(layer, log);
        if (options.progress)
            options.progress(static_cast<size_t>(i + 1), static_cast<size_t>(c.n_layer));
    }
    for (const TensorView& tensor : file.tensors())
        w.n_params += static_cast<uint64_t>(tensor.numel());
    return w;
}

}  // namespace tern
