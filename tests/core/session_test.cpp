// Sessions: batched prompt processing equals token-by-token decoding bit for bit, thread counts
// do not change results, and context limits are enforced without corrupting state.
#include "support/gguf_edit.h"

#include <tern/error.h>
#include <tern/generate.h>
#include <tern/sampler.h>
#include <tern/session.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

namespace tern::test {
namespace {

struct Fixture {
    TempDir dir;
    std::shared_ptr<const Model> model;
    explicit Fixture(TensorType type = TensorType::i2_s,
                     Architecture arch = Architecture::bitnet_b158) {
        write_dummy_model(tiny_spec(type, arch), dir / "m.gguf");
        model = Model::load(dir / "m.gguf");
    }
};

const std::vector<Token> kPrompt = {1, 17, 300, 42, 99, 7, 512, 3, 250, 11};

std::vector<float> logits_by_batches(const std::shared_ptr<const Model>& model, int64_t batch,
                                     int threads, KvCacheType kv = KvCacheType::f16) {
    SessionOptions options;
    options.n_batch = batch;
    options.n_threads = threads;
    options.kv_type = kv;
    Session session(model, options);
    const auto logits = session.eval(kPrompt);
    EXPECT_EQ(session.position(), static_cast<int64_t>(kPrompt.size()));
    return {logits.begin(), logits.end()};
}

TEST(Session, BatchedPromptEqualsTokenByTokenExactly) {
    for (Architecture arch :
         {Architecture::llama, Architecture::bitnet, Architecture::bitnet_b158}) {
        SCOPED_TRACE(std::string(architecture_name(arch)));
        Fixture f(TensorType::i2_s, arch);
        const auto whole = logits_by_batches(f.model, 512, 1);
        EXPECT_EQ(logits_by_batches(f.model, 1, 1), whole);
        EXPECT_EQ(logits_by_batches(f.model, 3, 1), whole);
        // The logits are real numbers that differ between tokens (not all zero or equal).
        EXPECT_NE(*std::max_element(whole.begin(), whole.end()),
                  *std::min_element(whole.begin(), whole.end()));
        for (float v : whole) ASSERT_TRUE(std::isfinite(v));
    }
}

TEST(Session, ThreadCountDoesNotChangeLogits) {
    Fixture f;
    const auto one = logits_by_batches(f.model, 512, 1);
    EXPECT_EQ(logits_by_batches(f.model, 512, 2), one);
    EXPECT_EQ(logits_by_batches(f.model, 4, 3), one);
}

TEST(Session, EveryWeightTypeGivesTheSameModel) {
    // The dummy writer stores the same trits and the same (fp16-exact) scale in every type, so
    // I2_S, TQ2_0, TQ1_0 and exactly-ternary F16/F32 weights are one model: identical logits.
    Fixture i2s(TensorType::i2_s);
    const auto expected = logits_by_batches(i2s.model, 512, 1);
    for (TensorType type :
         {TensorType::tq2_0, TensorType::tq1_0, TensorType::f16, TensorType::f32}) {
        SCOPED_TRACE(std::string(tensor_type_name(type)));
        Fixture other(type);
        EXPECT_EQ(logits_by_batches(other.model, 512, 1), expected);
    }
}

TEST(Session, F32KvCacheIsCloseToF16) {
    Fixture f;
    const auto h = logits_by_batches(f.model, 512, 1, KvCacheType::f16);
    const auto s = logits_by_batches(f.model, 512, 1, KvCacheType::f32);
    float max_diff = 0;
    for (size_t i = 0; i < h.size(); ++i) max_diff = std::max(max_diff, std::fabs(h[i] - s[i]));
    EXPECT_GT(max_diff, 0.0f);  // the cache really is rounded
    EXPECT_LT(max_diff, 0.05f);
}

TEST(Session, Q8KvCacheIsCloseToF16) {
    Fixture f;
    const auto h = logits_by_batches(f.model, 512, 1, KvCacheType::f16);
    const auto q = logits_by_batches(f.model, 512, 1, KvCacheType::q8_0);
    EXPECT_EQ(logits_by_batches(f.model, 3, 2, KvCacheType::q8_0),
              q);  // batching and threads never matter
    float max_diff = 0, max_abs = 0;
    for (size_t i = 0; i < h.size(); ++i) {
        max_diff = std::max(max_diff, std::fabs(h[i] - q[i]));
        max_abs = std::max(max_abs, std::fabs(h[i]));
    }
    EXPECT_GT(max_diff, 0.0f);
    EXPECT_LT(max_diff, 0.05f * max_abs);
    Session s(f.model, {.n_ctx = 256, .kv_type = KvCacheType::q8_0});
    Session t(f.model, {.n_ctx = 256, .kv_type = KvCacheType::f16});
    EXPECT_LT(s.kv_cache_bytes(), t.kv_cache_bytes() * 6 / 10);  // 34 vs 64 bytes per 32 values
}

TEST(Session, ContextFullLeavesTheSessionUnchanged) {
    Fixture f;
    SessionOptions options;
    options.n_ctx = 12;
    Session session(f.model, options);
    session.eval(kPrompt);
    const std::vector<Token> three = {5, 6, 7};
    try {
        session.eval(three);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::context_full);
        EXPECT_THAT(e.what(), ::testing::HasSubstr(
                                  "3 tokens do not fit: the context holds 12 and 10 are used"));
    }
    EXPECT_EQ(session.position(), 10);
    const std::vector<Token> two = {5, 6};
    session.eval(two);
    EXPECT_EQ(session.position(), 12);
}

TEST(Session, ResetStartsOverWithIdenticalResults) {
    Fixture f;
    Session session(f.model);
    const auto first = session.eval(kPrompt);
    const std::vector<float> a(first.begin(), first.end());
    session.reset();
    EXPECT_EQ(session.position(), 0);
    const auto second = session.eval(kPrompt);
    EXPECT_EQ(std::vector<float>(second.begin(), second.end()), a);
}

TEST(Session, EvalAllMatchesIncrementalLogits) {
    Fixture f;
    Session all(f.model), step(f.model);
    const int64_t v = f.model->config().n_vocab;
    std::vector<float> logits(kPrompt.size() * static_cast<size_t>(v));
    all.eval_all(kPrompt, logits);
    for (size_t t = 0; t < kPrompt.size(); ++t) {
        const Token one[] = {kPrompt[t]};
        const auto l = step.eval(one);
        EXPECT_TRUE(
            std::equal(l.begin(), l.end(), logits.begin() + static_cast<std::ptrdiff_t>(t * v)))
            << "position " << t;
    }
}

// generate() checks the prompt before anything changes: the sampler's penalty window too.
TEST(Session, GenerateRejectsABadPromptBeforeTouchingTheSampler) {
    Fixture f;
    Session session(f.model);
    SamplerParams params;
    params.repeat_penalty = 1.3f;
    Sampler sampler(params);
    const std::vector<Token> bad = {1, 17, static_cast<Token>(f.model->config().n_vocab)};
    try {
        generate(session, sampler, bad, {.max_tokens = 4}, {});
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
        EXPECT_THAT(e.what(), ::testing::HasSubstr("is outside the vocabulary"));
    }
    EXPECT_TRUE(sampler.logits_needed().penalised.empty());
    EXPECT_EQ(session.position(), 0);
}

TEST(Session, RejectsOutOfVocabularyTokens) {
    Fixture f;
    Session session(f.model);
    const std::vector<Token> bad = {1, static_cast<Token>(f.model->config().n_vocab)};
    EXPECT_THROW(session.eval(bad), Error);
    EXPECT_EQ(session.position(), 0);
}

}  // namespace
}  // namespace tern::test
