// Sampler: greedy, seeded determinism, top-k / top-p truncation, and the sampled distribution.
#include <tern/error.h>
#include <tern/sampler.h>

#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace tern {
namespace {

TEST(Sampler, GreedyTakesTheHighestLogitLowestIdOnTies) {
    Sampler s({.temperature = 0.0f});
    const std::vector<float> logits = {0.1f, 3.0f, -1.0f, 3.0f};
    EXPECT_EQ(s.sample(logits), 1);
}

TEST(Sampler, NanLogitsAreAnErrorAndMinusInfinityIsNot) {
    std::vector<float> logits = {0.5f, -INFINITY, 2.0f, -INFINITY};  // a screened layer's output
    for (float temperature : {0.0f, 0.8f}) {
        Sampler s({.temperature = temperature, .min_p = 0.5f, .seed = 1});
        EXPECT_EQ(s.sample(logits), 2);
    }
    logits[3] = NAN;
    for (float temperature : {0.0f, 0.8f}) {
        Sampler s({.temperature = temperature, .seed = 1});
        try {
            s.sample(logits);
            ADD_FAILURE() << "a NaN logit was sampled from";
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::model);
            EXPECT_NE(std::string(e.what()).find("NaN logits"), std::string::npos) << e.what();
        }
    }
}

TEST(Sampler, SameSeedSameChoices) {
    std::vector<float> logits(1000);
    for (size_t i = 0; i < logits.size(); ++i) logits[i] = std::sin(static_cast<float>(i)) * 3.0f;
    auto draw = [&](uint64_t seed) {
        Sampler s({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = seed});
        std::vector<Token> out;
        for (int i = 0; i < 50; ++i) out.push_back(s.sample(logits));
        return out;
    };
    EXPECT_EQ(draw(42), draw(42));
    EXPECT_NE(draw(42), draw(43));
}

TEST(Sampler, TopKOneAndTinyTopPAreGreedy) {
    const std::vector<float> logits = {1.0f, 2.0f, 5.0f, 4.9f};
    Sampler k1({.temperature = 1.5f, .top_k = 1, .top_p = 1.0f, .min_p = 0.0f, .seed = 1});
    Sampler p({.temperature = 1.5f, .top_k = 0, .top_p = 0.01f, .min_p = 0.0f, .seed = 2});
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(k1.sample(logits), 2);
        EXPECT_EQ(p.sample(logits), 2);
    }
}

TEST(Sampler, FrequenciesFollowTheSoftmax) {
    // Logits log(0.5), log(0.3), log(0.2): at temperature 1 those are the probabilities.
    const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
    Sampler s({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = 7});
    std::map<Token, int> counts;
    const int n = 20000;
    for (int i = 0; i < n; ++i) ++counts[s.sample(logits)];
    EXPECT_NEAR(counts[0] / double(n), 0.5, 0.02);
    EXPECT_NEAR(counts[1] / double(n), 0.3, 0.02);
    EXPECT_NEAR(counts[2] / double(n), 0.2, 0.02);
}

TEST(Sampler, TopKTwoNeverPicksTheThird) {
    const std::vector<float> logits = {1.0f, 1.1f, 0.9f};
    Sampler s({.temperature = 2.0f, .top_k = 2, .top_p = 1.0f, .min_p = 0.0f, .seed = 3});
    std::map<Token, int> counts;
    for (int i = 0; i < 2000; ++i) ++counts[s.sample(logits)];
    EXPECT_EQ(counts[2], 0);
    EXPECT_GT(counts[0], 500);
    EXPECT_GT(counts[1], 500);
}

TEST(Sampler, MinPDropsUnlikelyTokens) {
    // Probabilities 0.6, 0.3, 0.1: min_p 0.25 keeps tokens with p >= 0.15, i.e. the first two.
    const std::vector<float> logits = {std::log(0.6f), std::log(0.3f), std::log(0.1f)};
    Sampler s({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.25f, .seed = 4});
    std::map<Token, int> counts;
    for (int i = 0; i < 3000; ++i) ++counts[s.sample(logits)];
    EXPECT_EQ(counts[2], 0);
    EXPECT_NEAR(counts[0] / 3000.0, 2.0 / 3.0, 0.04);
}

TEST(Sampler, PenaltiesFollowLlamaCppsDefinitions) {
    // Greedy with penalties: token 0 leads until it has been seen.
    const std::vector<float> logits = {2.0f, 1.5f, -1.0f};
    Sampler repeat({.temperature = 0.0f, .repeat_penalty = 1.5f});
    EXPECT_EQ(repeat.sample(logits), 0);
    repeat.accept(0);  // 2.0 / 1.5 = 1.33 < 1.5
    EXPECT_EQ(repeat.sample(logits), 1);
    Sampler presence({.temperature = 0.0f, .presence_penalty = 0.6f});
    presence.accept(0);
    presence.accept(0);                     // presence counts once however often a token occurs
    EXPECT_EQ(presence.sample(logits), 1);  // 2.0 - 0.6 = 1.4 < 1.5
    presence.accept(1);
    EXPECT_EQ(presence.sample(logits), 0);  // 1.4 vs 1.5 - 0.6 = 0.9
    Sampler frequency({.temperature = 0.0f, .frequency_penalty = 0.2f, .penalty_last_n = 3});
    for (int i = 0; i < 3; ++i) frequency.accept(0);
    EXPECT_EQ(frequency.sample(logits), 1);  // 2.0 - 0.6 = 1.4
    frequency.accept(2);
    frequency.accept(2);
    EXPECT_EQ(frequency.sample(logits), 0);  // the window of 3 now holds one 0: 1.8
}

TEST(Sampler, RejectsBadParameters) {
    EXPECT_THROW(Sampler({.temperature = -1.0f}), Error);
    EXPECT_THROW(Sampler({.temperature = NAN}), Error);
    EXPECT_THROW(Sampler({.temperature = 1.0f, .top_k = 40, .top_p = 2.0f}), Error);
    EXPECT_THROW(Sampler({.temperature = 1.0f, .top_k = 40, .top_p = 0.0f}), Error);
    EXPECT_THROW(Sampler({.temperature = 1.0f, .min_p = 1.5f}), Error);
    EXPECT_THROW(Sampler({.repeat_penalty = 0.0f}), Error);
    EXPECT_THROW(Sampler({.penalty_last_n = -1}), Error);
}

}  // namespace
}  // namespace tern
