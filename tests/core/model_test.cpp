// Model loading: configs per architecture, weight preparation, and load-time errors.
#include "support/gguf_edit.h"

#include <tern/error.h>
#include <tern/model.h>
#include <tern/session.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace tern::test {
namespace {

using ::testing::HasSubstr;

// The message Model::load throws for `path` ("no error" if it loads).
std::string load_error(const std::filesystem::path& path) {
    try {
        Model::load(path);
    } catch (const Error& e) {
        return e.what();
    }
    return "no error";
}

TEST(ModelLoad, ConfigComesFromMetadataPerArchitecture) {
    TempDir dir;
    const struct {
        Architecture arch;
        RopeStyle rope;
        FfnActivation act;
        bool sub_norms;
    } cases[] = {
        {Architecture::llama, RopeStyle::norm, FfnActivation::silu, false},
        {Architecture::bitnet, RopeStyle::neox, FfnActivation::silu, true},
        {Architecture::bitnet_b158, RopeStyle::neox, FfnActivation::relu_squared, true},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(std::string(architecture_name(c.arch)));
        const auto path = dir / (std::string(architecture_name(c.arch)) + ".gguf");
        write_dummy_model(tiny_spec(TensorType::i2_s, c.arch), path);
        const auto model = Model::load(path);
        const ModelConfig& cfg = model->config();
        EXPECT_EQ(cfg.arch, c.arch);
        EXPECT_EQ(cfg.rope, c.rope);
        EXPECT_EQ(cfg.activation, c.act);
        EXPECT_EQ(cfg.sub_norms, c.sub_norms);
        EXPECT_EQ(cfg.n_embd, 256);
        EXPECT_EQ(cfg.n_layer, 2);
        EXPECT_EQ(cfg.n_head, 4);
        EXPECT_EQ(cfg.n_head_kv, 2);
        EXPECT_EQ(cfg.head_dim, 64);
        EXPECT_EQ(cfg.n_rot, 64);
        EXPECT_EQ(cfg.n_ff, 512);
        EXPECT_EQ(cfg.n_ctx_train, 512);
        EXPECT_TRUE(cfg.tied_output);
        EXPECT_TRUE(model->has_tokenizer());
        EXPECT_EQ(model->tokenizer().n_vocab(), cfg.n_vocab);
    }
}

TEST(ModelLoad, Bitnet25IsTheB158Graph) {
    TempDir dir;
    write_dummy_model(tiny_spec(), dir / "a.gguf");
    GgufEdit rename;
    rename.keep_key = [](std::string_view key) { return key.substr(0, 13) != "bitnet-b1.58."; };
    rename.extra = [](GgufWriter& w) {
        w.set_string("general.architecture", "bitnet-25");
        w.set_u32("bitnet-25.embedding_length", 256);
        w.set_u32("bitnet-25.block_count", 2);
        w.set_u32("bitnet-25.feed_forward_length", 512);
        w.set_u32("bitnet-25.attention.head_count", 4);
        w.set_u32("bitnet-25.attention.head_count_kv", 2);
        w.set_f32("bitnet-25.rope.freq_base", 500000.0f);
    };
    rewrite_gguf(dir / "a.gguf", dir / "b.gguf", rename);
    const auto model = Model::load(dir / "b.gguf");
    EXPECT_EQ(model->config().arch, Architecture::bitnet_b158);
    EXPECT_EQ(model->config().activation, FfnActivation::relu_squared);
    EXPECT_EQ(model->config().rope_freq_base, 500000.0f);
    EXPECT_EQ(model->config().n_ctx_train, 2048);  // default when context_length is absent
}

TEST(ModelLoad, HiddenActKeyOverridesTheArchitectureDefault) {
    TempDir dir;
    write_dummy_model(tiny_spec(), dir / "a.gguf");
    GgufEdit edit;
    edit.extra = [](GgufWriter& w) { w.set_string("bitnet-b1.58.hidden_act", "silu"); };
    rewrite_gguf(dir / "a.gguf", dir / "b.gguf", edit);
    EXPECT_EQ(Model::load(dir / "b.gguf")->config().activation, FfnActivation::silu);
}

TEST(ModelLoad, InconsistentHyperParametersAreNamed) {
    TempDir dir;
    write_dummy_model(tiny_spec(), dir / "a.gguf");
    auto with = [&](const std::string& key, uint32_t value) {
        GgufEdit edit;
        edit.extra = [=](GgufWriter& w) { w.set_u32(key, value); };
        rewrite_gguf(dir / "a.gguf", dir / "b.gguf", edit);
        return load_error(dir / "b.gguf");
    };
    EXPECT_THAT(with("bitnet-b1.58.attention.head_count", 3),
                HasSubstr("attention.head_count 3 does not divide embedding_length 256"));
    EXPECT_THAT(with("bitnet-b1.58.attention.head_count_kv", 3),
                HasSubstr("attention.head_count_kv 3 does not divide head_count 4"));
    EXPECT_THAT(with("bitnet-b1.58.block_count", 3),
                HasSubstr("missing tensor 'blk.2.attn_norm.weight'"));
    EXPECT_THAT(with("bitnet-b1.58.block_count", 0),
                HasSubstr("'bitnet-b1.58.block_count' must be positive"));
    EXPECT_THAT(with("bitnet-b1.58.rope.dimension_count", 65),
                HasSubstr("rope.dimension_count 65 must be even"));
    EXPECT_THAT(with("bitnet-b1.58.feed_forward_length", 256),
                HasSubstr("tensor 'blk.0.ffn_sub_norm.weight' has shape [512], expected [256]"));
}

// A tiny F32 llama model of width n_embd with 5 heads (widths that are not powers of two).
DummyModelSpec five_head_spec(int64_t n_embd) {
    DummyModelSpec spec = tiny_spec(TensorType::f32, Architecture::llama);
    spec.n_embd = n_embd;
    spec.n_head = 5;
    spec.n_head_kv = 5;
    return spec;
}

// --lm-head q6 / q4 on a model whose width is not a whole number of 256-blocks is an error that
// says so, not a silent fall-back to the file's layer; q8 (blocks of 32) still loads.
TEST(ModelLoad, OutputLayerThatCannotBeRequantizedIsNamed) {
    TempDir dir;
    write_dummy_model(five_head_spec(320), dir / "w320.gguf");
    auto error_with = [&](OutputLayerType type) -> std::string {
        ModelLoadOptions options;
        options.output_type = type;
        try {
            Model::load(dir / "w320.gguf", options);
        } catch (const Error& e) {
            return e.what();
        }
        return "no error";
    };
    EXPECT_THAT(error_with(OutputLayerType::q6_k),
                HasSubstr("w320.gguf: cannot requantize the output layer to q6_k: its rows of 320 "
                          "values are not whole blocks of 256"));
    EXPECT_THAT(error_with(OutputLayerType::q4_k), HasSubstr("to q4_k: its rows of 320"));
    EXPECT_EQ(error_with(OutputLayerType::q8_0), "no error");
    EXPECT_EQ(error_with(OutputLayerType::file), "no error");
    EXPECT_EQ(error_with(OutputLayerType::screen), "no error");  // 320 is 10 blocks of 32
}

// --lm-head auto screens an output layer that can be screened and keeps the file's otherwise
// (rows not a whole number of 32-blocks), where --lm-head screen is an error.
TEST(ModelLoad, AutomaticOutputLayerScreensWhereItCan) {
    TempDir dir;
    write_dummy_model(five_head_spec(320), dir / "w320.gguf");
    write_dummy_model(five_head_spec(80), dir / "w80.gguf");
    auto load = [&](const char* name, OutputLayerType type) {
        ModelLoadOptions options;
        options.output_type = type;
        return Model::load(dir / name, options);
    };
    EXPECT_TRUE(load("w320.gguf", OutputLayerType::automatic)->output_screened());
    EXPECT_TRUE(load("w320.gguf", OutputLayerType::screen)->output_screened());
    EXPECT_FALSE(load("w320.gguf", OutputLayerType::file)->output_screened());
    EXPECT_FALSE(load("w320.gguf", OutputLayerType::q8_0)->output_screened());
    EXPECT_FALSE(load("w80.gguf", OutputLayerType::automatic)->output_screened());
    try {
        load("w80.gguf", OutputLayerType::screen);
        ADD_FAILURE() << "--lm-head screen loaded 80-value rows";
    } catch (const Error& e) {
        EXPECT_THAT(e.what(), HasSubstr("cannot screen the output layer with q8_0: its rows of 80 "
                                        "values are not whole blocks of 32"));
    }
}

// A ternary output layer (output.weight stored as I2_S) runs as it is: --lm-head auto keeps it,
// and a requantized or screened output layer is refused with the reason, not silently ignored.
TEST(ModelLoad, TernaryOutputLayerIsKeptByAutoAndRefusedOtherwise) {
    TempDir dir;
    write_dummy_model(tiny_spec(), dir / "probe.gguf");
    DummyModelSpec spec = tiny_spec();
    spec.separate_output = true;
    spec.n_ff = Model::load(dir / "probe.gguf")->config().n_vocab;  // ffn_up: output's shape
    write_dummy_model(spec, dir / "wide_ffn.gguf");
    const GgufFile source = GgufFile::open(dir / "wide_ffn.gguf");
    const TensorView& up = *source.find_tensor("blk.0.ffn_up.weight");
    GgufEdit edit;
    edit.keep_tensor = [](std::string_view name) { return name != "output.weight"; };
    edit.extra = [&](GgufWriter& w) {
        const int64_t ne[] = {up.ne[0], up.ne[1]};
        w.add_tensor("output.weight", up.type, ne,
                     std::vector<uint8_t>(up.data.begin(), up.data.end()));
    };
    rewrite_gguf(dir / "wide_ffn.gguf", dir / "ternary_output.gguf", edit);
    auto error_with = [&](OutputLayerType type) -> std::string {
        ModelLoadOptions options;
        options.output_type = type;
        try {
            const auto model = Model::load(dir / "ternary_output.gguf", options);
            return model->output_screened() ? "screened" : "no error";
        } catch (const Error& e) {
            return e.what();
        }
    };
    EXPECT_EQ(error_with(OutputLayerType::file), "no error");
    EXPECT_EQ(error_with(OutputLayerType::automatic), "no error");
    ModelLoadOptions automatic;
    automatic.output_type = OutputLayerType::automatic;
    Session session(Model::load(dir / "ternary_output.gguf", automatic));
    const Token prompt[] = {1, 42};
    const auto logits = session.eval(prompt);
    EXPECT_TRUE(
        std::all_of(logits.begin(), logits.end(), [](float v) { return std::isfinite(v); }));
    EXPECT_GT(*std::max_element(logits.begin(), logits.end()),
              *std::min_element(logits.begin(), logits.end()));
    EXPECT_THAT(error_with(OutputLayerType::screen),
                HasSubstr("ternary_output.gguf: cannot screen the output layer: it is ternary"));
    EXPECT_THAT(error_with(OutputLayerType::q8_0),
                HasSubstr("cannot requantize the output layer to q8_0: it is ternary"));
    EXPECT_THAT(error_with(OutputLayerType::q4_k),
                HasSubstr("cannot requantize the output layer to q4_k: it is ternary"));
}

TEST(ModelLoad, WeightProblemsAreNamed) {
    TempDir dir;
    write_bad_models(dir.path());
    auto message = [&](const std::string& name) { return load_error(dir / name); };
    EXPECT_THAT(message("missing_tensor.gguf"), HasSubstr("missing tensor 'blk.0.ffn_up.weight'"));
    EXPECT_THAT(
        message("wrong_shape.gguf"),
        HasSubstr("tensor 'blk.0.attn_k.weight' has shape [128, 256], expected [256, 128]"));
    EXPECT_THAT(
        message("unknown_arch.gguf"),
        HasSubstr(
            "unknown architecture 'mamba' (tern runs llama, bitnet, bitnet-b1.58 and bitnet-25)"));
    const auto model = Model::load(dir / "no_tokenizer.gguf");
    EXPECT_FALSE(model->has_tokenizer());
    try {
        model->tokenizer();
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::tokenizer);
        EXPECT_THAT(e.what(), HasSubstr("has no tokenizer (tokenizer.ggml.model is missing)"));
    }
}

TEST(ModelLoad, NonFiniteScalesAndNormsAreRejected) {
    TempDir dir;
    write_dummy_model(tiny_spec(), dir / "a.gguf");
    std::vector<uint8_t> bytes = read_bytes(dir / "a.gguf");
    const GgufFile file = GgufFile::parse(bytes);
    const TensorView* q = file.find_tensor("blk.0.attn_q.weight");
    const size_t scale_at =
        static_cast<size_t>(q->data.data() - bytes.data()) + static_cast<size_t>(q->numel() / 4);
    std::vector<uint8_t> nan_scale = bytes;
    poke<float>(nan_scale, scale_at, std::numeric_limits<float>::quiet_NaN());
    write_bytes(dir / "nan_scale.gguf", nan_scale);
    EXPECT_THAT(load_error(dir / "nan_scale.gguf"),
                HasSubstr("tensor 'blk.0.attn_q.weight' has a non-finite scale"));
    const TensorView* norm = file.find_tensor("blk.1.ffn_norm.weight");
    std::vector<uint8_t> inf_norm = bytes;
    poke<float>(inf_norm, static_cast<size_t>(norm->data.data() - bytes.data()) + 8,
                std::numeric_limits<float>::infinity());
    write_bytes(dir / "inf_norm.gguf", inf_norm);
    EXPECT_THAT(load_error(dir / "inf_norm.gguf"),
                HasSubstr("tensor 'blk.1.ffn_norm.weight' contains a non-finite value"));
}

TEST(ModelLoad, InvalidI2sCodeIsRejected) {
    TempDir dir;
    write_dummy_model(tiny_spec(), dir / "a.gguf");
    std::vector<uint8_t> bytes = read_bytes(dir / "a.gguf");
    const GgufFile file = GgufFile::parse(bytes);
    const TensorView* up = file.find_tensor("blk.1.ffn_up.weight");
    bytes[static_cast<size_t>(up->data.data() - bytes.data()) + 17] = 0xFF;
    write_bytes(dir / "b.gguf", bytes);
    EXPECT_THAT(load_error(dir / "b.gguf"),
                HasSubstr("tensor 'blk.1.ffn_up.weight' (i2_s) contains the invalid 2-bit code 3"));
}

TEST(ModelLoad, CountsParametersAndBytes) {
    TempDir dir;
    write_dummy_model(tiny_spec(), dir / "a.gguf");
    const auto model = Model::load(dir / "a.gguf");
    const int64_t v = model->config().n_vocab;
    const uint64_t per_layer = 256 * (256 + 128 + 128 + 256) + 3 * 256 * 512 + 256 * 3 + 512;
    EXPECT_EQ(model->n_params(), static_cast<uint64_t>(v * 256 + 256) + 2 * per_layer);
    EXPECT_EQ(model->name(), "tern-dummy-tiny");
}

}  // namespace
}  // namespace tern::test
