// Every ternary kernel the host can run, on every layout, against the scalar reference:
// bit-exact integer sums over odd shapes, tails, token counts, unaligned activations and the
// extreme activations and weights that would overflow a careless int16 accumulator.
#include "kernels/cpu_features.h"
#include "kernels/dispatch.h"
#include "kernels/ternary_formats.h"
#include "kernels/ternary_layout.h"
#include "kernels/ternary_matmul.h"
#include "kernels/ternary_ref.h"
#include "kernels/tl3_tables.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace tern::kernels {
namespace {

enum class Weights { random, all_plus, all_minus, zero };
enum class Acts { random, all_max, all_min, zero };

std::vector<int8_t> make_trits(int64_t n, Weights kind, uint32_t seed) {
    std::vector<int8_t> t(static_cast<size_t>(n));
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> dist(-1, 1);
    for (auto& v : t) {
        v = kind == Weights::random      ? static_cast<int8_t>(dist(rng))
            : kind == Weights::all_plus  ? int8_t{1}
            : kind == Weights::all_minus ? int8_t{-1}
                                         : int8_t{0};
    }
    return t;
}

void fill_batch(ActivationBatch& a, int64_t n, int64_t k, Acts kind, uint32_t seed,
                int64_t q_offset) {
    a.q_offset = q_offset;
    resize_batch(a, n, k);
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> dist(-128, 127);
    for (int64_t t = 0; t < n; ++t) {
        auto* q = const_cast<int8_t*>(a.token_q(t));
        for (int64_t c = 0; c < k; ++c) {
            q[c] = kind == Acts::random    ? static_cast<int8_t>(dist(rng))
                   : kind == Acts::all_max ? int8_t{127}
                   : kind == Acts::all_min ? int8_t{-128}
                                           : int8_t{0};
        }
        finish_token(a, t);
    }
}

PackedTernary pack(TernaryLayout layout, const std::vector<int8_t>& trits, int64_t m, int64_t k) {
    PackedTernary p = allocate_packed(layout, m, k);
    const int64_t tile = layout_row_tile(layout);
    std::vector<int8_t> padded(static_cast<size_t>(p.row_tiles * tile * k), 0);
    std::memcpy(padded.data(), trits.data(), trits.size());
    pack_row_tiles(p, 0, p.row_tiles, padded.data());
    return p;
}

// Runs one kernel over the whole matrix and all tokens, split into a few uneven calls (tile and
// token sub-ranges), the way threads split it.
std::vector<int32_t> run(const NamedKernel& kernel, const PackedTernary& w,
                         const ActivationBatch& a) {
    std::vector<int32_t> out(static_cast<size_t>(a.n_tokens * w.rows), INT32_MIN);
    const int64_t tiles = w.row_tiles;
    const int64_t split_tile = tiles > 2 ? tiles / 3 : 0;
    const int64_t split_token = a.n_tokens > 2 ? a.n_tokens / 2 + 1 : 0;
    for (auto [t0, t1] : {std::pair{int64_t{0}, split_token}, std::pair{split_token, a.n_tokens}}) {
        for (auto [r0, r1] : {std::pair{int64_t{0}, split_tile}, std::pair{split_tile, tiles}}) {
            if (t0 < t1 && r0 < r1) {
                kernel.fn({&w, r0, r1, 0, w.col_units, &a, t0, t1, out.data(), w.rows});
            }
        }
    }
    return out;
}

std::vector<int32_t> reference(const std::vector<int8_t>& trits, int64_t m, int64_t k,
                               const ActivationBatch& a) {
    const int64_t row_bytes = ternary_ref_row_bytes(k);
    std::vector<uint8_t> codes(static_cast<size_t>(m * row_bytes));
    for (int64_t r = 0; r < m; ++r)
        ternary_ref_pack_row(trits.data() + r * k, k, codes.data() + r * row_bytes);
    std::vector<int32_t> out(static_cast<size_t>(a.n_tokens * m));
    for (int64_t t = 0; t < a.n_tokens; ++t) {
        ternary_gemm_ref(codes.data(), row_bytes, m, k, a.token_q(t), 0, 1, out.data() + t * m, 0);
    }
    return out;
}

struct Case {
    int64_t m, k, n;
    Weights weights = Weights::random;
    Acts acts = Acts::random;
    int64_t q_offset = 0;
};

std::string describe(const Case& c) {
    return "M=" + std::to_string(c.m) + " K=" + std::to_string(c.k) + " N=" + std::to_string(c.n) +
           " weights=" + std::to_string(static_cast<int>(c.weights)) +
           " acts=" + std::to_string(static_cast<int>(c.acts)) +
           " q_offset=" + std::to_string(c.q_offset);
}

void check_all_kernels(const Case& c) {
    SCOPED_TRACE(describe(c));
    const auto trits = make_trits(c.m * c.k, c.weights, static_cast<uint32_t>(c.m * 31 + c.k));
    for (const KernelSet* set : supported_kernel_sets()) {
        SCOPED_TRACE(set->isa);
        ActivationBatch a;
        fill_batch(a, c.n, c.k, c.acts, static_cast<uint32_t>(c.k + c.n), c.q_offset);
        const auto expected = reference(trits, c.m, c.k, a);
        const struct {
            TernaryLayout layout;
            const NamedKernel* kernel;
        } runs[] = {{TernaryLayout::ref, &set->ref_gemm}, {TernaryLayout::i2, &set->i2_gemv},
                    {TernaryLayout::i2, &set->i2_gemm},   {TernaryLayout::tl3, &set->tl3_gemv},
                    {TernaryLayout::tl3, &set->tl3_gemm}, {TernaryLayout::tl3, &set->tl3_prompt}};
        for (const auto& r : runs) {
            if (r.kernel->fn == nullptr) continue;  // a set without a prompt kernel
            SCOPED_TRACE(r.kernel->name);
            prepare_input(*set, *r.kernel, a);
            const PackedTernary w = pack(r.layout, trits, c.m, c.k);
            const auto got = run(*r.kernel, w, a);
            ASSERT_EQ(got.size(), expected.size());
            for (size_t i = 0; i < got.size(); ++i) {
                ASSERT_EQ(got[i], expected[i]) << "token " << i / c.m << " row " << i % c.m;
            }
        }
    }
}

TEST(TernaryKernels, SmallAndOddShapes) {
    for (int64_t m : {1, 3, 32, 33, 70}) {
        for (int64_t k : {1, 3, 24, 127, 128, 129, 256, 300, 1536}) {
            for (int64_t n : {1, 2, 7, 8, 9, 35}) check_all_kernels({m, k, n});
        }
    }
}

TEST(TernaryKernels, ModelShapes) {
    // 2B-4T (2560, 6912), 0.7B (1536, 4096), 3B (3200, 8640) widths and depths.
    const std::pair<int64_t, int64_t> shapes[] = {
        {640, 2560}, {2560, 2560}, {96, 6912}, {640, 1536}, {40, 4096}, {64, 3200}, {35, 8640}};
    for (const auto& [m, k] : shapes) {
        check_all_kernels({m, k, 1});
        check_all_kernels({m, k, 8});
    }
    check_all_kernels({2560, 2560, 2});
    check_all_kernels({32, 2560, 33});
    check_all_kernels({64, 1536, 128});
}

TEST(TernaryKernels, ExtremeActivationsAndWeightsDoNotOverflow) {
    for (Weights w : {Weights::all_plus, Weights::all_minus, Weights::zero, Weights::random}) {
        for (Acts a : {Acts::all_max, Acts::all_min, Acts::zero}) {
            check_all_kernels({33, 8640, 3, w, a});
            check_all_kernels({64, 2560, 9, w, a});
            check_all_kernels({33, 8640, 34, w, a});  // 2160 quads: 35 int16 widening chunks
        }
    }
}

TEST(TernaryKernels, UnalignedActivations) {
    for (int64_t offset : {1, 3, 17, 31})
        for (int64_t n : {9, 33})
            check_all_kernels({37, 1000, n, Weights::random, Acts::random, offset});
}

TEST(TernaryKernels, ColumnRangesForGroupedScales) {
    // i2 and ref kernels can run over a 128-column block range (per-group weight scales).
    const int64_t m = 9, k = 1024, n = 3;
    const auto trits = make_trits(m * k, Weights::random, 5);
    for (const KernelSet* set : supported_kernel_sets()) {
        SCOPED_TRACE(set->isa);
        ActivationBatch a;
        fill_batch(a, n, k, Acts::random, 9, 0);
        for (const auto& [layout, kernel] : {std::pair{TernaryLayout::ref, &set->ref_gemm},
                                             std::pair{TernaryLayout::i2, &set->i2_gemv},
                                             std::pair{TernaryLayout::i2, &set->i2_gemm}}) {
            SCOPED_TRACE(kernel->name);
            const PackedTernary w = pack(layout, trits, m, k);
            // Ranges of even and odd length, starting on even and odd blocks.
            for (const auto& [b0, b1] :
                 {std::pair<int64_t, int64_t>{0, 2}, {2, 5}, {5, 8}, {3, 4}}) {
                std::vector<int32_t> out(n * m);
                kernel->fn({&w, 0, w.row_tiles, b0, b1, &a, 0, n, out.data(), m});
                for (int64_t t = 0; t < n; ++t) {
                    for (int64_t r = 0; r < m; ++r) {
                        int32_t expected = 0;
                        for (int64_t col = b0 * 128; col < b1 * 128; ++col)
                            expected += trits[r * k + col] * a.token_q(t)[col];
                        ASSERT_EQ(out[t * m + r], expected) << "blocks " << b0 << ".." << b1;
                    }
                }
            }
        }
    }
}

TEST(TernaryLayouts, PackingRoundTrips) {
    for (TernaryLayout layout : {TernaryLayout::ref, TernaryLayout::i2, TernaryLayout::tl3}) {
        for (auto [m, k] : {std::pair<int64_t, int64_t>{1, 1}, {5, 130}, {33, 24}, {40, 3200}}) {
            const auto trits = make_trits(m * k, Weights::random, static_cast<uint32_t>(m + k));
            const PackedTernary p = pack(layout, trits, m, k);
            std::vector<int8_t> row(static_cast<size_t>(k));
            for (int64_t r = 0; r < m; ++r) {
                unpack_row(p, r, row.data());
                ASSERT_TRUE(std::equal(row.begin(), row.end(), trits.begin() + r * k))
                    << ternary_layout_name(layout) << " row " << r << " of " << m << "x" << k;
            }
        }
    }
}

TEST(TernaryLayouts, EverySetsPackerWritesThePortableBytes) {
    for (auto [m, k] : {std::pair<int64_t, int64_t>{1, 1},
                        {5, 130},
                        {33, 24},
                        {64, 2560},
                        {70, 1000},
                        {40, 6912}}) {
        for (Weights kind : {Weights::random, Weights::all_minus, Weights::all_plus}) {
            const auto trits = make_trits(m * k, kind, static_cast<uint32_t>(m * k));
            for (TernaryLayout layout :
                 {TernaryLayout::tl3, TernaryLayout::i2, TernaryLayout::ref}) {
                const PackedTernary expected = pack(layout, trits, m, k);
                for (const KernelSet* set : supported_kernel_sets()) {
                    SCOPED_TRACE(std::string(set->isa) + " " + ternary_layout_name(layout) + " " +
                                 std::to_string(m) + "x" + std::to_string(k));
                    PackedTernary got = allocate_packed(layout, m, k);
                    std::memset(got.data.get(), 0xAB,
                                got.data.size);  // no byte may be left unwritten
                    std::fill(got.neg_count.begin(), got.neg_count.end(), -7);
                    // Two calls, the second starting mid-matrix, as the loader's tasks do; only
                    // the live rows of the last tile are present in `trits`.
                    const int64_t split = got.row_tiles / 2;
                    set->pack_tiles(got, 0, split, trits.data());
                    set->pack_tiles(got, split, got.row_tiles,
                                    trits.data() + split * layout_row_tile(layout) * k);
                    ASSERT_EQ(std::memcmp(got.data.get(), expected.data.get(), got.data.size), 0);
                    ASSERT_EQ(got.neg_count, expected.neg_count);
                }
            }
        }
    }
}

TEST(TernaryLayouts, I2sFilesWithBlocksAcrossRowsRepackCorrectly) {
    // bitnet.cpp's I2_S cuts the flattened tensor into 128-element blocks; with K = 3200 or 8640
    // blocks span rows. Decoding per row and repacking must still give the true weights.
    for (int64_t k : {3200, 8640}) {
        const int64_t m = 6;
        const auto trits = make_trits(m * k, Weights::random, static_cast<uint32_t>(k));
        std::vector<uint8_t> file(static_cast<size_t>(m * k / 4 + kI2sTailBytes));
        i2s_encode(trits.data(), m * k, 0.5f, file.data());
        std::vector<int8_t> decoded(static_cast<size_t>(m * k));
        for (int64_t r = 0; r < m; ++r)
            ASSERT_TRUE(i2s_decode(file.data(), r * k, k, decoded.data() + r * k));
        ASSERT_EQ(decoded, trits);
        ActivationBatch a;
        fill_batch(a, 2, k, Acts::random, 1, 0);
        for (const KernelSet* set : supported_kernel_sets()) {
            size_tables(a);
            set->build_tl3_tables(a, 0, 2);
            const auto expected = reference(trits, m, k, a);
            EXPECT_EQ(run(set->i2_gemv, pack(TernaryLayout::i2, decoded, m, k), a), expected)
                << set->isa;
            EXPECT_EQ(run(set->tl3_gemv, pack(TernaryLayout::tl3, decoded, m, k), a), expected)
                << set->isa;
        }
    }
}

TEST(Tl3Tables, EverySetBuildsTheScalarTables) {
    ActivationBatch a;
    fill_batch(a, 3, 1000, Acts::random, 4, 0);
    size_tables(a);
    build_tl3_tables_scalar(a, 0, 3);
    const std::vector<uint8_t> expected(a.tables.get(), a.tables.get() + 3 * a.table_groups * 32);
    // Spot check one entry against its definition: group 5, index 7 = (1, -1, 1).
    const int8_t* q = a.token_q(1);
    const uint8_t* table = a.tables.get() + (a.table_groups + 5) * 32;
    EXPECT_EQ(static_cast<int16_t>(table[7] | (table[16 + 7] << 8)), q[15] - q[16] + q[17]);
    for (const KernelSet* set : supported_kernel_sets()) {
        std::memset(a.tables.get(), 0xAB, expected.size());
        set->build_tl3_tables(a, 0, 3);
        EXPECT_EQ(std::vector<uint8_t>(a.tables.get(), a.tables.get() + expected.size()), expected)
            << set->isa;
    }
}

TEST(ActivationQuantKernels, EverySetMatchesTheScalarQuantiser) {
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(0.0f, 3.0f);
    for (int64_t n : {1, 7, 8, 31, 32, 33, 100, 2560, 6912}) {
        std::vector<std::vector<float>> rows;
        rows.emplace_back(n);
        for (auto& v : rows.back()) v = normal(rng);
        rows.emplace_back(n, 0.0f);  // all zero
        rows.emplace_back(n);        // exact .5 ties at scale 1
        for (int64_t i = 0; i < n; ++i) rows.back()[i] = static_cast<float>(i % 250) - 124.5f;
        rows.back()[0] = 127.0f;
        rows.emplace_back(n, -1e30f);  // huge magnitudes
        for (const auto& x : rows) {
            std::vector<int8_t> expected(n), got(n);
            const auto ref = quantize_row_i8_scalar(x.data(), n, expected.data());
            for (const KernelSet* set : supported_kernel_sets()) {
                const auto info = set->quantize_row(x.data(), n, got.data());
                ASSERT_EQ(info.scale, ref.scale) << set->isa << " n=" << n;
                ASSERT_EQ(info.sum, ref.sum) << set->isa << " n=" << n;
                ASSERT_EQ(got, expected) << set->isa << " n=" << n;
            }
        }
    }
}

}  // namespace
}  // namespace tern::kernels

namespace tern::kernels {
namespace {

TEST(Dispatch, EveryUsableSetIsTestedAndScalarComesLast) {
    const auto sets = supported_kernel_sets();
    std::string names;
    for (const KernelSet* set : sets)
        names += std::string(set->isa) + "(" + set->i2_gemv.name + ") ";
    std::printf("kernel sets under test: %s\n", names.c_str());
    ASSERT_FALSE(sets.empty());
    EXPECT_STREQ(sets.back()->isa, "scalar");
#if defined(__x86_64__)
    if (cpu_features().avx2 && cpu_features().fma && cpu_features().f16c) {
        const CpuFeatures& f = cpu_features();
        EXPECT_STREQ(sets.front()->isa, f.avx512_vnni && f.avx512vl ? "avx512"
                                        : f.avx_vnni                ? "avxvnni"
                                                                    : "avx2");
    }
#elif defined(__aarch64__)
    EXPECT_STREQ(sets.front()->isa, "neon");
    EXPECT_GE(sets.size(), cpu_features().dotprod ? 3u : 2u);
#endif
}

}  // namespace
}  // namespace tern::kernels
