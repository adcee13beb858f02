// The screened output layer (--lm-head screen): every logit it computes equals the full layer's
// bit for bit, every row it leaves out is below the needed top-k in the full logits, the penalised
// rows are always computed, and generation with any sampler gives the same tokens as the file's
// layer.
#include "graph/output_screen.h"
#include "kernels/fp16.h"
#include "support/gguf_edit.h"
#include "util/thread_pool.h"

#include <tern/generate.h>
#include <tern/sampler.h>
#include <tern/session.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace tern::test {
namespace {

// The needed.top-th highest full logit among the rows not penalised.
float top_threshold(const std::vector<float>& full, const LogitsNeeded& needed) {
    std::vector<float> kept;
    for (size_t r = 0; r < full.size(); ++r) {
        if (std::find(needed.penalised.begin(), needed.penalised.end(), static_cast<Token>(r)) ==
            needed.penalised.end())
            kept.push_back(full[r]);
    }
    std::nth_element(kept.begin(), kept.begin() + (needed.top - 1), kept.end(),
                     std::greater<float>());
    return kept[static_cast<size_t>(needed.top - 1)];
}

// What the screen promises for one token's logits.
void expect_screen_holds(const std::vector<float>& full, const std::vector<float>& screened,
                         const LogitsNeeded& needed) {
    ASSERT_EQ(full.size(), screened.size());
    const float threshold = top_threshold(full, needed);
    int64_t computed = 0;
    for (size_t r = 0; r < full.size(); ++r) {
        if (screened[r] == -INFINITY) {
            ASSERT_LT(full[r], threshold)
                << "row " << r << " left out but can be in the top " << needed.top;
        } else {
            ASSERT_EQ(screened[r], full[r]) << "row " << r;
            ++computed;
        }
    }
    for (Token t : needed.penalised) ASSERT_NE(screened[static_cast<size_t>(t)], -INFINITY);
    EXPECT_GE(computed, needed.top);
}

// A matrix of `rows` x `cols` F16 weights ~ N(0, sigma^2), with row 1 a copy of row 0 (equal
// logits) and row 2 a hundred times larger.
std::vector<uint16_t> random_f16_rows(int64_t rows, int64_t cols, uint64_t seed) {
    std::mt19937 rng(static_cast<uint32_t>(seed));
    std::normal_distribution<float> normal(0.0f, 0.05f);
    std::vector<uint16_t> w(static_cast<size_t>(rows * cols));
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) {
            const float v = r == 1 ? kernels::half_to_float(w[static_cast<size_t>(c)])
                                   : normal(rng) * (r == 2 ? 100.0f : 1.0f);
            w[static_cast<size_t>(r * cols + c)] = kernels::float_to_half(v);
        }
    }
    return w;
}

struct DirectScreen {
    int64_t rows, cols;
    std::vector<uint16_t> weights;
    kernels::WeightArena arena;
    ThreadPool pool{2};
    LinearWeight output;
    OutputScreen screen;
    QuantizedActivations qx;
    LinearScratch scratch;
    ScreenScratch screen_scratch;

    DirectScreen(int64_t n_rows, int64_t n_cols, float output_scale)
        : rows(n_rows), cols(n_cols), weights(random_f16_rows(n_rows, n_cols, 7)) {
        output.dense = {rows, cols, kernels::FloatWeightFormat::f16,
                        reinterpret_cast<const uint8_t*>(weights.data()),
                        cols * static_cast<int64_t>(sizeof(uint16_t))};
        output.output_scale = output_scale;
        screen = build_output_screen(output.dense, arena, pool);
    }

    std::vector<float> full(const std::vector<float>& x) {
        std::vector<float> out(static_cast<size_t>(rows));
        linear_forward(output, x.data(), qx, 1, out.data(), scratch, pool);
        return out;
    }
    std::vector<float> screened(const std::vector<float>& x, const LogitsNeeded& needed,
                                int64_t* computed = nullptr) {
        std::vector<float> out(static_cast<size_t>(rows));
        const int64_t n = screened_logits(output, screen, x.data(), needed, out.data(), qx, scratch,
                                          screen_scratch, pool);
        if (computed) *computed = n;
        return out;
    }
};

TEST(OutputScreen, BoundsHoldForHardActivations) {
    for (const float output_scale : {1.0f, 0.37f, -2.5f}) {
        SCOPED_TRACE(output_scale);
        DirectScreen s(2000, 96, output_scale);
        std::mt19937 rng(3);
        std::normal_distribution<float> normal(0.0f, 1.0f);
        // Plain, one huge outlier, tiny values (subnormal scales), a row's own direction (its
        // logit far above the rest) and all zero but one.
        std::vector<std::vector<float>> inputs(5, std::vector<float>(96));
        for (int i = 0; i < 5; ++i)
            for (float& v : inputs[static_cast<size_t>(i)]) v = normal(rng);
        inputs[1][17] = 1e4f;
        for (float& v : inputs[2]) v *= 1e-40f;
        for (int64_t c = 0; c < 96; ++c)
            inputs[3][static_cast<size_t>(c)] =
                kernels::half_to_float(s.weights[static_cast<size_t>(500 * 96 + c)]);
        std::fill(inputs[4].begin(), inputs[4].end(), 0.0f);
        inputs[4][5] = 3.0f;
        const Token penalised[] = {0, 2, 1999};
        for (size_t i = 0; i < inputs.size(); ++i) {
            SCOPED_TRACE(i);
            const std::vector<float> full = s.full(inputs[i]);
            for (const int64_t top : {1, 2, 40}) {
                for (const bool penalise : {false, true}) {
                    LogitsNeeded needed{top, {}};
                    if (penalise) needed.penalised = penalised;
                    expect_screen_holds(full, s.screened(inputs[i], needed), needed);
                }
            }
        }
    }
}

TEST(OutputScreen, ScreensOutMostRowsOfRandomWeights) {
    DirectScreen s(4000, 256, 1.0f);
    std::mt19937 rng(5);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> x(256);
    for (float& v : x) v = normal(rng);
    int64_t computed = 0;
    const LogitsNeeded needed{40, {}};
    expect_screen_holds(s.full(x), s.screened(x, needed, &computed), needed);
    // Random logits are the hard case (no clear winners): still under a tenth of the rows.
    EXPECT_GE(computed, 40);
    EXPECT_LT(computed, 400);
}

// The screen reads its candidate rows by copy (read_row), so the session releases the file's
// pages only after a token that read every row in place: the fall-back.
TEST(OutputScreen, ReleasesTheFilePagesOnlyAfterReadingEveryRowInPlace) {
    DirectScreen s(4000, 256, 1.0f);
    int releases = 0;
    s.screen.release_pages = [&] { ++releases; };
    std::mt19937 rng(9);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> x(256);
    int64_t computed = 0;
    for (int step = 0; step < 6; ++step) {
        for (float& v : x) v = normal(rng);
        const std::vector<float> screened = s.screened(x, {40, {}}, &computed);
        EXPECT_GT(computed, 0);
        EXPECT_LT(computed, 4000);
        expect_screen_holds(s.full(x), screened, {40, {}});
    }
    EXPECT_EQ(releases, 0);
    s.screened(x, {0, {}}, &computed);  // every row
    EXPECT_EQ(computed, 4000);
    EXPECT_EQ(releases, 1);
}

TEST(OutputScreen, FallsBackToEveryRowWhenItCannotScreen) {
    DirectScreen s(300, 64, 1.0f);
    std::vector<float> x(64, 0.5f);
    int64_t computed = 0;
    const std::vector<float> full = s.full(x);
    // More needed than rows left unpenalised: every row, as the full layer gives them.
    const Token penalised[] = {3, 4};
    EXPECT_EQ(s.screened(x, {299, penalised}, &computed), full);
    EXPECT_EQ(computed, 300);
    // A non-finite input: the full layer's values (NaN compares unequal, so count them).
    x[9] = NAN;
    const std::vector<float> screened = s.screened(x, {5, {}}, &computed);
    EXPECT_EQ(computed, 300);
    EXPECT_EQ(
        std::count_if(screened.begin(), screened.end(), [](float v) { return std::isnan(v); }),
        300);
}

// A damaged layer (an infinite and a NaN weight) screens without undefined behaviour, and its
// non-finite rows are always computed.
TEST(OutputScreen, NonFiniteWeightsAreComputedNotScreenedOut) {
    DirectScreen s(500, 64, 1.0f);
    s.weights[7 * 64 + 3] = 0x7C00;   // +inf
    s.weights[8 * 64 + 10] = 0x7E00;  // NaN
    s.screen = build_output_screen(s.output.dense, s.arena, s.pool);
    std::vector<float> x(64);
    for (int64_t c = 0; c < 64; ++c)
        x[static_cast<size_t>(c)] = 0.1f * static_cast<float>(c % 7) - 0.3f;
    const std::vector<float> full = s.full(x);
    const std::vector<float> screened = s.screened(x, {5, {}});
    for (size_t r = 0; r < full.size(); ++r) {
        if (std::isnan(full[r])) {
            EXPECT_TRUE(std::isnan(screened[r])) << r;
        } else if (screened[r] != -INFINITY) {
            EXPECT_EQ(screened[r], full[r]) << r;
        }
    }
    EXPECT_FALSE(std::isfinite(full[7]));
    EXPECT_TRUE(std::isnan(full[8]));
    EXPECT_NE(screened[7], -INFINITY);
    EXPECT_NE(screened[8], -INFINITY);
}

std::vector<Token> generated(const std::shared_ptr<const Model>& model,
                             const SamplerParams& params) {
    SessionOptions options;
    options.n_threads = 2;
    Session session(model, options);
    Sampler sampler(params);
    GenerationParams generation;
    generation.max_tokens = 24;
    const std::vector<Token> prompt = {1, 17, 300, 42};
    return generate(session, sampler, prompt, generation, {}).tokens;
}

TEST(OutputScreen, GeneratesWhatTheFileLayerGenerates) {
    for (const bool separate_output : {false, true}) {
        SCOPED_TRACE(separate_output);
        TempDir dir;
        DummyModelSpec spec = tiny_spec(TensorType::i2_s, Architecture::bitnet_b158);
        spec.separate_output = separate_output;
        write_dummy_model(spec, dir / "m.gguf");
        ModelLoadOptions options;
        const auto file = Model::load(dir / "m.gguf", options);
        options.output_type = OutputLayerType::screen;
        const auto screened = Model::load(dir / "m.gguf", options);
        SamplerParams greedy;
        greedy.temperature = 0.0f;
        SamplerParams top_k;
        top_k.seed = 11;
        SamplerParams penalised = top_k;
        penalised.repeat_penalty = 1.5f;
        penalised.presence_penalty = -3.0f;  // raises the recent tokens' logits
        SamplerParams wide = top_k;
        wide.top_k = 0;  // reads every logit: not screened, still the same
        for (const SamplerParams& params : {greedy, top_k, penalised, wide}) {
            const std::vector<Token> expected = generated(file, params);
            ASSERT_EQ(expected.size(), 24u);
            EXPECT_EQ(generated(screened, params), expected);
        }
    }
}

TEST(OutputScreen, SessionKeepsTheTopOfTheFullLogits) {
    TempDir dir;
    write_dummy_model(tiny_spec(TensorType::i2_s, Architecture::bitnet_b158), dir / "m.gguf");
    ModelLoadOptions options;
    options.output_type = OutputLayerType::screen;
    const auto model = Model::load(dir / "m.gguf", options);
    Session full(model), screened(model);
    std::vector<Token> next = {1, 5, 9};
    const Token penalised[] = {4, 77};
    for (int step = 0; step < 6; ++step) {
        const auto f = full.eval(next);
        const std::vector<float> full_logits(f.begin(), f.end());
        const LogitsNeeded needed{step % 2 ? 40 : 1, step >= 3 ? std::span<const Token>(penalised)
                                                               : std::span<const Token>()};
        const auto s = screened.eval(next, needed);
        expect_screen_holds(full_logits, {s.begin(), s.end()}, needed);
        EXPECT_GT(screened.screened_rows(), 0);
        EXPECT_LT(screened.screened_rows(), model->config().n_vocab / 8);
        next = {static_cast<Token>(std::max_element(full_logits.begin(), full_logits.end()) -
                                   full_logits.begin())};
    }
    // An eval that asks for every logit is not screened, and says so.
    const auto every = screened.eval(next);
    const std::vector<float> every_logit(every.begin(), every.end());
    const auto expected = full.eval(next);
    EXPECT_EQ(every_logit, std::vector<float>(expected.begin(), expected.end()));
    EXPECT_EQ(screened.screened_rows(), 0);
}

// On a trained model (real logits have clear winners) the screen computes few rows.
TEST(OutputScreen, ComputesFewRowsOfATrainedModel) {
    ModelLoadOptions options;
    options.output_type = OutputLayerType::screen;
    const auto model =
        Model::load(std::filesystem::path(TERN_MODELS_DIR) / "tinystories-bitnet.gguf", options);
    SessionOptions session_options;
    session_options.n_threads = 1;
    Session session(model, session_options);
    std::vector<Token> next = model->tokenizer().encode("Once upon a time", true, false);
    int64_t rows = 0;
    for (int step = 0; step < 16; ++step) {
        const auto logits = session.eval(next, {40, {}});
        rows += session.screened_rows();
        next = {
            static_cast<Token>(std::max_element(logits.begin(), logits.end()) - logits.begin())};
    }
    EXPECT_LT(rows / 16, model->config().n_vocab / 20);  // about 60 of 4096 when measured
}

}  // namespace
}  // namespace tern::test
