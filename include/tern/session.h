// A session: one conversation's state (KV cache, position) over a shared Model.
#pragma once

#include <tern/model.h>
#include <tern/types.h>

#include <memory>
#include <span>

namespace tern {

enum class KvCacheType {
    f32,
    f16,   // the default, as llama.cpp
    q8_0,  // blocks of 32 (fp16 scale + int8): about half of f16; head size must be a multiple of
           // 32
};

// Which logits a caller reads after eval (Sampler::logits_needed gives its sampler's): all of
// them (top == 0), or only those that can be among the `top` highest once the logits of the
// `penalised` tokens have been changed (in any way) by the caller.
struct LogitsNeeded {
    int64_t top = 0;
    std::span<const Token> penalised;
};

// The session's parallel calls (matmuls, attention, ... split across its threads) and those of
// them that ran on fewer threads because some kept being preempted mid-call (another process
// busy on the cores): then fewer threads are faster than waiting for them.
struct ThreadFallbacks {
    int64_t calls = 0;
    int64_t reduced_calls = 0;
};

struct SessionOptions {
    int64_t n_ctx = 0;  // context size in tokens; 0 = the model's, capped at 4096
    int64_t n_batch =
        128;  // most tokens per forward pass (128: fastest prefill on 2B-4T, least scratch)
    int n_threads = 0;  // 0 = physical cores
    KvCacheType kv_type = KvCacheType::f16;
};

class Session {
public:
    explicit Session(std::shared_ptr<const Model> model, const SessionOptions& options = {});
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Appends `tokens` at the current position (all of them in batched passes) and returns the
    // logits (n_vocab floats) after the last one. The span is valid until the next call.
    // Throws as check(tokens) does; the session is then unchanged.
    std::span<const float> eval(std::span<const Token> tokens);

    // Throws, evaluating nothing, what eval(tokens) would: Error(context_full) if the tokens do
    // not fit, Error(invalid_argument) for a token id outside the vocabulary.
    void check(std::span<const Token> tokens) const;

    // Like eval, but for a caller that reads only what `needed` says. With a screened output
    // layer (OutputLayerType::screen) and needed.top > 0, the logits that can be among the
    // needed.top highest (and the penalised tokens') hold the exact values eval gives and every
    // other logit is -infinity; otherwise as eval.
    std::span<const float> eval(std::span<const Token> tokens, const LogitsNeeded& needed);

    // Output-layer rows the last eval computed from the file's layer if it asked a screened model
    // for some logits only (all of them after a fall-back), else 0.
    int64_t screened_rows() const;

    // Like eval, but writes the logits after every token to `logits` (tokens.size() x n_vocab).
    void eval_all(std::span<const Token> tokens, std::span<float> logits);

    int64_t position() const;      // tokens in the KV cache
    int64_t context_size() const;  // most tokens the cache holds
    void reset();                  // forget everything; position becomes 0
    void truncate(int64_t n);      // keep only the first n tokens (n <= position)
    const Model& model() const;
    int n_threads() const;
    ThreadFallbacks thread_fallbacks() const;
    uint64_t kv_cache_bytes() const;  // memory reserved for the KV cache

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace tern
