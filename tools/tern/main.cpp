// tern: the command-line entry point; dispatches to the subcommands (run, chat, bench, ...).
#include "common.h"

#include <tern/error.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

namespace {

// A command's exit status, made 1 if what it wrote to stdout did not all get there (a full disk,
// a closed descriptor): output cut short must not look like success.
int checked_stdout(int status) {
    errno = 0;
    std::cout.flush();
    const bool failed = !std::cout.good() || std::fflush(stdout) != 0 || std::ferror(stdout);
    if (!failed) return status;
    std::cerr << "tern: error: cannot write to standard output"
              << (errno != 0 ? std::string(": ") + std::strerror(errno) : std::string()) << "\n";
    return status == 0 ? 1 : status;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"tern: run ternary (BitNet b1.58) language models fast on ordinary CPUs"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("tern ") + TERN_VERSION);
    app.footer(
        "Examples:\n"
        "  tern run -p \"Once upon a time\" -n 64\n"
        "  tern inspect models/tinystories-bitnet.gguf\n"
        "  tern chat -m model.gguf -s \"You are a helpful assistant.\"\n"
        "  tern bench -m model.gguf -p 128 -n 128 -t 1,2\n"
        "  tern perplexity -m model.gguf -f text.txt\n"
        "  tern tokenize -m model.gguf -p \"Hello world\"\n"
        "  tern dummy --preset 2b4t --type i2_s -o 2b4t.gguf\n"
        "Run 'tern COMMAND --help' for a command's options.");
    std::vector<tern::cli::Command> commands = {
        tern::cli::add_run_command(app),        tern::cli::add_inspect_command(app),
        tern::cli::add_dummy_command(app),      tern::cli::add_tokenize_command(app),
        tern::cli::add_chat_command(app),       tern::cli::add_bench_command(app),
        tern::cli::add_perplexity_command(app),
    };
    // A first word that is not a flag must name a command ("A subcommand is required" hid the
    // misspelling).
    if (argc > 1 && argv[1][0] != '-') {
        std::string names;
        bool known = false;
        for (const auto& command : commands) {
            names += (names.empty() ? "" : ", ") + command.app->get_name();
            known = known || command.app->get_name() == argv[1];
        }
        if (!known) {
            std::cerr << "tern: error: unknown command '" << argv[1] << "' (commands: " << names
                      << "; see 'tern --help')\n";
            return 2;
        }
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::string message = e.what();
        if (message.empty()) message = "invalid command line";
        std::cerr << "tern: error: " << message << " (see 'tern --help')\n";
        return 2;
    }
    try {
        for (const auto& command : commands) {
            if (command.app->parsed()) return checked_stdout(command.run());
        }
    } catch (const tern::Error& e) {
        std::cerr << "tern: error: " << e.what() << "\n";
        return 1;
    } catch (const std::bad_alloc&) {
        std::cerr << "tern: error: out of memory\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "tern: error: " << e.what() << "\n";
        return 1;
    }
    return 1;
}
