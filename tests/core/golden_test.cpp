// Golden outputs: the checked-in models must keep producing exactly these tokens. The numbers
// themselves are proven right by the NumPy reference comparison (tests/reference) and, for the
// trained default model, against PyTorch (tests/exact); these tests pin them so any change in
// numerics, tokenizer or sampler shows up at once.
#include <tern/tern.h>

#include <gtest/gtest.h>

namespace tern {
namespace {

std::vector<Token> run(const SamplerParams& params, int threads) {
    auto model = Model::load(std::string(TERN_MODELS_DIR) + "/tiny-random-bitnet.gguf");
    SessionOptions options;
    options.n_threads = threads;
    Session session(model, options);
    Sampler sampler(params);
    const auto prompt = model->tokenizer().encode("Once upon a time", true);
    EXPECT_EQ(prompt, (std::vector<Token>{1, 259, 306, 337, 326, 328, 479, 357, 473}));
    return generate(session, sampler, prompt, {.max_tokens = 24}, {}).tokens;
}

TEST(Golden, GreedyTokens) {
    const std::vector<Token> expected = {258, 258, 258, 258, 234, 234, 234, 234,
                                         234, 234, 234, 234, 234, 234, 234, 234,
                                         234, 234, 234, 234, 234, 195, 195, 195};
    EXPECT_EQ(run({.temperature = 0.0f}, 1), expected);
    EXPECT_EQ(run({.temperature = 0.0f}, 2), expected);
}

TEST(Golden, SeededSamplingTokens) {
    const SamplerParams params{
        .temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = 1234};
    const std::vector<Token> expected = {722, 51,  338, 186, 499, 457, 616, 720, 17,  144, 805, 458,
                                         435, 412, 458, 313, 209, 189, 201, 458, 699, 228, 663, 41};
    EXPECT_EQ(run(params, 1), expected);
    EXPECT_EQ(run(params, 2), expected);
}

// The default model (tools/train): greedy continuation of the quick-start prompt, identical to
// PyTorch's greedy tokens (tests/exact checks that where torch is installed).
TEST(Golden, DefaultModelTellsTheSameStory) {
    auto model = Model::load(std::string(TERN_MODELS_DIR) + "/tinystories-bitnet.gguf");
    for (int threads : {1, 2}) {
        SessionOptions options;
        options.n_threads = threads;
        Session session(model, options);
        Sampler sampler({.temperature = 0.0f});
        const auto prompt = model->tokenizer().encode("Once upon a time", true);
        const auto tokens = generate(session, sampler, prompt, {.max_tokens = 32}, {}).tokens;
        EXPECT_EQ(model->tokenizer().decode(tokens),
                  ", there was a little girl named Lily. She loved to play with her toys and eat "
                  "snacks. One day, "
                  "she found a big box in the garden.");
    }
}

}  // namespace
}  // namespace tern
