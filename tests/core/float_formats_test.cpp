// Float weight formats end to end: a model stored as BF16 / Q8_0 / Q4_K / Q6_K must give exactly
// the logits of the same model stored as the F32 values those formats decode to.
#include "kernels/float_rows.h"
#include "kernels/fp16.h"
#include "support/gguf_edit.h"

#include <tern/session.h>

#include <gtest/gtest.h>

#include <random>

namespace tern::test {
namespace {

kernels::FloatWeightFormat kernel_format(TensorType type) {
    switch (type) {
        case TensorType::bf16:
            return kernels::FloatWeightFormat::bf16;
        case TensorType::q8_0:
            return kernels::FloatWeightFormat::q8_0;
        case TensorType::q4_k:
            return kernels::FloatWeightFormat::q4_k;
        case TensorType::q6_k:
            return kernels::FloatWeightFormat::q6_k;
        default:
            return kernels::FloatWeightFormat::f32;
    }
}

// Encodes float rows into `type`: BF16 and Q8_0 by rounding, the k-quants as random blocks with a
// sane fp16 scale (every bit pattern of their quants is a valid value).
std::vector<uint8_t> encode(TensorType type, const float* x, int64_t cols, int64_t rows,
                            std::mt19937& rng) {
    const int64_t row_bytes = kernels::float_row_bytes(kernel_format(type), cols);
    std::vector<uint8_t> out(static_cast<size_t>(row_bytes * rows));
    if (type == TensorType::bf16) {
        for (int64_t i = 0; i < cols * rows; ++i)
            poke<uint16_t>(out, static_cast<size_t>(2 * i), kernels::float_to_bf16(x[i]));
    } else if (type == TensorType::q8_0) {
        for (int64_t b = 0; b < cols * rows / 32; ++b) {
            float amax = 0;
            for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[32 * b + i]));
            const float d = amax / 127.0f;
            poke<uint16_t>(out, static_cast<size_t>(34 * b), kernels::float_to_half(d));
            for (int i = 0; i < 32; ++i) {
                out[static_cast<size_t>(34 * b + 2 + i)] = static_cast<uint8_t>(
                    static_cast<int8_t>(d == 0 ? 0 : std::nearbyint(x[32 * b + i] / d)));
            }
        }
    } else {
        std::uniform_int_distribution<int> byte(0, 255);
        for (auto& v : out) v = static_cast<uint8_t>(byte(rng));
        const bool q6 = type == TensorType::q6_k;
        const int64_t block_bytes = q6 ? 210 : 144;
        for (int64_t b = 0; b < cols * rows / 256; ++b) {
            const uint16_t d = kernels::float_to_half(q6 ? 0.0005f : 0.002f);
            poke<uint16_t>(out, static_cast<size_t>(b * block_bytes + (q6 ? 208 : 0)), d);
            if (!q6)
                poke<uint16_t>(out, static_cast<size_t>(b * block_bytes + 2),
                               kernels::float_to_half(0.001f));
        }
    }
    return out;
}

TEST(FloatFormats, StoredFormatEqualsItsDecodedF32) {
    TempDir dir;
    DummyModelSpec spec = tiny_spec(TensorType::f32, Architecture::llama);
    write_dummy_model(spec, dir / "f32.gguf");
    for (TensorType type :
         {TensorType::bf16, TensorType::q8_0, TensorType::q4_k, TensorType::q6_k}) {
        SCOPED_TRACE(std::string(tensor_type_name(type)));
        std::mt19937 rng(5);
        const GgufFile source = GgufFile::open(dir / "f32.gguf");
        GgufWriter stored, decoded;
        for (const auto& [key, value] : source.metadata()) {
            stored.copy_value(key, value);
            decoded.copy_value(key, value);
        }
        for (const TensorView& t : source.tensors()) {
            std::vector<int64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
            std::vector<uint8_t> bytes(t.data.begin(), t.data.end());
            if (t.n_dims == 1) {  // norms stay F32
                stored.add_tensor(t.name, t.type, ne, bytes);
                decoded.add_tensor(t.name, t.type, ne, bytes);
                continue;
            }
            // The source holds F32 linears and an F16 token embedding.
            const auto source_format = t.type == TensorType::f16 ? kernels::FloatWeightFormat::f16
                                                                 : kernels::FloatWeightFormat::f32;
            std::vector<float> x(static_cast<size_t>(t.numel()));
            const int64_t source_row = kernels::float_row_bytes(source_format, t.ne[0]);
            for (int64_t r = 0; r < t.ne[1]; ++r) {
                kernels::dequantize_row(source_format, t.data.data() + r * source_row, t.ne[0],
                                        x.data() + r * t.ne[0]);
            }
            std::vector<uint8_t> encoded = encode(type, x.data(), t.ne[0], t.ne[1], rng);
            std::vector<float> values(static_cast<size_t>(t.numel()));
            const int64_t row_bytes = kernels::float_row_bytes(kernel_format(type), t.ne[0]);
            for (int64_t r = 0; r < t.ne[1]; ++r) {
                kernels::dequantize_row(kernel_format(type), encoded.data() + r * row_bytes,
                                        t.ne[0], values.data() + r * t.ne[0]);
            }
            std::vector<uint8_t> f32(values.size() * 4);
            std::memcpy(f32.data(), values.data(), f32.size());
            stored.add_tensor(t.name, type, ne, std::move(encoded));
            decoded.add_tensor(t.name, TensorType::f32, ne, std::move(f32));
        }
        stored.write(dir / "stored.gguf");
        decoded.write(dir / "decoded.gguf");
        const std::vector<Token> prompt = {1, 20, 300, 4, 77};
        auto logits = [&](const std::string& name) {
            Session session(Model::load(dir / name));
            const auto l = session.eval(prompt);
            return std::vector<float>(l.begin(), l.end());
        };
        const auto a = logits("stored.gguf");
        EXPECT_EQ(a, logits("decoded.gguf"));
        EXPECT_NE(*std::max_element(a.begin(), a.end()), *std::min_element(a.begin(), a.end()));
    }
}

}  // namespace
}  // namespace tern::test
