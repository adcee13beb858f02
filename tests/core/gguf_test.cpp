// GGUF reader and writer: round trips of every value type, and rejection of malformed files.
#include "support/gguf_edit.h"

#include <tern/error.h>
#include <tern/gguf.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

namespace tern::test {
namespace {

using ::testing::HasSubstr;

// Expects `body` to throw tern::Error with `code` and a message containing `text`.
template <typename Body>
void expect_error(Body body, ErrorCode code, const std::string& text) {
    try {
        body();
        FAIL() << "no error; expected one containing: " << text;
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), code) << e.what();
        EXPECT_THAT(e.what(), HasSubstr(text));
    }
}

// A minimal GGUF image built by hand: header, the given raw metadata pairs, no tensors.
std::vector<uint8_t> raw_file(uint64_t n_tensors, uint64_t n_kv, const std::vector<uint8_t>& body) {
    std::vector<uint8_t> out = {'G', 'G', 'U', 'F', 3, 0, 0, 0};
    for (uint64_t v : {n_tensors, n_kv}) {
        for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

void append_u64(std::vector<uint8_t>& out, uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void append_u32(std::vector<uint8_t>& out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void append_str(std::vector<uint8_t>& out, const std::string& s) {
    append_u64(out, s.size());
    out.insert(out.end(), s.begin(), s.end());
}

TEST(GgufRoundTrip, EveryValueTypeAndTensorsSurvive) {
    TempDir dir;
    GgufWriter w(64);
    w.set_string("general.architecture", "bitnet");  // makes type id 36 mean I2_S
    w.set_u32("a.u32", 4000000000u);
    w.set_i32("a.i32", -7);
    w.set_u64("a.u64", 1ull << 40);
    w.set_f32("a.f32", 0.5f);
    w.set_bool("a.bool", true);
    w.set_string("a.string", "héllo");
    const std::vector<std::string> strings = {"x", "", "yz"};
    w.set_strings("a.strings", strings);
    const std::vector<float> floats = {1.5f, -2.0f};
    w.set_f32s("a.f32s", floats);
    const std::vector<int32_t> ints = {3, -4, 5};
    w.set_i32s("a.i32s", ints);
    // A nested array: [[1u8, 2u8], []]
    std::vector<uint8_t> nested;
    append_u32(nested, static_cast<uint32_t>(GgufValueType::array));
    append_u64(nested, 2);
    append_u32(nested, static_cast<uint32_t>(GgufValueType::u8));
    append_u64(nested, 2);
    nested.push_back(1);
    nested.push_back(2);
    append_u32(nested, static_cast<uint32_t>(GgufValueType::u8));
    append_u64(nested, 0);
    w.set_raw("a.nested", GgufValueType::array, nested);
    w.set_u32("a.u32", 42);  // replaces, keeps position

    const int64_t ne_f32[] = {3};
    std::vector<uint8_t> f32_bytes(12);
    const float values[] = {1.0f, 2.0f, 3.0f};
    std::memcpy(f32_bytes.data(), values, 12);
    w.add_tensor("t.f32", TensorType::f32, ne_f32, f32_bytes);
    const int64_t ne_i2s[] = {256, 2};
    w.add_tensor("t.i2s", TensorType::i2_s, ne_i2s, std::vector<uint8_t>(512 / 4 + 32, 0x55));
    w.write(dir / "x.gguf");

    const GgufFile f = GgufFile::open(dir / "x.gguf");
    EXPECT_EQ(f.version(), 3u);
    EXPECT_EQ(f.alignment(), 64u);
    EXPECT_EQ(f.metadata()[2].first, "a.u32");  // after general.alignment and the architecture
    EXPECT_EQ(f.get_int("a.u32"), 42);
    EXPECT_EQ(f.get_int("a.i32"), -7);
    EXPECT_EQ(f.get_int("a.u64"), int64_t{1} << 40);
    EXPECT_EQ(f.get_float("a.f32"), 0.5);
    EXPECT_EQ(f.get_bool("a.bool"), true);
    EXPECT_EQ(f.get_string("a.string"), "héllo");
    const GgufArray* s = f.get_array("a.strings");
    ASSERT_NE(s, nullptr);
    ASSERT_EQ(s->size(), 3u);
    EXPECT_EQ(s->string_at(2), "yz");
    EXPECT_EQ(f.get_array("a.f32s")->float_at(1), -2.0);
    EXPECT_EQ(f.get_array("a.i32s")->int_at(1), -4);
    const GgufArray* n = f.get_array("a.nested");
    ASSERT_EQ(n->size(), 2u);
    EXPECT_EQ(n->array_at(0).int_at(1), 2);
    EXPECT_EQ(n->array_at(1).size(), 0u);
    EXPECT_FALSE(f.get_int("absent").has_value());

    ASSERT_EQ(f.tensors().size(), 2u);
    const TensorView* t = f.find_tensor("t.f32");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->numel(), 3);
    EXPECT_EQ(t->data.size(), 12u);
    float back[3];
    std::memcpy(back, t->data.data(), 12);
    EXPECT_EQ(back[2], 3.0f);
    const TensorView* i2s = f.find_tensor("t.i2s");
    EXPECT_EQ(i2s->type, TensorType::i2_s);
    EXPECT_EQ(i2s->data.size(), 512u / 4 + 32);
    EXPECT_EQ(i2s->offset % 64, 0u);
    EXPECT_EQ((i2s->data.data() - t->data.data()) % 64, 0);
}

// Whether the page holding `at` is mapped into this process (bit 63 of its /proc/self/pagemap
// entry), as opposed to only sitting in the page cache.
bool page_mapped(const uint8_t* at) {
    const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const int fd = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("cannot open /proc/self/pagemap");
    uint64_t entry = 0;
    const auto offset = static_cast<off_t>(reinterpret_cast<uintptr_t>(at) / page * 8);
    const ssize_t got = ::pread(fd, &entry, sizeof entry, offset);
    ::close(fd);
    if (got != sizeof entry) throw std::runtime_error("cannot read /proc/self/pagemap");
    return (entry >> 63) != 0;
}

// copy_out gives a tensor's bytes by reading the file: equal to the mapping's, without mapping
// the pages (what keeps a screened output layer's candidate rows out of the resident set); a
// range outside the file is refused.
TEST(GgufFile, CopyOutReadsTheFileWithoutMappingIt) {
    TempDir dir;
    GgufWriter w(64);
    const int64_t ne[] = {256 * 1024};  // 1 MiB of F32
    std::vector<uint8_t> bytes(256 * 1024 * 4);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7 + i / 4096);
    w.add_tensor("t", TensorType::f32, ne, bytes);
    w.write(dir / "x.gguf");
    const GgufFile f = GgufFile::open(dir / "x.gguf");
    const TensorView* t = f.find_tensor("t");
    ASSERT_NE(t, nullptr);
    f.release_pages(*t);
    std::vector<uint8_t> copy(8192);
    const uint8_t* middle = t->data.data() + 512 * 1024;
    ASSERT_TRUE(f.copy_out(middle, copy.size(), copy.data()));
    EXPECT_EQ(std::memcmp(copy.data(), bytes.data() + 512 * 1024, copy.size()), 0);
    EXPECT_FALSE(page_mapped(middle));
    EXPECT_FALSE(page_mapped(middle + 4096));
    volatile uint8_t touched = *middle;  // reading the mapping maps the page (the control)
    (void)touched;
    EXPECT_TRUE(page_mapped(middle));

    const uint8_t* end = t->data.data() - f.data_offset() - t->offset + f.file_size();
    EXPECT_TRUE(f.copy_out(end - 16, 16, copy.data()));
    EXPECT_FALSE(f.copy_out(end - 16, 17, copy.data()));    // one byte past the file's end
    EXPECT_FALSE(f.copy_out(copy.data(), 1, copy.data()));  // not in the file at all
}

TEST(GgufRoundTrip, CopiedValuesAreIdentical) {
    TempDir dir;
    write_dummy_model(tiny_spec(), dir / "a.gguf");
    rewrite_gguf(dir / "a.gguf", dir / "b.gguf", {});
    EXPECT_EQ(read_bytes(dir / "a.gguf"), read_bytes(dir / "b.gguf"));
}

TEST(GgufRoundTrip, VocabOnlyFileWithZeroTensors) {
    TempDir dir;
    GgufWriter w;
    w.set_string("general.architecture", "llama");
    const std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
    w.set_strings("tokenizer.ggml.tokens", tokens);
    w.write(dir / "vocab.gguf");
    const GgufFile f = GgufFile::open(dir / "vocab.gguf");
    EXPECT_TRUE(f.tensors().empty());
    EXPECT_EQ(f.get_array("tokenizer.ggml.tokens")->size(), 3u);
}

TEST(GgufErrors, TypedGettersNameTheKeyAndTypes) {
    TempDir dir;
    GgufWriter w;
    w.set_string("k.s", "text");
    w.write(dir / "x.gguf");
    const GgufFile f = GgufFile::open(dir / "x.gguf");
    expect_error([&] { f.get_int("k.s"); }, ErrorCode::format,
                 "metadata key 'k.s' has type string, expected an integer");
}

class BadModels : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir();
        write_bad_models(dir_->path());
    }
    static void TearDownTestSuite() { delete dir_; }
    static std::filesystem::path file(const std::string& name) { return dir_->path() / name; }
    static TempDir* dir_;
};
TempDir* BadModels::dir_ = nullptr;

TEST_F(BadModels, EachGetsItsOwnError) {
    const struct {
        const char* file;
        ErrorCode code;
        const char* message;
    } cases[] = {
        {"truncated.gguf", ErrorCode::format, "lies outside the file (truncated?)"},
        {"bad_magic.gguf", ErrorCode::format,
         "not a GGUF file: the magic is 'GGUX', expected 'GGUF'"},
        {"version1.gguf", ErrorCode::unsupported,
         "unsupported GGUF version 1 (tern reads versions 2 and 3)"},
        {"version99.gguf", ErrorCode::unsupported, "unsupported GGUF version 99"},
        {"unknown_type.gguf", ErrorCode::format,
         "tensor 'blk.0.attn_q.weight' has unknown type id 200"},
        {"q4_0_type.gguf", ErrorCode::unsupported,
         "has type Q4_0 (id 2), which tern does not support"},
        {"i2s_in_qwen.gguf", ErrorCode::unsupported,
         "architecture is 'qwen2' and upstream ggml reads id 36 as IQ4_NL_4_4"},
        {"tensor_outside.gguf", ErrorCode::format,
         "tensor 'output_norm.weight' (1024 bytes at data offset 1099511627776) lies outside the "
         "file"},
        {"overlap.gguf", ErrorCode::format,
         "tensors 'blk.0.attn_norm.weight' and 'blk.1.attn_norm.weight' overlap"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.file);
        expect_error([&] { GgufFile::open(file(c.file)); }, c.code, c.message);
        // Every message starts with the file name.
        try {
            GgufFile::open(file(c.file));
        } catch (const Error& e) {
            EXPECT_EQ(std::string(e.what()).rfind(file(c.file).string(), 0), 0u) << e.what();
        }
    }
}

TEST(GgufHostile, AbsurdCountsAreRejectedBeforeAllocating) {
    expect_error([] { GgufFile::parse(raw_file(uint64_t{1} << 63, 0, {})); }, ErrorCode::format,
                 "header claims 9223372036854775808 tensors");
    expect_error([] { GgufFile::parse(raw_file(0, uint64_t{1} << 62, {})); }, ErrorCode::format,
                 "metadata pairs, more than a");

    std::vector<uint8_t> long_key;
    append_u64(long_key, uint64_t{1} << 40);
    long_key.resize(64, 0);
    expect_error([&] { GgufFile::parse(raw_file(0, 1, long_key)); }, ErrorCode::format,
                 "a metadata key at offset 24 claims 1099511627776 bytes");

    std::vector<uint8_t> long_string;
    append_str(long_string, "k");
    append_u32(long_string, static_cast<uint32_t>(GgufValueType::string));
    append_u64(long_string, uint64_t{1} << 40);
    expect_error([&] { GgufFile::parse(raw_file(0, 1, long_string)); }, ErrorCode::format,
                 "a string value at offset 37 claims 1099511627776 bytes");

    std::vector<uint8_t> huge_array;
    append_str(huge_array, "k");
    append_u32(huge_array, static_cast<uint32_t>(GgufValueType::array));
    append_u32(huge_array, static_cast<uint32_t>(GgufValueType::u64));
    append_u64(huge_array, uint64_t{1} << 61);
    expect_error([&] { GgufFile::parse(raw_file(0, 1, huge_array)); }, ErrorCode::format,
                 "metadata key 'k' claims 2305843009213693952 array elements");
}

TEST(GgufHostile, DeeplyNestedArraysStopAtALimit) {
    std::vector<uint8_t> body;
    append_str(body, "deep");
    append_u32(body, static_cast<uint32_t>(GgufValueType::array));
    for (int i = 0; i < 1000; ++i) {
        append_u32(body, static_cast<uint32_t>(GgufValueType::array));
        append_u64(body, 1);
    }
    append_u32(body, static_cast<uint32_t>(GgufValueType::u8));
    append_u64(body, 0);
    expect_error([&] { GgufFile::parse(raw_file(0, 1, body)); }, ErrorCode::format,
                 "metadata key 'deep' nests arrays more than 16 deep");
}

TEST(GgufHostile, DuplicatesBadBoolsAndBadTypesAreRejected) {
    std::vector<uint8_t> dup;
    for (int i = 0; i < 2; ++i) {
        append_str(dup, "same");
        append_u32(dup, static_cast<uint32_t>(GgufValueType::u8));
        dup.push_back(1);
    }
    expect_error([&] { GgufFile::parse(raw_file(0, 2, dup)); }, ErrorCode::format,
                 "duplicate metadata key 'same'");

    std::vector<uint8_t> bad_bool;
    append_str(bad_bool, "b");
    append_u32(bad_bool, static_cast<uint32_t>(GgufValueType::boolean));
    bad_bool.push_back(7);
    expect_error([&] { GgufFile::parse(raw_file(0, 1, bad_bool)); }, ErrorCode::format,
                 "metadata key 'b' has bool value 7");

    std::vector<uint8_t> bad_type;
    append_str(bad_type, "t");
    append_u32(bad_type, 13);
    bad_type.push_back(0);
    expect_error([&] { GgufFile::parse(raw_file(0, 1, bad_type)); }, ErrorCode::format,
                 "metadata key 't' has unknown value type 13");
}

// One tensor record after zero metadata pairs, then data padded to 32.
std::vector<uint8_t> one_tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type,
                                uint64_t offset, size_t data_bytes) {
    std::vector<uint8_t> body;
    append_str(body, name);
    append_u32(body, static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) append_u64(body, d);
    append_u32(body, type);
    append_u64(body, offset);
    std::vector<uint8_t> file = raw_file(1, 0, body);
    file.resize((file.size() + 31) / 32 * 32 + data_bytes, 0);
    return file;
}

TEST(GgufHostile, TensorRecordsAreValidated) {
    expect_error(
        [] {
            GgufFile::parse(one_tensor("t", {0x4000000000000000ull, 4}, 0, 0, 64));
        },
        ErrorCode::format, "tensor 't' has dimensions whose product overflows");
    expect_error(
        [] {
            GgufFile::parse(one_tensor("t", {4, 4, 4, 4, 4}, 0, 0, 64));
        },
        ErrorCode::format, "tensor 't' has 5 dimensions (1 to 4 allowed)");
    expect_error([] { GgufFile::parse(one_tensor("t", {4}, 0, 8, 64)); }, ErrorCode::format,
                 "tensor 't' offset 8 is not a multiple of the alignment 32");
    expect_error([] { GgufFile::parse(one_tensor("t", {100}, 8, 0, 256)); }, ErrorCode::format,
                 "tensor 't' of type q8_0 has 100 elements (row 100), not a whole number of "
                 "32-element blocks");
    expect_error([] { GgufFile::parse(one_tensor("t", {16}, 0, ~uint64_t{31}, 64)); },
                 ErrorCode::format, "lies outside the file");
    // Zero-size tensors are legal at the file level (the model loader rejects wrong shapes).
    const GgufFile empty = GgufFile::parse(one_tensor("t", {0}, 0, 0, 0));
    EXPECT_EQ(empty.tensors()[0].numel(), 0);
}

TEST(GgufHostile, EveryTruncationOfAValidFileIsAnErrorNotACrash) {
    TempDir dir;
    write_dummy_model(tiny_spec(), dir / "m.gguf");
    const std::vector<uint8_t> bytes = read_bytes(dir / "m.gguf");
    const GgufFile whole = GgufFile::parse(bytes);
    // Cut at every offset inside the header and metadata, then at a stride through the data.
    for (size_t cut = 0; cut < bytes.size(); cut += cut < whole.data_offset() ? 1 : 997) {
        std::vector<uint8_t> part(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
        EXPECT_THROW(GgufFile::parse(part), Error) << "cut at " << cut;
    }
}

}  // namespace
}  // namespace tern::test
