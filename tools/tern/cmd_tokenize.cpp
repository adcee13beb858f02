// tern tokenize: the tokens of a text under a model's (or vocab-only file's) tokenizer.
#include "common.h"

#include <tern/error.h>
#include <tern/gguf.h>
#include <tern/tokenizer.h>

#include <cstdio>
#include <iostream>

namespace tern::cli {

namespace {

struct TokenizeFlags {
    std::string model;
    std::string prompt;
    std::string file;
    bool ids = false;
    bool no_bos = false;
    bool parse_special = false;
    bool verbose = false;
};

// Printable form of a piece: control characters escaped, invalid UTF-8 shown as \xNN.
std::string printable(const std::string& piece) {
    std::string out;
    for (unsigned char c : piece) {
        if (c == '\n')
            out += "\\n";
        else if (c == '\t')
            out += "\\t";
        else if (c == '\r')
            out += "\\r";
        else if (c < 0x20 || c == 0x7f) {
            char buffer[8];
            std::snprintf(buffer, sizeof buffer, "\\x%02x", c);
            out += buffer;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

int tokenize(const TokenizeFlags& f) {
    if (!f.prompt.empty() && !f.file.empty())
        throw Error(ErrorCode::invalid_argument, "give either -p or -f, not both");
    const std::string text = f.file.empty() ? f.prompt : read_text_file(f.file);
    const auto path = resolve_model_path(f.model);
    const GgufFile file = GgufFile::open(path);
    const Tokenizer tokenizer = Tokenizer::from_gguf(file);
    if (f.verbose) std::cerr << "tokenizer: " << tokenizer.description() << "\n";
    const auto tokens =
        tokenizer.encode(text, !f.no_bos && tokenizer.add_bos_by_default(), f.parse_special);
    if (f.ids) {
        std::string line = "[";
        for (size_t i = 0; i < tokens.size(); ++i)
            line += (i ? ", " : "") + std::to_string(tokens[i]);
        std::printf("%s]\n", line.c_str());
        return 0;
    }
    for (Token t : tokens) {
        const std::string_view stored = tokenizer.token_text(t);
        std::printf("%6d -> '%s'", t, printable(tokenizer.piece(t)).c_str());
        if (tokenizer.is_control(t))
            std::printf("  (control %.*s)", static_cast<int>(stored.size()), stored.data());
        std::printf("\n");
    }
    return 0;
}

}  // namespace

Command add_tokenize_command(CLI::App& app) {
    auto flags = std::make_shared<TokenizeFlags>();
    CLI::App* sub = app.add_subcommand("tokenize", "Show how a text is split into tokens");
    sub->add_option("-m,--model", flags->model,
                    "GGUF model or vocab-only file (default: the model in models/)");
    sub->add_option("-p,--prompt", flags->prompt, "Text to tokenize");
    sub->add_option("-f,--file", flags->file, "Read the text from a file");
    sub->add_flag("--ids", flags->ids, "Print only the ids, as [id, id, ...]");
    sub->add_flag("--no-bos", flags->no_bos, "Do not add the BOS token");
    sub->add_flag("--parse-special", flags->parse_special,
                  "Treat special-token texts like <|eot_id|> as those tokens");
    sub->add_flag("-v,--verbose", flags->verbose, "Describe the tokenizer on stderr");
    sub->footer(
        "Examples:\n"
        "  tern tokenize -m model.gguf -p \"Hello world\"\n"
        "  tern tokenize -m vocab.gguf -f text.txt --ids --no-bos");
    return {sub, [flags] { return tokenize(*flags); }};
}

}  // namespace tern::cli
