// Kernel benchmarks at the BitNet-b1.58-2B-4T and 0.7B shapes: the output layer (F16, Q8_0) and
// every ternary kernel strategy (LUT, MAD, scalar) as GEMV (1 token) and GEMM (128 tokens) on 1 and
// 2 threads, with a memory read-bandwidth probe run first in the same process so GEMV figures read
// as % of the roof.
//
// GEMV weights stream from DRAM: each benchmark cycles through enough copies of the matrix
// (>= 512 MiB) that no cache holds them, as in real decoding where every layer is read once.
// The ternary_cached/ GEMVs read one copy over and over from whichever cache holds it, which
// shows the kernels' arithmetic alone (no share of the roof is printed for them).
#include "graph/attention.h"
#include "graph/kv_cache.h"
#include "graph/linear.h"
#include "kernels/dispatch.h"
#include "kernels/float_kernels.h"
#include "kernels/float_rows.h"
#include "kernels/ternary_layout.h"
#include "kernels/ternary_matmul.h"
#include "util/thread_pool.h"

#include <tern/system.h>

#include <benchmark/benchmark.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace tern;
using namespace tern::kernels;

// ---- memory read bandwidth -------------------------------------------------------------------

double g_bandwidth[3] = {0, 0, 0};  // GB/s by thread count (1, 2)

// ---- ternary matmul --------------------------------------------------------------------------

struct Shape {
    const char* model;
    const char* name;
    int64_t m, k;
};

const Shape kShapes[] = {
    {"2b4t", "qo", 2560, 2560},   {"2b4t", "kv", 640, 2560},    {"2b4t", "gate_up", 6912, 2560},
    {"2b4t", "down", 2560, 6912}, {"0.7b", "qkvo", 1536, 1536}, {"0.7b", "gate_up", 4096, 1536},
    {"0.7b", "down", 1536, 4096},
};

// kMadPlain is the multiply-add kernel of the plain AVX2 set when the best set is better (AVX-VNNI
// or AVX-512), so both multiply-add variants are measured on CPUs that have VNNI. kLutDecoded is
// the set's tl3 prompt kernel (tiles decoded for multiply-adds), where it has one; kLut at N > 1
// is the lookup GEMM.
enum Strategy { kLut, kLutDecoded, kMad, kMadPlain, kScalar };
const char* kStrategyNames[] = {"lut", "lut_decoded", "mad", "mad_plain", "scalar"};

struct Fixture {
    WeightArena arena;                  // the copies' bytes, on huge pages as in a loaded model
    std::vector<PackedTernary> copies;  // weights, cycled so GEMV reads from DRAM
    ActivationBatch acts;
};

const KernelSet& best_set() {
    return *supported_kernel_sets().front();
}

const KernelSet* plain_set() {
    if (std::strcmp(best_set().isa, "avx2") == 0) return nullptr;
    for (const KernelSet* set : supported_kernel_sets())
        if (std::strcmp(set->isa, "avx2") == 0) return set;
    return nullptr;
}

TernaryLayout layout_of(Strategy s) {
    return s == kLut || s == kLutDecoded ? TernaryLayout::tl3
           : s == kScalar                ? TernaryLayout::ref
                                         : TernaryLayout::i2;
}

// `cached`: one copy of the weights (the GEMV reads it from cache) instead of 512 MiB of them.
Fixture& fixture(const Shape& shape, Strategy strategy, int64_t n_tokens, bool cached) {
    static std::map<std::string, std::unique_ptr<Fixture>> cache;
    const std::string key = std::string(shape.model) + shape.name + kStrategyNames[strategy] +
                            std::to_string(n_tokens) + (cached ? "cached" : "");
    auto& slot = cache[key];
    if (slot) return *slot;
    cache.clear();  // keep at most one fixture's copies in memory
    auto& f = cache[key];
    f = std::make_unique<Fixture>();
    std::mt19937 rng(1);
    std::uniform_int_distribution<int> trit(-1, 1), act(-127, 127);
    const TernaryLayout layout = layout_of(strategy);
    PackedTernary first = allocate_packed(layout, shape.m, shape.k, &f->arena);
    const int64_t tile = layout_row_tile(layout);
    std::vector<int8_t> trits(static_cast<size_t>(first.row_tiles * tile * shape.k));
    for (auto& t : trits) t = static_cast<int8_t>(trit(rng));
    pack_row_tiles(first, 0, first.row_tiles, trits.data());
    const uint64_t bytes = first.bytes();
    const int64_t copies = n_tokens == 1 && !cached
                               ? std::max<int64_t>(1, static_cast<int64_t>((512ull << 20) / bytes))
                               : 1;
    f->copies.push_back(std::move(first));
    for (int64_t c = 1; c < copies; ++c) {
        PackedTernary copy = allocate_packed(layout, shape.m, shape.k, &f->arena);
        std::memcpy(copy.data.get(), f->copies[0].data.get(), copy.data.size);
        copy.neg_count = f->copies[0].neg_count;
        f->copies.push_back(std::move(copy));
    }
    resize_batch(f->acts, n_tokens, shape.k);
    for (int64_t t = 0; t < n_tokens; ++t) {
        auto* q = const_cast<int8_t*>(f->acts.token_q(t));
        for (int64_t c = 0; c < shape.k; ++c) q[c] = static_cast<int8_t>(act(rng));
        finish_token(f->acts, t);
    }
    prepare_input(best_set(), best_set().tl3_gemm, f->acts);
    prepare_input(best_set(), best_set().tl3_prompt, f->acts);
    return *f;
}

void BM_ternary(benchmark::State& state, Shape shape, Strategy strategy, int64_t n_tokens,
                int threads, bool cached) {
    const KernelSet& set = strategy == kScalar     ? scalar_kernels()
                           : strategy == kMadPlain ? *plain_set()
                                                   : best_set();
    const NamedKernel& kernel = strategy == kLut ? (n_tokens == 1 ? set.tl3_gemv : set.tl3_gemm)
                                : strategy == kLutDecoded ? set.tl3_prompt
                                : strategy == kScalar     ? set.ref_gemm
                                                      : (n_tokens == 1 ? set.i2_gemv : set.i2_gemm);
    Fixture& f = fixture(shape, strategy, n_tokens, cached);
    ThreadPool pool(threads);
    std::vector<int32_t> out(static_cast<size_t>(n_tokens * shape.m));
    size_t next = 0;
    for (auto _ : state) {
        const PackedTernary& w = f.copies[next];
        next = (next + 1) % f.copies.size();
        pool.parallel_for(w.row_tiles, 1, [&](int64_t b, int64_t e) {
            kernel.fn({&w, b, e, 0, w.col_units, &f.acts, 0, n_tokens, out.data(), shape.m});
        });
        benchmark::DoNotOptimize(out.data());
    }
    const double iterations = static_cast<double>(state.iterations());
    const double weight_bytes = static_cast<double>(f.copies[0].bytes());
    const double macs = static_cast<double>(shape.m * shape.k * n_tokens);
    state.counters["tokens/s"] =
        benchmark::Counter(iterations * static_cast<double>(n_tokens), benchmark::Counter::kIsRate);
    state.counters["weight_GB/s"] =
        benchmark::Counter(iterations * weight_bytes / 1e9, benchmark::Counter::kIsRate);
    state.counters["GMAC/s"] =
        benchmark::Counter(iterations * macs / 1e9, benchmark::Counter::kIsRate);
    state.counters["GMAC/s/core"] =
        benchmark::Counter(iterations * macs / 1e9 / threads, benchmark::Counter::kIsRate);
    state.SetLabel(kernel.name);
}

// ---- output layer (float GEMV) ----------------------------------------------------------------

// The output layer of a model shape, [vocab rows x embd], as F16 or BF16 (the files' lossless
// layers), or Q8_0 / Q6_K / Q4_K against int8 activations (--lm-head q8 / q6 / q4). Too large for
// any cache, so every call streams it from DRAM (huge pages, as in a loaded model); rows split
// across threads in blocks of 64, as the graph does.
void BM_output(benchmark::State& state, const char* model, int64_t rows, int64_t k,
               FloatWeightFormat format, const KernelSet* set, int threads) {
    static std::map<std::string, AlignedBuffer> cache;
    const std::string key = std::string(model) + std::to_string(static_cast<int>(format));
    const int64_t row_bytes = float_row_bytes(format, k);
    if (cache.count(key) == 0) {
        cache.clear();
        AlignedBuffer bytes = AlignedBuffer::allocate(static_cast<size_t>(rows * row_bytes));
        std::mt19937 rng(3);
        for (size_t i = 0; i < bytes.size; i += 2) {
            const uint16_t half =
                static_cast<uint16_t>(0x2c00 + rng() % 0x1000);  // small finite halves
            std::memcpy(bytes.get() + i, &half, 2);
        }
        cache[key] = std::move(bytes);
    }
    const AlignedBuffer& w = cache[key];
    std::vector<float> x(static_cast<size_t>(k), 0.5f), out(static_cast<size_t>(rows));
    std::vector<int8_t> xq(static_cast<size_t>(k));
    std::vector<float> xd(static_cast<size_t>(k / 32));
    std::vector<int16_t> xsums(static_cast<size_t>(k / 16));
    const bool k_quant = format == FloatWeightFormat::q6_k || format == FloatWeightFormat::q4_k;
    if (k_quant) {
        quantize_q8_k_activations(x.data(), k, xq.data(), xd.data(), xsums.data());
    } else {
        quantize_q8_activations(x.data(), k, xq.data(), xd.data());
    }
    const Q8KActivations xk{xq.data(), xd.data(), xsums.data()};
    const FloatKernels& fk = *set->floats;
    ThreadPool pool(threads);
    for (auto _ : state) {
        pool.parallel_for(rows, 64, [&](int64_t b, int64_t e) {
            if (k_quant) {
                fk.gemv_k_q8(format, w.get() + b * row_bytes, row_bytes, e - b, k, xk,
                             out.data() + b);
            } else if (format == FloatWeightFormat::q8_0) {
                fk.gemv_q8_0_q8(w.get() + b * row_bytes, row_bytes, e - b, k, xq.data(), xd.data(),
                                out.data() + b);
            } else {
                fk.gemv(format, w.get() + b * row_bytes, row_bytes, e - b, k, x.data(),
                        out.data() + b);
            }
        });
        benchmark::DoNotOptimize(out.data());
    }
    state.counters["weight_GB/s"] = benchmark::Counter(
        static_cast<double>(state.iterations()) * static_cast<double>(w.size) / 1e9,
        benchmark::Counter::kIsRate);
    state.counters["GMAC/s"] = benchmark::Counter(
        static_cast<double>(state.iterations()) * static_cast<double>(rows * k) / 1e9,
        benchmark::Counter::kIsRate);
    const bool int8 = k_quant || format == FloatWeightFormat::q8_0;
    state.SetLabel(std::string(float_format_name(format)) + (int8 ? " x int8, " : ", ") + fk.isa);
}

// ---- one token's ternary calls ---------------------------------------------------------------

// A token's ternary matmuls in the model's order, through the graph's own linear_forward_shared
// (the fused jobs and their balanced split), each layer's matrices in their own place in one
// arena (as loaded): Q, K, V as one job, O, gate + up as one job, down, for every layer. Reads as
// many bytes as the model's ternary weights, so it shows what the per-call ramp and joins cost
// against the single-shape figures above. The inputs are quantised once, outside the timing.
struct TokenSequence {
    WeightArena arena;
    std::deque<LinearWeight> weights;             // Q, K, V, O, gate, up, down of every layer
    std::vector<std::vector<LinearTarget>> jobs;  // per job, the linears sharing its input
    std::vector<float> x_embd, x_ff, out;         // inputs of width embd / ff; a job's outputs
    QuantizedActivations q_embd, q_ff;            // the inputs quantised
    uint64_t bytes = 0;
};

TokenSequence& token_sequence(const char* model, int64_t layers, int64_t embd, int64_t kv,
                              int64_t ff) {
    static std::map<std::string, std::unique_ptr<TokenSequence>> cache;
    auto& slot = cache[model];
    if (slot) return *slot;
    slot = std::make_unique<TokenSequence>();
    TokenSequence& s = *slot;
    std::mt19937 rng(2);
    std::uniform_int_distribution<int> trit(-1, 1);
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    s.out.resize(static_cast<size_t>(2 * std::max(ff, embd + kv)));
    // A BitLinear of m x k random trits (one per-tensor scale), its output at `offset` in out.
    const auto linear = [&](int64_t m, int64_t k, int64_t offset) {
        LinearWeight& w = s.weights.emplace_back();
        w.ternary = w.quantize_input = true;
        w.ternary_matrix.packed = allocate_packed(TernaryLayout::i2, m, k, &s.arena);
        kernels::PackedTernary& p = w.ternary_matrix.packed;
        std::vector<int8_t> trits(static_cast<size_t>(p.row_tiles * layout_row_tile(p.layout) * k));
        for (auto& t : trits) t = static_cast<int8_t>(trit(rng));
        pack_row_tiles(p, 0, p.row_tiles, trits.data());
        w.ternary_matrix.group_size = k;
        w.ternary_matrix.scales = {1.0f};
        s.bytes += p.bytes();
        return LinearTarget{&w, s.out.data() + offset};
    };
    for (int64_t l = 0; l < layers; ++l) {
        s.jobs.push_back(
            {linear(embd, embd, 0), linear(kv, embd, embd), linear(kv, embd, embd + kv)});
        s.jobs.push_back({linear(embd, embd, 0)});
        s.jobs.push_back({linear(ff, embd, 0), linear(ff, embd, ff)});
        s.jobs.push_back({linear(embd, ff, 0)});
    }
    ThreadPool one(1);
    for (auto [x, q, k] :
         {std::tuple{&s.x_embd, &s.q_embd, embd}, std::tuple{&s.x_ff, &s.q_ff, ff}}) {
        x->resize(static_cast<size_t>(k));
        for (float& v : *x) v = value(rng);
        q->quantize(x->data(), 1, k, one);
    }
    return s;
}

void BM_token_sequence(benchmark::State& state, const char* model, int64_t layers, int64_t embd,
                       int64_t kv, int64_t ff, int threads) {
    TokenSequence& s = token_sequence(model, layers, embd, kv, ff);
    ThreadPool pool(threads);
    LinearScratch scratch;
    for (auto _ : state) {
        for (const auto& job : s.jobs) {
            const bool wide = job[0].w->cols() == ff;
            linear_forward_shared(job, wide ? s.x_ff.data() : s.x_embd.data(),
                                  wide ? s.q_ff : s.q_embd, 1, scratch, pool);
        }
        benchmark::DoNotOptimize(s.out.data());
    }
    state.counters["weight_GB/s"] = benchmark::Counter(
        static_cast<double>(state.iterations()) * static_cast<double>(s.bytes) / 1e9,
        benchmark::Counter::kIsRate);
    state.SetLabel(best_set().i2_gemv.name);
}

// ---- attention over a filled KV cache ------------------------------------------------------

// One layer's attention after `depth` cached positions, for `n_tokens` new tokens (1: a
// generated token; more: a prompt batch), each iteration on the next of the model's layers so
// the cache streams from DRAM as in generation (2B-4T at depth 4000: 307 MB of F16 keys and
// values). kv_GB/s counts the keys and values the tokens read.
void BM_attention(benchmark::State& state, const char* model, int64_t layers, int64_t n_head,
                  int64_t n_head_kv, int64_t head_dim, int64_t depth, int64_t n_tokens,
                  int threads) {
    ModelConfig c;
    c.n_layer = layers;
    c.n_head = n_head;
    c.n_head_kv = n_head_kv;
    c.head_dim = head_dim;
    c.n_embd = n_head * head_dim;
    const int64_t ctx = depth + n_tokens;
    const FloatKernels& fk = *best_set().floats;
    static std::map<std::string, std::unique_ptr<KvCache>> caches;
    const std::string key = std::string(model) + std::to_string(ctx);
    if (caches.count(key) == 0) {
        caches.clear();
        auto cache = std::make_unique<KvCache>(KvCacheType::f16, layers, ctx, n_head_kv, head_dim);
        std::mt19937 rng(4);
        std::normal_distribution<float> value(0.0f, 1.0f);
        std::vector<float> k(static_cast<size_t>(n_head_kv * head_dim)), v(k.size());
        for (int64_t l = 0; l < layers; ++l) {
            for (int64_t pos = 0; pos < ctx; ++pos) {
                for (size_t i = 0; i < k.size(); ++i) k[i] = value(rng), v[i] = value(rng);
                cache->store(fk, l, pos, k.data(), v.data());
            }
        }
        caches[key] = std::move(cache);
    }
    const KvCache& cache = *caches[key];
    std::mt19937 rng(5);
    std::normal_distribution<float> value(0.0f, 1.0f);
    std::vector<float> q(static_cast<size_t>(n_tokens * c.n_embd)), out(q.size());
    for (float& x : q) x = value(rng);
    ThreadPool pool(threads);
    AttentionScratch scratch;
    scratch.reserve(threads, n_head, n_head / n_head_kv, ctx);
    int64_t layer = 0;
    for (auto _ : state) {
        attention(fk, cache, layer, c, q.data(), n_tokens, depth, out.data(), scratch, pool);
        layer = (layer + 1) % layers;
        benchmark::DoNotOptimize(out.data());
    }
    // Token t reads depth + t + 1 positions of every KV head, keys and values.
    const double positions = static_cast<double>(n_tokens * depth + n_tokens * (n_tokens + 1) / 2);
    const double iterations = static_cast<double>(state.iterations());
    state.counters["kv_GB/s"] = benchmark::Counter(
        iterations * positions * 2.0 * static_cast<double>(n_head_kv * cache.row_bytes()) / 1e9,
        benchmark::Counter::kIsRate);
    state.counters["GMAC/s"] = benchmark::Counter(
        iterations * positions * 2.0 * static_cast<double>(n_head * head_dim) / 1e9,
        benchmark::Counter::kIsRate);
    state.SetLabel(std::string("f16, ") + fk.isa);
}

// Reported after the runs: achieved weight GB/s of each GEMV as a share of the measured roof.
class RoofReporter : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run>& runs) override {
        std::vector<Run> annotated = runs;
        for (Run& run : annotated) {
            auto it = run.counters.find("weight_GB/s");
            if (it == run.counters.end()) it = run.counters.find("kv_GB/s");
            const auto threads =
                run.benchmark_name().find("threads:2") != std::string::npos ? 2 : 1;
            if (it != run.counters.end() &&
                run.benchmark_name().find("/N:1/") != std::string::npos &&
                run.benchmark_name().rfind("ternary_cached/", 0) != 0 && g_bandwidth[threads] > 0) {
                run.counters["%roof"] =
                    benchmark::Counter(100.0 * it->second.value / g_bandwidth[threads]);
            }
        }
        ConsoleReporter::ReportRuns(annotated);
    }
};

void register_all() {
    const struct {
        const char* model;
        int64_t rows, k;
    } outputs[] = {{"2b4t", 128256, 2560}, {"0.7b", 32002, 1536}};
    for (const auto& o : outputs) {
        for (FloatWeightFormat format :
             {FloatWeightFormat::f16, FloatWeightFormat::bf16, FloatWeightFormat::q8_0,
              FloatWeightFormat::q6_k, FloatWeightFormat::q4_k}) {
            // "_plain": the AVX2 set's kernel, where the best set (AVX-VNNI, AVX-512) has others.
            for (const KernelSet* set : {&best_set(), plain_set()}) {
                if (set == nullptr) continue;
                for (int threads : {1, 2}) {
                    const std::string name = std::string("output/") + o.model + "/" +
                                             std::to_string(o.rows) + "x" + std::to_string(o.k) +
                                             "/N:1/" + float_format_name(format) +
                                             (set == &best_set() ? "" : "_plain") +
                                             "/threads:" + std::to_string(threads);
                    benchmark::RegisterBenchmark(name.c_str(), BM_output, o.model, o.rows, o.k,
                                                 format, set, threads)
                        ->UseRealTime()
                        ->Unit(benchmark::kMillisecond)
                        ->MinTime(0.5);
                }
            }
        }
    }
    for (const Shape& shape : kShapes) {
        for (int64_t n : {int64_t{1}, int64_t{128}}) {
            for (Strategy s : {kLut, kLutDecoded, kMad, kMadPlain, kScalar}) {
                if (s == kScalar && n > 1)
                    continue;  // the scalar reference is too slow for GEMM here
                if (s == kLutDecoded && (n == 1 || best_set().tl3_prompt.fn == nullptr)) continue;
                if (s == kMadPlain && plain_set() == nullptr) continue;
                for (int threads : {1, 2}) {
                    const std::string name = std::string("ternary/") + shape.model + "/" +
                                             shape.name + "/" + std::to_string(shape.m) + "x" +
                                             std::to_string(shape.k) + "/N:" + std::to_string(n) +
                                             "/" + kStrategyNames[s] +
                                             "/threads:" + std::to_string(threads);
                    benchmark::RegisterBenchmark(name.c_str(), BM_ternary, shape, s, n, threads,
                                                 false)
                        ->UseRealTime()
                        ->Unit(benchmark::kMicrosecond)
                        ->MinTime(0.2);
                }
            }
        }
    }
    // The GEMVs from cache, 1 thread: the arithmetic alone.
    for (const Shape& shape : kShapes) {
        for (Strategy s : {kLut, kMad, kMadPlain}) {
            if (s == kMadPlain && plain_set() == nullptr) continue;
            const std::string name = std::string("ternary_cached/") + shape.model + "/" +
                                     shape.name + "/" + std::to_string(shape.m) + "x" +
                                     std::to_string(shape.k) + "/N:1/" + kStrategyNames[s] +
                                     "/threads:1";
            benchmark::RegisterBenchmark(name.c_str(), BM_ternary, shape, s, int64_t{1}, 1, true)
                ->UseRealTime()
                ->Unit(benchmark::kMicrosecond)
                ->MinTime(0.2);
        }
    }
    // Attention at the 2B-4T shape (4 query heads per KV head) and 0.7B's (no sharing, 96-wide
    // heads), for a generated token and a prompt batch of 128.
    struct AttentionModel {
        const char* model;
        int64_t layers, n_head, n_head_kv, head_dim;
    };
    for (const AttentionModel& m :
         {AttentionModel{"2b4t", 30, 20, 5, 128}, AttentionModel{"0.7b", 24, 16, 16, 96}}) {
        for (int64_t depth : {int64_t{1000}, int64_t{4000}}) {
            for (int64_t n : {int64_t{1}, int64_t{128}}) {
                for (int threads : {1, 2}) {
                    const std::string name =
                        std::string("attention/") + m.model + "/depth:" + std::to_string(depth) +
                        "/N:" + std::to_string(n) + "/threads:" + std::to_string(threads);
                    benchmark::RegisterBenchmark(name.c_str(), BM_attention, m.model, m.layers,
                                                 m.n_head, m.n_head_kv, m.head_dim, depth, n,
                                                 threads)
                        ->UseRealTime()
                        ->Unit(benchmark::kMicrosecond)
                        ->MinTime(0.2);
                }
            }
        }
    }
    struct TokenModel {
        const char* model;
        int64_t layers, embd, kv, ff;
    };
    for (const TokenModel& m :
         {TokenModel{"2b4t", 30, 2560, 640, 6912}, TokenModel{"0.7b", 24, 1536, 1536, 4096}}) {
        for (int threads : {1, 2}) {
            const std::string name =
                std::string("token/") + m.model + "/ternary/N:1/threads:" + std::to_string(threads);
            benchmark::RegisterBenchmark(name.c_str(), BM_token_sequence, m.model, m.layers, m.embd,
                                         m.kv, m.ff, threads)
                ->UseRealTime()
                ->Unit(benchmark::kMillisecond)
                ->MinTime(0.5);
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    for (int threads : {1, 2}) {
        g_bandwidth[threads] =
            measure_read_bandwidth(threads, size_t{1} << 30, 7);  // 1 GiB, beyond any cache
        std::printf("memory read bandwidth, %d thread%s: %.1f GB/s (best of 7 reads of 1 GiB)\n",
                    threads, threads > 1 ? "s" : "", g_bandwidth[threads]);
    }
    std::printf("kernel set: %s\n", best_set().isa);
    register_all();
    RoofReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();
    return 0;
}
