// Random-weight GGUF models of any supported architecture, shape and ternary file type.
#include "dummy/builtin_vocab.h"
#include "kernels/fp16.h"
#include "kernels/ternary_formats.h"
#include "util/cpuinfo.h"
#include "util/strings.h"
#include "util/thread_pool.h"

#include <tern/dummy.h>
#include <tern/error.h>
#include <tern/gguf.h>

#include <cmath>
#include <cstring>
#include <numbers>

namespace tern {

namespace {

// splitmix64: a tiny, fast, well-mixed generator; one stream per (seed, tensor, row).
struct SplitMix64 {
    uint64_t state;
    uint64_t next() {
        uint64_t z = (state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
    double normal() {                                                           // Box-Muller
        const double u1 = 1.0 - uniform(), u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
    }
};

uint64_t stream_seed(uint64_t seed, uint64_t tensor, uint64_t row) {
    SplitMix64 mix{seed * 0x100000001b3ull ^ (tensor << 32) ^ row};
    return mix.next();
}

// Trits distributed like round(clamp(W / mean|W|)) for Gaussian W: P(0) = 2 Phi(0.5 sqrt(2/pi))
// - 1.
void random_trits(SplitMix64& rng, int8_t* out, int64_t n) {
    constexpr double kZero = 0.3102;
    for (int64_t i = 0; i < n; ++i) {
        const double u = rng.uniform();
        out[i] = static_cast<int8_t>(u < kZero ? 0 : (u < (1.0 + kZero) / 2.0 ? -1 : 1));
    }
}

constexpr float kWeightSigma = 0.02f;

struct Shape {
    std::string name;
    int64_t in, out;  // ne = {in, out}
};

class DummyBuilder {
public:
    DummyBuilder(const DummyModelSpec& spec, ThreadPool& pool) : spec_(spec), pool_(pool) {}

    // A ternary linear weight in the spec's file type.
    void ternary(GgufWriter& writer, const Shape& shape) {
        const uint64_t tensor = next_tensor_++;
        const int64_t in = shape.in, out = shape.out;
        // Rounded to fp16 so that every file type (TQ types store fp16 scales) holds the same
        // model.
        const float scale = kernels::half_to_float(kernels::float_to_half(
            kWeightSigma * static_cast<float>(std::sqrt(2.0 / std::numbers::pi))));
        const TensorType type = spec_.weight_type;
        const uint64_t seed = spec_.seed;
        ThreadPool& pool = pool_;
        const int64_t dims[] = {in, out};
        writer.add_tensor(shape.name, type, dims, [=, &pool](std::span<uint8_t> bytes) {
            if (type == TensorType::i2_s) {
                // I2_S blocks span rows, so generate the whole tensor's trits first.
                std::vector<int8_t> trits(static_cast<size_t>(in * out));
                pool.parallel_for(out, 64, [&](int64_t begin, int64_t end) {
                    for (int64_t r = begin; r < end; ++r) {
                        SplitMix64 rng{stream_seed(seed, tensor, static_cast<uint64_t>(r))};
                        random_trits(rng, trits.data() + r * in, in);
                    }
                });
                kernels::i2s_encode(trits.data(), in * out, scale, bytes.data());
                return;
            }
            pool.parallel_for(out, 64, [&](int64_t begin, int64_t end) {
                std::vector<int8_t> trits(static_cast<size_t>(in));
                for (int64_t r = begin; r < end; ++r) {
                    SplitMix64 rng{stream_seed(seed, tensor, static_cast<uint64_t>(r))};
                    random_trits(rng, trits.data(), in);
                    encode_row(type, trits.data(), in, scale, bytes.data(), r);
                }
            });
        });
    }

    // A float tensor with N(0, sigma^2) values (or 1 + uniform(-0.1, 0.1) for norms).
    void floats(GgufWriter& writer, const std::string& name, std::vector<int64_t> ne,
                TensorType type, bool norm, float sigma = kWeightSigma) {
        const uint64_t tensor = next_tensor_++;
        const uint64_t seed = spec_.seed;
        const int64_t cols = ne[0];
        int64_t rows = 1;
        for (size_t d = 1; d < ne.size(); ++d) rows *= ne[d];
        ThreadPool& pool = pool_;
        writer.add_tensor(name, type, ne, [=, &pool](std::span<uint8_t> bytes) {
            pool.parallel_for(rows, 64, [&](int64_t begin, int64_t end) {
                for (int64_t r = begin; r < end; ++r) {
                    SplitMix64 rng{stream_seed(seed, tensor, static_cast<uint64_t>(r))};
                    for (int64_t c = 0; c < cols; ++c) {
                        const float v =
                            norm ? 1.0f + 0.1f * static_cast<float>(2.0 * rng.uniform() - 1.0)
                                 : sigma * static_cast<float>(rng.normal());
                        const int64_t i = r * cols + c;
                        if (type == TensorType::f32) {
                            std::memcpy(bytes.data() + 4 * i, &v, 4);
                        } else {
                            const uint16_t h = kernels::float_to_half(v);
                            std::memcpy(bytes.data() + 2 * i, &h, 2);
                        }
                    }
                }
            });
        });
    }

private:
    static void encode_row(TensorType type, const int8_t* trits, int64_t in, float scale,
                           uint8_t* bytes, int64_t r) {
        switch (type) {
            case TensorType::tq2_0:
            case TensorType::tq1_0: {
                const bool tq2 = type == TensorType::tq2_0;
                const int64_t block_bytes = tq2 ? kernels::kTq2BlockBytes : kernels::kTq1BlockBytes;
                const int64_t blocks = in / kernels::kTqBlock;
                for (int64_t b = 0; b < blocks; ++b) {
                    uint8_t* out = bytes + (r * blocks + b) * block_bytes;
                    const int8_t* t = trits + b * kernels::kTqBlock;
                    if (tq2)
                        kernels::tq2_0_encode_block(t, scale, out);
                    else
                        kernels::tq1_0_encode_block(t, scale, out);
                }
                return;
            }
            case TensorType::f16:
            case TensorType::f32:
                for (int64_t c = 0; c < in; ++c) {
                    const float v = static_cast<float>(trits[c]) * scale;
                    const int64_t i = r * in + c;
                    if (type == TensorType::f32) {
                        std::memcpy(bytes + 4 * i, &v, 4);
                    } else {
                        const uint16_t h = kernels::float_to_half(v);
                        std::memcpy(bytes + 2 * i, &h, 2);
                    }
                }
                return;
            default:
                return;
        }
    }

    const DummyModelSpec& spec_;
    ThreadPool& pool_;
    uint64_t next_tensor_ = 0;
};

void validate(const DummyModelSpec& s) {
    auto fail = [](const std::string& what) { throw Error(ErrorCode::invalid_argument, what); };
    if (s.n_embd <= 0 || s.n_layer <= 0 || s.n_head <= 0 || s.n_head_kv <= 0 || s.n_ff <= 0 ||
        s.n_ctx <= 0) {
        fail("every dimension of a dummy model must be positive");
    }
    if (s.n_embd % s.n_head != 0) fail(cat("--heads ", s.n_head, " must divide --embd ", s.n_embd));
    if (s.n_head % s.n_head_kv != 0)
        fail(cat("--kv-heads ", s.n_head_kv, " must divide --heads ", s.n_head));
    if ((s.n_embd / s.n_head) % 2 != 0) fail("the head size (embd / heads) must be even for RoPE");
    if (!(std::isfinite(s.rope_freq_base) && s.rope_freq_base > 0.0f)) {
        fail(cat("--rope-base must be a positive finite number, got ", s.rope_freq_base));
    }
    if (s.n_vocab < 0) fail(cat("--vocab-size must be positive, got ", s.n_vocab));
    switch (s.weight_type) {
        case TensorType::tq1_0:
        case TensorType::tq2_0:
            if (s.n_embd % 256 != 0 || s.n_ff % 256 != 0) {
                fail(cat(tensor_type_name(s.weight_type),
                         " needs --embd and --ff to be multiples of 256 (got ", s.n_embd, " and ",
                         s.n_ff, ")"));
            }
            break;
        case TensorType::i2_s:
            if ((s.n_embd * s.n_embd / s.n_head * s.n_head_kv) % 128 != 0 ||
                (s.n_embd * s.n_ff) % 128 != 0) {
                fail("i2_s needs every weight tensor's element count to be a multiple of 128");
            }
            break;
        case TensorType::f16:
        case TensorType::f32:
            break;
        default:
            fail(cat("dummy weights cannot be ", tensor_type_name(s.weight_type)));
    }
}

uint32_t file_type_of(TensorType type) {
    switch (type) {
        case TensorType::f32:
            return 0;
        case TensorType::f16:
            return 1;
        case TensorType::tq1_0:
            return 36;  // llama.cpp LLAMA_FTYPE_MOSTLY_TQ1_0
        case TensorType::tq2_0:
            return 37;  // llama.cpp LLAMA_FTYPE_MOSTLY_TQ2_0
        case TensorType::i2_s:
            return 40;  // bitnet.cpp LLAMA_FTYPE_MOSTLY_I2_S
        default:
            return 0;
    }
}

}  // namespace

DummyModelSpec dummy_preset(std::string_view name) {
    DummyModelSpec s;
    if (name == "tiny") {
        s.arch = Architecture::bitnet_b158;
        s.n_embd = 256, s.n_layer = 2, s.n_head = 4, s.n_head_kv = 2, s.n_ff = 512, s.n_ctx = 512;
    } else if (name == "bitnet-large") {
        s.arch = Architecture::bitnet;
        s.n_vocab = 32002, s.n_embd = 1536, s.n_layer = 24, s.n_head = 16, s.n_head_kv = 16;
        s.n_ff = 4096, s.n_ctx = 2048;
    } else if (name == "2b4t") {
        s.arch = Architecture::bitnet_b158;
        s.n_vocab = 128256, s.n_embd = 2560, s.n_layer = 30, s.n_head = 20, s.n_head_kv = 5;
        s.n_ff = 6912, s.n_ctx = 4096, s.rope_freq_base = 500000.0f;
    } else if (name == "3b") {
        s.arch = Architecture::bitnet;
        s.n_vocab = 32002, s.n_embd = 3200, s.n_layer = 26, s.n_head = 32, s.n_head_kv = 32;
        s.n_ff = 8640, s.n_ctx = 2048;
    } else {
        throw Error(ErrorCode::invalid_argument,
                    cat("unknown preset ", single_quoted(name), " (tiny, bitnet-large, 2b4t, 3b)"));
    }
    s.name = cat("tern-dummy-", name);
    return s;
}

std::vector<std::string> dummy_preset_names() {
    return {"tiny", "bitnet-large", "2b4t", "3b"};
}

void write_dummy_model(const DummyModelSpec& spec, const std::filesystem::path& path,
                       const std::function<void(size_t, size_t)>& progress) {
    validate(spec);
    GgufWriter writer;
    const std::string arch(architecture_name(spec.arch));
    const std::string p = arch + ".";
    writer.set_string("general.architecture", arch);
    writer.set_string("general.name", spec.name);
    writer.set_u32("general.file_type", file_type_of(spec.weight_type));
    writer.set_u32("general.quantization_version", 2);

    int64_t n_vocab = spec.n_vocab;
    std::optional<GgufFile> vocab_file;
    if (spec.vocab_from) {
        vocab_file.emplace(GgufFile::open(*spec.vocab_from));
        const GgufArray* tokens = vocab_file->get_array("tokenizer.ggml.tokens");
        if (tokens == nullptr) {
            throw Error(ErrorCode::invalid_argument,
                        cat(spec.vocab_from->string(), " has no tokenizer.ggml.tokens to copy"));
        }
        n_vocab = static_cast<int64_t>(tokens->size());
        for (const auto& [key, value] : vocab_file->metadata()) {
            if (key.substr(0, 10) == "tokenizer.") writer.copy_value(key, value);
        }
    } else {
        const BuiltinVocab vocab = builtin_vocab(n_vocab);
        n_vocab = static_cast<int64_t>(vocab.tokens.size());
        write_vocab(writer, vocab);
    }

    const int64_t head_dim = spec.n_embd / spec.n_head;
    const int64_t kv_dim = spec.n_head_kv * head_dim;
    writer.set_u32(p + "vocab_size", static_cast<uint32_t>(n_vocab));
    writer.set_u32(p + "context_length", static_cast<uint32_t>(spec.n_ctx));
    writer.set_u32(p + "embedding_length", static_cast<uint32_t>(spec.n_embd));
    writer.set_u32(p + "block_count", static_cast<uint32_t>(spec.n_layer));
    writer.set_u32(p + "feed_forward_length", static_cast<uint32_t>(spec.n_ff));
    writer.set_u32(p + "rope.dimension_count", static_cast<uint32_t>(head_dim));
    writer.set_u32(p + "attention.head_count", static_cast<uint32_t>(spec.n_head));
    writer.set_u32(p + "attention.head_count_kv", static_cast<uint32_t>(spec.n_head_kv));
    writer.set_f32(p + "attention.layer_norm_rms_epsilon", 1e-5f);
    writer.set_f32(p + "rope.freq_base", spec.rope_freq_base);

    ThreadPool pool(physical_core_count());
    DummyBuilder build(spec, pool);
    const bool sub_norms = spec.arch != Architecture::llama;
    build.floats(writer, "token_embd.weight", {spec.n_embd, n_vocab}, TensorType::f16, false);
    for (int64_t i = 0; i < spec.n_layer; ++i) {
        const std::string b = cat("blk.", i, ".");
        build.floats(writer, b + "attn_norm.weight", {spec.n_embd}, TensorType::f32, true);
        build.ternary(writer, {b + "attn_q.weight", spec.n_embd, spec.n_embd});
        build.ternary(writer, {b + "attn_k.weight", spec.n_embd, kv_dim});
        build.ternary(writer, {b + "attn_v.weight", spec.n_embd, kv_dim});
        if (sub_norms)
            build.floats(writer, b + "attn_sub_norm.weight", {spec.n_embd}, TensorType::f32, true);
        build.ternary(writer, {b + "attn_output.weight", spec.n_embd, spec.n_embd});
        build.floats(writer, b + "ffn_norm.weight", {spec.n_embd}, TensorType::f32, true);
        build.ternary(writer, {b + "ffn_gate.weight", spec.n_embd, spec.n_ff});
        build.ternary(writer, {b + "ffn_up.weight", spec.n_embd, spec.n_ff});
        if (sub_norms)
            build.floats(writer, b + "ffn_sub_norm.weight", {spec.n_ff}, TensorType::f32, true);
        build.ternary(writer, {b + "ffn_down.weight", spec.n_ff, spec.n_embd});
    }
    build.floats(writer, "output_norm.weight", {spec.n_embd}, TensorType::f32, true);
    if (spec.separate_output) {
        build.floats(writer, "output.weight", {spec.n_embd, n_vocab}, TensorType::f16, false);
    }
    writer.write(path, progress);
}

}  // namespace tern
