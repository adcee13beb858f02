// Test tool: writes the catalogue of broken model files (see support/gguf_edit.h) into a directory.
#include "support/gguf_edit.h"

#include <iostream>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: tern_make_bad_models DIR\n";
        return 2;
    }
    try {
        tern::test::write_bad_models(argv[1]);
    } catch (const std::exception& e) {
        std::cerr << "tern_make_bad_models: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
