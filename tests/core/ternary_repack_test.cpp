// Preparing ternary tensors at load: I2_S moved block by block into the i2 layout, or repacked,
// with the same weights either way and the same check for invalid codes.
#include "model/ternary_repack.h"
#include "graph/kernel_choice.h"
#include "kernels/ternary_formats.h"
#include "kernels/ternary_layout.h"
#include "support/gguf_edit.h"
#include "util/thread_pool.h"

#include <tern/error.h>
#include <tern/gguf.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace tern::test {
namespace {

using ::testing::HasSubstr;

// Sets TERN_KERNEL for the life of the object.
class ForcedKernel {
public:
    explicit ForcedKernel(const char* kernel) { ::setenv("TERN_KERNEL", kernel, 1); }
    ~ForcedKernel() { ::unsetenv("TERN_KERNEL"); }
};

// The trits of every row of `tensor` (I2_S), decoded straight from the file's bytes.
std::vector<int8_t> file_trits(const TensorView& tensor) {
    std::vector<int8_t> trits(static_cast<size_t>(tensor.numel()));
    EXPECT_TRUE(kernels::i2s_decode(tensor.data.data(), 0, tensor.numel(), trits.data()));
    return trits;
}

TEST(TernaryRepack, I2sIsCopiedBlockByBlockIntoTheI2LayoutAndHoldsTheSameWeights) {
    TempDir dir;
    write_dummy_model(tiny_spec(), dir / "a.gguf");
    const GgufFile file = GgufFile::open(dir / "a.gguf");
    ThreadPool pool(2);
    for (const char* name :
         {"blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.1.ffn_down.weight"}) {
        SCOPED_TRACE(name);
        const TensorView& tensor = *file.find_tensor(name);
        const int64_t cols = tensor.ne[0], rows = tensor.numel() / cols;
        const std::vector<int8_t> expected = file_trits(tensor);
        for (const char* kernel : {"mad", "lut", "ref"}) {
            SCOPED_TRACE(kernel);
            const ForcedKernel forced(kernel);
            const TernaryMatrix m = repack_ternary(tensor, active_kernels(), pool);
            // With the i2 layout these shapes (128-multiple columns, 4-multiple rows) take the
            // file's 32-byte blocks unchanged, each row tile's interleaved, in memory of the
            // matrix's own and no larger than the file's codes.
            const bool copied = std::string(kernel) == "mad";
            EXPECT_EQ(m.packed.layout == kernels::TernaryLayout::i2, copied);
            if (copied) {
                EXPECT_NE(m.packed.data.get(), tensor.data.data());
                ASSERT_EQ(m.packed.data.size, static_cast<size_t>(tensor.numel() / 4));
                const int64_t blocks = cols / kernels::kI2ColBlock;
                for (int64_t r = 0; r < rows; ++r) {
                    for (int64_t b = 0; b < blocks; ++b) {
                        ASSERT_EQ(0, std::memcmp(kernels::i2_block(m.packed, r, b),
                                                 tensor.data.data() + (r * blocks + b) * 32, 32))
                            << "row " << r << " block " << b;
                    }
                }
                // Tiles of four rows interleave: rows 1-3's blocks 0 follow row 0's block 0, then
                // row 0's block 1; the next tile starts after the first tile's 4 rows.
                EXPECT_EQ(kernels::i2_block(m.packed, 1, 0), m.packed.data.get() + 32);
                EXPECT_EQ(kernels::i2_block(m.packed, 3, 0), m.packed.data.get() + 96);
                EXPECT_EQ(kernels::i2_block(m.packed, 0, 1), m.packed.data.get() + 128);
                EXPECT_EQ(kernels::i2_block(m.packed, 2, 1), m.packed.data.get() + 192);
                EXPECT_EQ(kernels::i2_block(m.packed, 4, 0), m.packed.data.get() + 4 * blocks * 32);
            }
            std::vector<int8_t> row(static_cast<size_t>(cols));
            for (int64_t r = 0; r < rows; ++r) {
                kernels::unpack_row(m.packed, r, row.data());
                ASSERT_TRUE(std::equal(row.begin(), row.end(), expected.begin() + r * cols))
                    << "row " << r;
            }
        }
    }
}

TEST(TernaryRepack, InvalidCodeIsRejectedWhetherCopiedOrRepacked) {
    TempDir dir;
    write_dummy_model(tiny_spec(), dir / "a.gguf");
    std::vector<uint8_t> bytes = read_bytes(dir / "a.gguf");
    const GgufFile image = GgufFile::parse(bytes);
    const TensorView* down = image.find_tensor("blk.1.ffn_down.weight");
    const size_t first = static_cast<size_t>(down->data.data() - bytes.data());
    const size_t last = first + static_cast<size_t>(down->numel() / 4) - 1;
    for (const auto& [at, value] :
         {std::pair{first, uint8_t{0xC0}}, std::pair{last, uint8_t{0x03}}}) {
        std::vector<uint8_t> bad = bytes;
        bad[at] = value;  // one code 3: the first code of the tensor, then the last
        write_bytes(dir / "bad.gguf", bad);
        const GgufFile file = GgufFile::open(dir / "bad.gguf");
        ThreadPool pool(2);
        for (const char* kernel : {"mad", "lut", "ref"}) {
            SCOPED_TRACE(kernel);
            const ForcedKernel forced(kernel);
            try {
                repack_ternary(*file.find_tensor("blk.1.ffn_down.weight"), active_kernels(), pool);
                ADD_FAILURE() << "no error for a code 3 at byte " << at;
            } catch (const Error& e) {
                EXPECT_THAT(
                    e.what(),
                    HasSubstr("'blk.1.ffn_down.weight' (i2_s) contains the invalid 2-bit code 3"));
            }
        }
    }
}

}  // namespace
}  // namespace tern::test
