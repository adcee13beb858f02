// Session: owns a ForwardPass (KV cache, buffers) and the position, over a shared Model.
#include "graph/forward.h"
#include "util/cpuinfo.h"
#include "util/strings.h"
#include "util/thread_pool.h"

#include <tern/error.h>
#include <tern/session.h>

#include <algorithm>

namespace tern {

struct Session::Impl {
    std::shared_ptr<const Model> model;
    const Model::Impl& m;
    int64_t n_ctx;
    int64_t n_batch;
    ThreadPool pool;
    ForwardPass forward;
    int64_t position = 0;
    std::vector<float> logits;  // [n_vocab], after the last evaluated token
    int64_t screened_rows = 0;  // of the last eval (Session::screened_rows)

    Impl(std::shared_ptr<const Model> model_ptr, const Model::Impl& impl, int64_t ctx,
         int64_t batch, int threads, KvCacheType kv)
        : model(std::move(model_ptr)),
          m(impl),
          n_ctx(ctx),
          n_batch(batch),
          pool(threads),
          forward(impl, ctx, batch, kv, threads),
          logits(static_cast<size_t>(impl.config.n_vocab)) {}
};

void Session::check(std::span<const Token> tokens) const {
    const Impl& s = *impl_;
    if (s.position + static_cast<int64_t>(tokens.size()) > s.n_ctx) {
        throw Error(ErrorCode::context_full,
                    cat(tokens.size(), " tokens do not fit: the context holds ", s.n_ctx, " and ",
                        s.position, " are used"));
    }
    for (Token token : tokens) {
        if (token < 0 || token >= s.m.config.n_vocab) {
            throw Error(
                ErrorCode::invalid_argument,
                cat("token id ", token, " is outside the vocabulary (", s.m.config.n_vocab, ")"));
        }
    }
}

Session::Session(std::shared_ptr<const Model> model, const SessionOptions& options) {
    if (!model) throw Error(ErrorCode::invalid_argument, "Session needs a model");
    const ModelConfig& c = model->config();
    int64_t n_ctx = options.n_ctx > 0 ? options.n_ctx : std::min<int64_t>(c.n_ctx_train, 4096);
    if (options.n_ctx < 0) {
        throw Error(ErrorCode::invalid_argument,
                    cat("context size must be positive, got ", options.n_ctx));
    }
    if (n_ctx > (int64_t{1} << 20)) {
        throw Error(ErrorCode::invalid_argument,
                    cat("context size ", n_ctx, " is too large (max 1048576)"));
    }
    if (options.n_batch <= 0) {
        throw Error(ErrorCode::invalid_argument,
                    cat("batch size must be positive, got ", options.n_batch));
    }
    const int threads = options.n_threads > 0 ? options.n_threads : physical_core_count();
    if (options.kv_type == KvCacheType::q8_0 && c.head_dim % 32 != 0) {
        throw Error(
            ErrorCode::invalid_argument,
            cat("a q8_0 KV cache needs a head size that is a multiple of 32; this model's is ",
                c.head_dim));
    }
    const int64_t batch = std::min(options.n_batch, n_ctx);
    impl_ = std::make_unique<Impl>(model, *model->impl_, n_ctx, batch, threads, options.kv_type);
}

Session::~Session() = default;

std::span<const float> Session::eval(std::span<const Token> tokens) {
    return eval(tokens, LogitsNeeded{});
}

std::span<const float> Session::eval(std::span<const Token> tokens, const LogitsNeeded& needed) {
    Impl& s = *impl_;
    check(tokens);
    s.screened_rows = 0;
    for (size_t done = 0; done < tokens.size();) {
        const auto n = std::min<size_t>(tokens.size() - done, static_cast<size_t>(s.n_batch));
        const bool last = done + n == tokens.size();
        s.screened_rows = s.forward.run(tokens.data() + done, static_cast<int64_t>(n), s.position,
                                        last ? 1 : 0, s.logits.data(), s.pool, &needed);
        s.position += static_cast<int64_t>(n);
        done += n;
    }
    return s.logits;
}

void Session::eval_all(std::span<const Token> tokens, std::span<float> logits) {
    Impl& s = *impl_;
    const int64_t n_vocab = s.m.config.n_vocab;
    if (logits.size() != tokens.size() * static_cast<size_t>(n_vocab)) {
        throw Error(ErrorCode::invalid_argument, cat("eval_all needs ", tokens.size(), " x ",
                                                     n_vocab, " logits, got ", logits.size()));
    }
    check(tokens);
    s.screened_rows = 0;
    for (size_t done = 0; done < tokens.size();) {
        const auto n = std::min<size_t>(tokens.size() - done, static_cast<size_t>(s.n_batch));
        s.forward.run(tokens.data() + done, static_cast<int64_t>(n), s.position,
                      static_cast<int64_t>(n), logits.data() + done * static_cast<size_t>(n_vocab),
                      s.pool);
        s.position += static_cast<int64_t>(n);
        done += n;
    }
    if (!tokens.empty()) {
        std::copy_n(logits.end() - n_vocab, n_vocab, s.logits.begin());
    }
}

int64_t Session::screened_rows() const {
    return impl_->screened_rows;
}

int64_t Session::position() const {
    return impl_->position;
}
int64_t Session::context_size() const {
    return impl_->n_ctx;
}
void Session::reset() {
    impl_->position = 0;
}

void Session::truncate(int64_t n) {
    if (n < 0 || n > impl_->position) {
        throw Error(ErrorCode::invalid_argument,
                    cat("cannot truncate to ", n, " tokens: the session holds ", impl_->position));
    }
    impl_->position = n;
}
const Model& Session::model() const {
    return *impl_->model;
}
int Session::n_threads() const {
    return impl_->pool.size();
}
ThreadFallbacks Session::thread_fallbacks() const {
    return {impl_->pool.calls(), impl_->pool.reduced_calls()};
}
uint64_t Session::kv_cache_bytes() const {
    return impl_->forward.cache().bytes();
}

}  // namespace tern
