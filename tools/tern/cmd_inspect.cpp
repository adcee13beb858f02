// tern inspect: a GGUF file's architecture, hyper-parameters, tokenizer and tensor table.
#include "common.h"

#include <tern/error.h>
#include <tern/gguf.h>
#include <tern/tokenizer.h>

#include <cstdio>
#include <iostream>
#include <map>

namespace tern::cli {

namespace {

struct InspectFlags {
    std::string model;
    bool metadata = false;
};

std::string value_summary(const GgufValue& value) {
    char buffer[64];
    switch (value.type) {
        case GgufValueType::string: {
            const auto text = std::get<std::string_view>(value.data);
            std::string shown(text.substr(0, 60));
            for (char& c : shown) {
                if (c == '\n' || c == '\r' || c == '\t') c = ' ';
            }
            return "\"" + shown + (text.size() > 60 ? "...\"" : "\"");
        }
        case GgufValueType::array: {
            const auto& array = std::get<GgufArray>(value.data);
            return "[" + std::string(gguf_value_type_name(array.element_type())) + " x " +
                   std::to_string(array.size()) + "]";
        }
        case GgufValueType::boolean:
            return std::get<bool>(value.data) ? "true" : "false";
        case GgufValueType::f32:
        case GgufValueType::f64:
            std::snprintf(buffer, sizeof buffer, "%g", std::get<double>(value.data));
            return buffer;
        default:
            break;
    }
    if (const auto* u = std::get_if<uint64_t>(&value.data)) return std::to_string(*u);
    return std::to_string(std::get<int64_t>(value.data));
}

std::string shape(const TensorView& t) {
    std::string out = "[";
    for (int d = 0; d < t.n_dims; ++d) out += (d ? ", " : "") + std::to_string(t.ne[d]);
    return out + "]";
}

std::string mib(uint64_t bytes) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.2f MiB",
                  static_cast<double>(bytes) / (1024.0 * 1024.0));
    return buffer;
}

void print_model_summary(const std::filesystem::path& path, const GgufFile& file) {
    std::printf("file: %s\n  GGUF v%u, %s, %zu metadata keys, %zu tensors, alignment %u\n",
                path.string().c_str(), file.version(), mib(file.file_size()).c_str(),
                file.metadata().size(), file.tensors().size(), file.alignment());
    const auto arch = file.get_string("general.architecture");
    if (arch) std::printf("architecture: %.*s\n", static_cast<int>(arch->size()), arch->data());
    if (const auto name = file.get_string("general.name")) {
        std::printf("name: %.*s\n", static_cast<int>(name->size()), name->data());
    }
    if (!arch) return;
    const std::string p = std::string(*arch) + ".";
    static constexpr const char* kKeys[] = {"vocab_size",
                                            "context_length",
                                            "embedding_length",
                                            "block_count",
                                            "feed_forward_length",
                                            "attention.head_count",
                                            "attention.head_count_kv",
                                            "attention.key_length",
                                            "rope.dimension_count",
                                            "rope.freq_base",
                                            "attention.layer_norm_rms_epsilon",
                                            "hidden_act"};
    std::printf("hyper-parameters:\n");
    for (const char* key : kKeys) {
        if (const GgufValue* value = file.find(p + key)) {
            std::printf("  %-34s %s\n", key, value_summary(*value).c_str());
        }
    }
}

void print_tokenizer(const GgufFile& file) {
    const auto model = file.get_string("tokenizer.ggml.model");
    if (!model) {
        std::printf("tokenizer: none (tokenizer.ggml.model is missing)\n");
        return;
    }
    const GgufArray* tokens = file.get_array("tokenizer.ggml.tokens");
    const GgufArray* merges = file.get_array("tokenizer.ggml.merges");
    std::printf("tokenizer: %.*s, %llu tokens", static_cast<int>(model->size()), model->data(),
                static_cast<unsigned long long>(tokens ? tokens->size() : 0));
    if (merges) std::printf(", %llu merges", static_cast<unsigned long long>(merges->size()));
    if (const auto pre = file.get_string("tokenizer.ggml.pre")) {
        std::printf(", pre %.*s", static_cast<int>(pre->size()), pre->data());
    }
    auto id = [&](const char* key, const char* label) {
        if (const auto value = file.get_int(key)) {
            std::printf(", %s %lld", label, static_cast<long long>(*value));
            if (tokens && *value >= 0 && static_cast<uint64_t>(*value) < tokens->size()) {
                const auto text = tokens->string_at(static_cast<uint64_t>(*value));
                std::printf(" '%.*s'", static_cast<int>(text.size()), text.data());
            }
        }
    };
    id("tokenizer.ggml.bos_token_id", "bos");
    id("tokenizer.ggml.eos_token_id", "eos");
    id("tokenizer.ggml.eot_token_id", "eot");
    std::printf("\n");
    try {
        Tokenizer::from_gguf(file);
    } catch (const Error& error) {
        std::printf("  (tern cannot use it: %s)\n", error.what());
    }
}

int inspect(const InspectFlags& f) {
    const GgufFile file = GgufFile::open(f.model);
    print_model_summary(f.model, file);
    print_tokenizer(file);
    if (f.metadata) {
        std::printf("metadata:\n");
        for (const auto& [key, value] : file.metadata()) {
            std::printf("  %-44.*s %-8s %s\n", static_cast<int>(key.size()), key.data(),
                        std::string(gguf_value_type_name(value.type)).c_str(),
                        value_summary(value).c_str());
        }
    }
    std::printf("tensors:\n  %-36s %-8s %-22s %12s\n", "name", "type", "shape", "bytes");
    std::map<std::string, std::pair<size_t, uint64_t>> per_type;
    uint64_t elements = 0;
    for (const TensorView& t : file.tensors()) {
        std::printf("  %-36.*s %-8s %-22s %12zu\n", static_cast<int>(t.name.size()), t.name.data(),
                    std::string(tensor_type_name(t.type)).c_str(), shape(t).c_str(), t.data.size());
        auto& entry = per_type[std::string(tensor_type_name(t.type))];
        ++entry.first;
        entry.second += t.data.size();
        elements += static_cast<uint64_t>(t.numel());
    }
    std::printf("by type:\n");
    for (const auto& [type, entry] : per_type) {
        std::printf("  %-8s %5zu tensors %14s\n", type.c_str(), entry.first,
                    mib(entry.second).c_str());
    }
    std::printf("total: %llu parameters\n", static_cast<unsigned long long>(elements));
    return 0;
}

}  // namespace

Command add_inspect_command(CLI::App& app) {
    auto flags = std::make_shared<InspectFlags>();
    CLI::App* sub =
        app.add_subcommand("inspect", "Show a GGUF file's architecture, tokenizer and tensors");
    sub->add_option("model", flags->model, "GGUF file")->required();
    sub->add_flag("--metadata", flags->metadata, "Also list every metadata key");
    sub->footer("Example:\n  tern inspect ggml-model-i2_s.gguf --metadata");
    return {sub, [flags] { return inspect(*flags); }};
}

}  // namespace tern::cli
