// A minimal program using tern's public API: load a model, generate a continuation, print it.
#include <tern/tern.h>

#include <cstdio>
#include <iostream>

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: tern_example MODEL.gguf [PROMPT]\n";
        return 2;
    }
    try {
        auto model = tern::Model::load(argv[1]);
        tern::Session session(model);
        tern::Sampler sampler({.temperature = 0.0f});  // greedy
        const std::string prompt = argc > 2 ? argv[2] : "Once upon a time";
        const auto tokens = model->tokenizer().encode(prompt, true);
        std::cout << prompt;
        tern::generate(session, sampler, tokens, {.max_tokens = 32},
                       [](tern::Token, std::string_view text) {
                           std::cout << text << std::flush;
                           return true;
                       });
        std::cout << "\n";
    } catch (const tern::Error& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
