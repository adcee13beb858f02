// tern chat: an interactive conversation (line editing and history through libedit), or a
// scripted one when stdin is not a terminal.
#include "common.h"

#include <tern/chat.h>
#include <tern/error.h>

#include <editline/readline.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>

namespace tern::cli {

namespace {

struct ChatFlags {
    GenerationFlags gen;
    std::string system;
    std::string chat_template;
    bool quiet = false;
};

std::atomic<bool> g_generating{false};
std::atomic<bool> g_interrupted{false};

// Ctrl-C: stops the answer being generated; at the prompt it exits like a shell would.
extern "C" void on_sigint(int) {
    if (g_generating.load()) {
        g_interrupted.store(true);
        return;
    }
    const char newline = '\n';
    [[maybe_unused]] const ssize_t ignored = ::write(STDOUT_FILENO, &newline, 1);
    ::_exit(130);
}

constexpr const char* kHelp =
    "Commands:\n"
    "  /help          this text\n"
    "  /reset         forget the conversation (keeps the system prompt)\n"
    "  /system TEXT   set the system prompt and start over\n"
    "  /exit          quit (Ctrl-D too)\n"
    "End a line with \\ to continue on the next one; Ctrl-C stops an answer.\n";

// Reads one message: lines ending in a backslash continue it. nullopt at end of input.
std::optional<std::string> read_message(bool interactive) {
    std::string message;
    for (bool first = true;; first = false) {
        std::string line;
        if (interactive) {
            char* raw = readline(first ? "> " : ". ");
            if (raw == nullptr) return message.empty() ? std::nullopt : std::optional(message);
            line = raw;
            std::free(raw);
        } else if (!std::getline(std::cin, line)) {
            return message.empty() ? std::nullopt : std::optional(message);
        }
        if (!line.empty() && line.back() == '\\') {
            message += line.substr(0, line.size() - 1) + "\n";
            continue;
        }
        message += line;
        if (interactive && !message.empty()) add_history(message.c_str());
        return message;
    }
}

int chat(const ChatFlags& f) {
    const SamplerParams sampling = sampler_params(f.gen);
    const int threads = resolve_threads(f.gen.threads);
    const SessionOptions options = session_options(f.gen, threads);
    std::optional<ChatTemplate> forced;
    if (!f.chat_template.empty()) {
        forced = parse_chat_template(f.chat_template);
        if (!forced) {
            throw Error(ErrorCode::invalid_argument,
                        "--template must be bitnet, llama3, llama2, falcon3 or plain, got '" +
                            f.chat_template + "'");
        }
    }
    auto model = load_model(resolve_model_path(f.gen.model), threads, f.gen.verbose,
                            generation_lm_head(f.gen.lm_head, sampling));
    model->tokenizer();  // a clear error now if the file has no usable tokenizer
    const ChatTemplate chat_template = forced ? *forced : detect_chat_template(*model);
    if (forced) {
        std::string missing;
        for (const std::string& markup : chat_markup_missing(chat_template, model->tokenizer()))
            missing += (missing.empty() ? "" : ", ") + markup;
        if (!missing.empty()) {
            std::cerr << "tern: warning: --template " << f.chat_template
                      << ": this model's vocabulary has no token for " << missing
                      << "; that markup goes in as plain text\n";
        }
    }
    warn_beyond_trained_context(*model, options.n_ctx);
    Session session(model, options);
    Sampler sampler(sampling);
    Conversation conversation(session, chat_template, f.system);
    GenerationParams params;
    params.max_tokens = f.gen.n_predict;
    params.stop = f.gen.stop;

    const bool interactive = ::isatty(STDIN_FILENO) == 1;
    if (interactive) {
        std::signal(SIGINT, on_sigint);
        std::printf("tern chat with %s (template %s). /help for commands, Ctrl-D to quit.\n",
                    model->name().c_str(), std::string(chat_template_name(chat_template)).c_str());
    }
    if (f.gen.verbose) std::cerr << "template: " << chat_template_name(chat_template) << "\n";
    int status = 0;  // 1 once a message could not be sent
    while (const auto message = read_message(interactive)) {
        if (message->empty()) continue;
        if (*message == "/exit" || *message == "/quit") break;
        if (*message == "/help") {
            std::fputs(kHelp, stdout);
            continue;
        }
        if (*message == "/reset") {
            conversation.reset();
            std::puts("(conversation reset)");
            continue;
        }
        if (message->rfind("/system", 0) == 0) {
            const std::string system = message->size() > 8 ? message->substr(8) : "";
            try {
                conversation.set_system_prompt(system);
            } catch (const Error& e) {
                std::printf("(system prompt not set: %s)\n", e.what());
                status = 1;
                continue;
            }
            conversation.reset();
            std::puts("(system prompt set; conversation reset)");
            continue;
        }
        if ((*message)[0] == '/') {
            std::printf("unknown command %s (/help lists them)\n", message->c_str());
            continue;
        }
        g_interrupted = false;
        g_generating = true;
        GenerationStats stats;
        try {
            stats = conversation.reply(*message, sampler, params, [](Token, std::string_view text) {
                std::fwrite(text.data(), 1, text.size(), stdout);
                std::fflush(stdout);
                return !g_interrupted.load();
            });
        } catch (const Error& e) {
            g_generating = false;
            if (e.code() == ErrorCode::tokenizer) {
                // A message that cannot be tokenised (invalid UTF-8) changes nothing: say so and
                // go on with the next one; a script still sees a failure in the exit status.
                std::fflush(stdout);
                std::cerr << "tern: error: message not sent: " << e.what() << "\n";
                status = 1;
                continue;
            }
            if (e.code() != ErrorCode::context_full) throw;
            std::printf("(the context is full: %s; /reset to start over)\n", e.what());
            status = 1;  // this message got no answer
            continue;
        }
        g_generating = false;
        std::fputc('\n', stdout);
        if (stats.stop == StopReason::context_full)
            std::puts("(the context is full; /reset to start over)");
        if (g_interrupted) std::puts("(stopped)");
        if (!f.quiet) {
            const double rate =
                stats.generate_seconds > 0
                    ? static_cast<double>(stats.n_generated) / stats.generate_seconds
                    : 0;
            std::fprintf(stderr, "[%lld tokens, %.1f tokens/s; prompt %lld tokens]\n",
                         static_cast<long long>(stats.n_generated), rate,
                         static_cast<long long>(stats.n_prompt));
        }
        std::fflush(stdout);
    }
    return status;
}

}  // namespace

Command add_chat_command(CLI::App& app) {
    auto flags = std::make_shared<ChatFlags>();
    CLI::App* sub =
        app.add_subcommand("chat", "Chat with a model (interactive, or scripted through stdin)");
    add_generation_flags(*sub, flags->gen, false);
    sub->add_option("-s,--system", flags->system, "System prompt");
    sub->add_option("--template", flags->chat_template,
                    "Chat template: bitnet, llama3, llama2, falcon3, plain");
    sub->add_flag("-q,--quiet", flags->quiet, "No per-answer summary line");
    sub->footer(
        "Examples:\n"
        "  tern chat -m ggml-model-i2_s.gguf -s \"You are a helpful assistant.\"\n"
        "  printf 'Hi\\nTell me a joke\\n' | tern chat -m model.gguf --temp 0 -n 64 -q");
    return {sub, [flags] { return chat(*flags); }};
}

}  // namespace tern::cli
