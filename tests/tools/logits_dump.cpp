// Test tool: runs a model on given token ids and writes the logits as raw little-endian float32.
//
// Usage: tern_logits MODEL OUT.f32 PROMPT_IDS [DECODE_IDS] [--threads N] [--kv f16|f32|q8] [--batch
// B] [--lm-head file|q8|q6|q4]
//   PROMPT_IDS and DECODE_IDS are comma-separated token ids. The prompt is evaluated in batched
//   passes, then each decode id is fed one at a time. OUT receives (1 + #decode) rows of n_vocab
//   floats: the logits after the prompt, then after each decode token.
#include <tern/tern.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::vector<tern::Token> parse_ids(const std::string& text) {
    std::vector<tern::Token> ids;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        if (!item.empty()) ids.push_back(static_cast<tern::Token>(std::stol(item)));
    }
    return ids;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::cerr << "usage: tern_logits MODEL OUT.f32 PROMPT_IDS [DECODE_IDS] [--threads N] [--kv "
                     "f16|f32|q8] [--batch B] [--lm-head file|q8|q6|q4]\n";
        return 2;
    }
    std::vector<std::string> positional;
    tern::SessionOptions options;
    options.n_threads = 1;
    tern::ModelLoadOptions load;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--threads" && i + 1 < argc)
            options.n_threads = std::stoi(argv[++i]);
        else if (arg == "--batch" && i + 1 < argc)
            options.n_batch = std::stoi(argv[++i]);
        else if (arg == "--kv" && i + 1 < argc) {
            const std::string kv = argv[++i];
            options.kv_type = kv == "f32"  ? tern::KvCacheType::f32
                              : kv == "q8" ? tern::KvCacheType::q8_0
                                           : tern::KvCacheType::f16;
        } else if (arg == "--lm-head" && i + 1 < argc) {
            const std::string head = argv[++i];
            load.output_type = head == "q8"   ? tern::OutputLayerType::q8_0
                               : head == "q6" ? tern::OutputLayerType::q6_k
                               : head == "q4" ? tern::OutputLayerType::q4_k
                                              : tern::OutputLayerType::file;
        } else
            positional.push_back(arg);
    }
    try {
        auto model = tern::Model::load(positional.at(0), load);
        tern::Session session(model, options);
        const auto prompt = parse_ids(positional.at(2));
        const auto decode =
            positional.size() > 3 ? parse_ids(positional[3]) : std::vector<tern::Token>{};
        std::FILE* out = std::fopen(positional.at(1).c_str(), "wb");
        if (out == nullptr) throw std::runtime_error("cannot write " + positional.at(1));
        auto write = [&](std::span<const float> logits) {
            std::fwrite(logits.data(), sizeof(float), logits.size(), out);
        };
        write(session.eval(prompt));
        for (tern::Token token : decode) {
            const tern::Token one[] = {token};
            write(session.eval(one));
        }
        std::fclose(out);
    } catch (const std::exception& e) {
        std::cerr << "tern_logits: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
