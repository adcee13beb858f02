// Test support: tiny models, GGUF byte surgery and the catalogue of broken files.
#include "support/gguf_edit.h"

#include <tern/error.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace tern::test {

std::vector<uint8_t> read_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

TempDir::TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tern-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

DummyModelSpec tiny_spec(TensorType type, Architecture arch) {
    DummyModelSpec spec = dummy_preset("tiny");
    spec.weight_type = type;
    spec.arch = arch;
    return spec;
}

TensorRecord find_tensor_record(const std::vector<uint8_t>& bytes, const std::string& name) {
    // A tensor record starts with the name as a u64-length-prefixed string; metadata strings
    // could contain the same bytes, so take the last match (records follow the metadata).
    std::vector<uint8_t> needle;
    const uint64_t length = name.size();
    for (int i = 0; i < 8; ++i) needle.push_back(static_cast<uint8_t>(length >> (8 * i)));
    needle.insert(needle.end(), name.begin(), name.end());
    size_t found = std::string::npos;
    for (size_t i = 0; i + needle.size() <= bytes.size(); ++i) {
        if (std::memcmp(bytes.data() + i, needle.data(), needle.size()) == 0) found = i;
    }
    if (found == std::string::npos) throw std::runtime_error("no tensor record " + name);
    const size_t dims_at = found + needle.size();
    const auto n_dims = peek<uint32_t>(bytes, dims_at);
    TensorRecord record;
    record.dims = dims_at + 4;
    record.type = record.dims + 8 * n_dims;
    record.offset = record.type + 4;
    return record;
}

void rewrite_gguf(const std::filesystem::path& from, const std::filesystem::path& to,
                  const GgufEdit& edit) {
    const GgufFile file = GgufFile::open(from);
    GgufWriter writer(file.alignment());
    for (const auto& [key, value] : file.metadata()) {
        if (key != "general.alignment" && edit.keep_key(key)) writer.copy_value(key, value);
    }
    if (edit.extra) edit.extra(writer);
    for (const TensorView& tensor : file.tensors()) {
        if (!edit.keep_tensor(tensor.name)) continue;
        std::vector<int64_t> ne(tensor.ne.begin(), tensor.ne.begin() + tensor.n_dims);
        writer.add_tensor(tensor.name, tensor.type, ne,
                          std::vector<uint8_t>(tensor.data.begin(), tensor.data.end()));
    }
    writer.write(to);
}

void write_bad_models(const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    const auto valid = dir / "valid.gguf";
    write_dummy_model(tiny_spec(), valid);
    const std::vector<uint8_t> good = read_bytes(valid);

    auto variant = [&](const std::string& name,
                       const std::function<void(std::vector<uint8_t>&)>& change) {
        std::vector<uint8_t> bytes = good;
        change(bytes);
        write_bytes(dir / name, bytes);
    };
    variant("truncated.gguf", [](auto& b) { b.resize(b.size() / 2); });
    variant("bad_magic.gguf", [](auto& b) { b[3] = 'X'; });
    variant("version1.gguf", [](auto& b) { poke<uint32_t>(b, 4, 1); });
    variant("version99.gguf", [](auto& b) { poke<uint32_t>(b, 4, 99); });
    variant("unknown_type.gguf", [](auto& b) {
        poke<uint32_t>(b, find_tensor_record(b, "blk.0.attn_q.weight").type, 200);
    });
    variant("q4_0_type.gguf", [](auto& b) {
        poke<uint32_t>(b, find_tensor_record(b, "blk.0.attn_q.weight").type, 2);
    });
    variant("tensor_outside.gguf", [](auto& b) {
        poke<uint64_t>(b, find_tensor_record(b, "output_norm.weight").offset, uint64_t{1} << 40);
    });
    variant("overlap.gguf", [](auto& b) {
        const auto first =
            peek<uint64_t>(b, find_tensor_record(b, "blk.0.attn_norm.weight").offset);
        poke<uint64_t>(b, find_tensor_record(b, "blk.1.attn_norm.weight").offset, first);
    });
    variant("missing_tensor.gguf", [](auto& b) {
        const TensorRecord r = find_tensor_record(b, "blk.0.ffn_up.weight");
        b[r.dims - 4 - 1] = 'X';  // last character of the name: "...weighX"
    });
    variant("wrong_shape.gguf", [](auto& b) {
        const TensorRecord r = find_tensor_record(b, "blk.0.attn_k.weight");
        const auto d0 = peek<uint64_t>(b, r.dims), d1 = peek<uint64_t>(b, r.dims + 8);
        poke<uint64_t>(b, r.dims, d1);
        poke<uint64_t>(b, r.dims + 8, d0);
    });

    {
        // An F16 embedding (tied output layer) of NaNs: the loader does not scan 16-bit weights
        // (a 2B-4T file's are 0.66 GB), so the model loads and computes NaN logits.
        const GgufFile file = GgufFile::open(valid);
        for (const TensorView& tensor : file.tensors()) {
            if (tensor.name != "token_embd.weight" || tensor.type != TensorType::f16) continue;
            variant("nan_embedding.gguf", [&](auto& b) {
                const size_t at = file.data_offset() + tensor.offset;
                for (size_t i = 0; i < tensor.data.size() / 2; ++i)
                    poke<uint16_t>(b, at + 2 * i, 0x7e00);  // F16 quiet NaN
            });
        }
    }

    GgufEdit unknown_arch;
    unknown_arch.extra = [](GgufWriter& w) { w.set_string("general.architecture", "mamba"); };
    rewrite_gguf(valid, dir / "unknown_arch.gguf", unknown_arch);

    GgufEdit no_tokenizer;
    no_tokenizer.keep_key = [](std::string_view key) { return key.substr(0, 10) != "tokenizer."; };
    rewrite_gguf(valid, dir / "no_tokenizer.gguf", no_tokenizer);

    GgufEdit qwen;
    qwen.extra = [](GgufWriter& w) {
        w.set_string("general.architecture", "qwen2");
        w.set_u32("general.file_type", 7);
    };
    rewrite_gguf(valid, dir / "i2s_in_qwen.gguf", qwen);

    std::ofstream(dir / "invalid_utf8.txt", std::ios::binary) << "ab\xff"
                                                                 "c";
    std::ofstream(dir / "nul_bytes.txt", std::ios::binary) << std::string("a\0b\0", 4);
    {
        std::ofstream huge(dir / "prompt_1mb.txt", std::ios::binary);  // 1 MiB of text
        for (int i = 0; i < (1 << 20) / 16; ++i) huge << "the little dog. ";
    }
    std::ofstream story(dir / "story.txt");
    for (int i = 0; i < 20; ++i)
        story << "Once upon a time, there was a little girl named Lily. She liked to play.\n";
}

}  // namespace tern::test
